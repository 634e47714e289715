"""``act <command> --plan FILE``: option values from a JSON object, below the command line.

The file maps long option names without their dashes to values as the option parses them
(``{"nfe": [1, 2], "batch-size": 256, "no-progress": true}``). A value stands in for the option
when the command line does not give it: a plain option's value becomes its default (so a required
option the file gives is no longer required); an option that collects values (``append``,
``extend``) or belongs to a mutually exclusive group takes the file's value only when the command
line left it, or its group, untouched, so the command line replaces a value and never adds to it.
A missing file, a key naming no option, or a value of the wrong type or outside the choices is a
user error naming it. The workflow's jobs get their settings this way (results/<name>/plan/).
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict, List, Optional, Tuple

from act.errors import InputError, MissingInputError

OPTION = "--plan"


def plan_argument(argv: List[str]) -> Optional[str]:
    """The value of ``--plan`` in ``argv`` (``--plan F``, ``--plan=F`` or an abbreviation argparse accepts,
    ``--pla F``), or None."""
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if len(name) >= len(OPTION) - 1 and OPTION.startswith(name):
            if eq:
                return value
            if i + 1 < len(argv):
                return argv[i + 1]
    return None


def _many(action: argparse.Action) -> bool:
    """Whether the option's parsed value is a list."""
    if isinstance(action, (argparse._AppendAction, argparse._ExtendAction)):
        return True
    return action.nargs in (argparse.ZERO_OR_MORE, argparse.ONE_OR_MORE) or (isinstance(action.nargs, int)
                                                                             and action.nargs > 0)


def _checked(action: argparse.Action, value: Any) -> Tuple[Any, Optional[str]]:
    """(the value as the option holds it, None) or (None, what the option takes instead)."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse.BooleanOptionalAction)):
        return (value, None) if isinstance(value, bool) else (None, "true or false")
    if isinstance(action, argparse._CountAction):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (value, None) if ok else (None, "an integer")
    if isinstance(action, argparse._StoreConstAction):
        return (value, None) if value in (action.const, action.default) else (None, f"{action.const!r} or {action.default!r}")
    many = _many(action)
    if value is None:
        return (None, None) if not many and not action.required else (None, "a value")
    if many and not isinstance(value, list):
        return None, "a list"
    kind = {int: "integer", float: "number"}.get(action.type, "string")
    wanted = {int: (int,), float: (int, float)}.get(action.type, (str,))
    items = value if many else [value]
    for v in items:
        if isinstance(v, bool) or not isinstance(v, wanted):
            return None, f"a list of {kind}s" if many else f"{'an' if kind == 'integer' else 'a'} {kind}"
        if action.choices is not None and v not in action.choices:
            return None, "one of " + ", ".join(str(c) for c in action.choices)
    if action.type is float:
        items = [float(v) for v in items]
    return (items if many else items[0]), None


class PlanOptions:
    """The option values of one --plan file for one command's parser (:meth:`apply` before parsing,
    :meth:`fill` after)."""

    def __init__(self, command: argparse.ArgumentParser, path: str) -> None:
        try:
            with open(path) as f:
                raw = json.load(f)
        except FileNotFoundError:
            raise MissingInputError(f"{OPTION} {path} does not exist: give the plan part the workflow wrote "
                                    "(results/<name>/plan/), or a JSON object of option values") from None
        except json.JSONDecodeError as e:
            raise InputError(f"{OPTION} {path} is not JSON ({e.msg}, line {e.lineno}): rewrite it as "
                             "{option: value}") from None
        if not isinstance(raw, dict):
            raise InputError(f"{OPTION} {path} holds a {type(raw).__name__}, not an object {{option: value}}")
        actions = {o[2:]: a for a in command._actions for o in a.option_strings if o.startswith("--")}
        known = sorted(k for k, a in actions.items()
                       if k != OPTION[2:] and not isinstance(a, (argparse._HelpAction, argparse._VersionAction)))
        self.values: Dict[str, Tuple[argparse.Action, Any]] = {}
        for key, value in raw.items():
            if key not in known:
                raise InputError(f"{OPTION} {path}: `{key}` is no option of {command.prog}; its options: "
                                 + ", ".join(known))
            held, why = _checked(actions[key], value)
            if why:
                raise InputError(f"{OPTION} {path}: `{key}` is {json.dumps(value)}; {command.prog} --{key} takes {why}")
            self.values[key] = (actions[key], held)
        self._groups = {id(a): g for g in command._mutually_exclusive_groups for a in g._group_actions}

    def _deferred(self, action: argparse.Action) -> bool:
        return isinstance(action, (argparse._AppendAction, argparse._ExtendAction)) or id(action) in self._groups

    def apply(self) -> None:
        """Before parsing: plain options take the file's values as defaults; an option or group the file gives is no
        longer required."""
        for action, value in self.values.values():
            if id(action) in self._groups:
                self._groups[id(action)].required = False
            elif not self._deferred(action):
                action.default = value
            action.required = False

    def fill(self, args: argparse.Namespace) -> None:
        """After parsing: the deferred options the command line left untouched (and, for a group, all of it) take
        the file's values."""
        def untouched(a: argparse.Action) -> bool:
            return getattr(args, a.dest, a.default) == a.default

        for action, value in self.values.values():
            if not self._deferred(action):
                continue
            group = self._groups.get(id(action))
            if all(untouched(a) for a in (group._group_actions if group else [action])):
                setattr(args, action.dest, value)

    def used(self, args: argparse.Namespace) -> Dict[str, Any]:
        """The file's values in effect after parsing (the provenance of the command's outputs)."""
        return {k: v for k, (a, v) in self.values.items() if getattr(args, a.dest, None) == v}

"""The ``act`` command line: one subcommand per workflow rule.

Each module in :mod:`act.commands` defines ``register(subparsers)``, which adds its
subcommand and sets ``func`` to a callable taking the parsed arguments. Heavy
imports happen inside those callables, so ``act --help`` stays fast.

Every subcommand also takes ``--plan FILE``: a JSON object of option values, keyed by the long option
name without its dashes (``{"nfe": [1, 2], "batch-size": 256}``). They replace the option defaults,
and an option given on the command line still wins. The workflow's rules pass paths only: each act
command of a job reads its settings from the job's stage plan (``results/<name>/plan/``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
from typing import List, Optional

import act.commands
import act.provenance
from act.errors import InputError, MissingInputError, UserError, one_line

EXIT_USER_ERROR = 2  # bad input (as argparse's own usage errors); 1: a bug, with its traceback
PLAN_OPTION = "--plan"  # every subcommand's: option values from a JSON file


def shown_default(default) -> Optional[str]:
    """How ``--help`` shows an option's default, or None where it says nothing (None, False, empty, SUPPRESS)."""
    if default is None or default is False or default is argparse.SUPPRESS:
        return None
    if isinstance(default, (list, tuple)):
        return " ".join(str(d) for d in default) or None  # as typed: --sigmas 0.5 1.0
    return str(default) or None


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's wrapped help, each option followed by ``(default: X)`` where X says something.

    Unlike ArgumentDefaultsHelpFormatter, no "(default: None)" / "(default: False)" / "(default: [])"
    noise: an option whose default means "not given" explains that in its own help text.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        shown = shown_default(action.default)
        if shown is None or "%(default)" in help_text:
            return help_text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{help_text} (default: {shown.replace('%', '%%')})"
        return help_text


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (what is wrong and where the help is) and defaults in ``--help``.

    Every subcommand's parser is one too (add_subparsers makes its parsers of the parent's class); a
    subcommand asking for argparse's plain or defaults formatter gets :class:`HelpFormatter` instead.
    """

    def __init__(self, *args, **kwargs):
        if kwargs.get("formatter_class") in (None, argparse.HelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
            kwargs["formatter_class"] = HelpFormatter
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="act",
        description="act-bench: train, sample and evaluate ACT, CT and iCT one-step generators. A bad input "
        "(config, argument, file, data, weights) stops a command before it writes anything, with one line "
        "and exit status 2; --debug (or ACT_DEBUG=1) shows its traceback.",
    )
    parser.add_argument("--version", action="version", version=f"act-bench {act.__version__}")
    parser.add_argument("--debug", action="store_true", help="tracebacks for input errors too (also ACT_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(act.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"act.commands.{info.name}")
        module.register(sub)
    for command in sub.choices.values():
        command.add_argument(PLAN_OPTION, metavar="JSON", default=None,
                             help="option values from a JSON object {option: value} (long option names without "
                                  "dashes; the workflow's stage plans); options given here win")
    parser.commands = sub.choices
    return parser


def plan_argument(argv: List[str]) -> Optional[str]:
    """The value of ``--plan`` in ``argv`` (``--plan F`` or ``--plan=F``), or None."""
    for i, arg in enumerate(argv):
        if arg == PLAN_OPTION and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(PLAN_OPTION + "="):
            return arg.split("=", 1)[1]
    return None


def _type_problem(action: argparse.Action, value) -> Optional[str]:
    """Why ``value`` cannot stand for ``action``'s parsed value (None: it can). JSON values are taken as
    parsed: a number for ``type=int`` / ``float``, a string otherwise, a list where the option takes several."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        return None if isinstance(value, bool) else "true or false"
    many = action.nargs not in (None, argparse.OPTIONAL) or isinstance(action, argparse._AppendAction)
    if many and not isinstance(value, list):
        return "a list"
    kind = {int: "integer", float: "number"}.get(action.type, "string")
    article = "an" if kind == "integer" else "a"
    wanted = {int: (int,), float: (int, float)}.get(action.type, (str,))
    for v in value if many else [value]:
        if v is None and not many:
            continue
        if isinstance(v, bool) or not isinstance(v, wanted):
            return f"a list of {kind}s" if many else f"{article} {kind}"
        if action.choices is not None and v not in action.choices:
            return "one of " + ", ".join(str(c) for c in action.choices)
    return None


def apply_plan(command: argparse.ArgumentParser, path: str) -> dict:
    """Make the option values of the JSON object in ``path`` the defaults of ``command``'s options (an option
    they give is no longer required). A missing file, a key naming no option or a value of the wrong type is
    a user error naming it. Returns the values."""
    try:
        with open(path) as f:
            values = json.load(f)
    except FileNotFoundError:
        raise MissingInputError(f"--plan {path} does not exist: give the stage plan the workflow wrote "
                                "(results/<name>/plan/), or a JSON object of option values")
    except json.JSONDecodeError as e:
        raise InputError(f"--plan {path} is not JSON ({e.msg}, line {e.lineno}): rewrite it as {{option: value}}")
    if not isinstance(values, dict):
        raise InputError(f"--plan {path} holds a {type(values).__name__}, not an object {{option: value}}")
    actions = {o[2:]: a for a in command._actions for o in a.option_strings if o.startswith("--")}
    for key, value in values.items():
        action = actions.get(key)
        if action is None or key in ("help", PLAN_OPTION[2:]) or isinstance(action, argparse._VersionAction):
            raise InputError(f"--plan {path}: `{key}` is no option of {command.prog}; its options: "
                             + ", ".join(sorted(k for k in actions if k not in ("help", "plan"))))
        why = _type_problem(action, value)
        if why:
            raise InputError(f"--plan {path}: `{key}` is {json.dumps(value)}; {command.prog} --{key} takes {why}")
        action.default = value
        action.required = False
    return values


def debugging(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get("ACT_DEBUG", "") not in ("", "0")


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    plan = plan_argument(argv)
    if plan is not None:
        name = next((a for a in argv if a in parser.commands), None)
        if name is not None:
            try:
                act.provenance.PLAN.update(apply_plan(parser.commands[name], plan))
            except UserError as e:
                print(f"act {name}: {one_line(e)}", file=sys.stderr)
                return EXIT_USER_ERROR
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except UserError as e:
        if debugging(args):
            raise
        print(f"act {args.command}: {one_line(e)}", file=sys.stderr)
        return EXIT_USER_ERROR
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

"""The ``act`` command line: one subcommand per workflow rule.

Each module in :mod:`act.commands` defines ``register(subparsers)``, which adds its
subcommand and sets ``func`` to a callable taking the parsed arguments. Heavy
imports happen inside those callables, so ``act --help`` stays fast.

Every subcommand also takes ``--plan FILE``: a JSON object of option values, keyed by the long option
name without its dashes (``{"nfe": [1, 2], "batch-size": 256}``), below the command line
(:mod:`act.plan_options`). The workflow's rules pass paths only: each act command of a job reads its
settings from its part of the plan (``results/<name>/plan/``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import List, Optional

import act.commands
import act.provenance
from act.errors import UserError, one_line
from act.plan_options import OPTION as PLAN_OPTION
from act.plan_options import PlanOptions, plan_argument

EXIT_USER_ERROR = 2  # bad input (as argparse's own usage errors); 1: a bug, with its traceback


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


def debugging(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get("ACT_DEBUG", "") not in ("", "0")


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    act.provenance.PLAN.clear()
    path, name = plan_argument(argv), next((a for a in argv if a in parser.commands), None)
    plan = None
    if path is not None and name is not None:
        try:
            plan = PlanOptions(parser.commands[name], path)
        except UserError as e:
            print(f"act {name}: {one_line(e)}", file=sys.stderr)
            return EXIT_USER_ERROR
        plan.apply()
    args = parser.parse_args(argv)
    if plan is not None:
        plan.fill(args)
        act.provenance.PLAN.update(plan.used(args))
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

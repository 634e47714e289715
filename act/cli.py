"""The ``act`` command line: one subcommand per workflow rule.

Each module in :mod:`act.commands` defines ``register(subparsers)``, which adds its
subcommand and sets ``func`` to a callable taking the parsed arguments. Heavy
imports happen inside those callables, so ``act --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import List, Optional

import act.commands
from act.errors import UserError, one_line

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
    return parser


def debugging(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get("ACT_DEBUG", "") not in ("", "0")


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
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

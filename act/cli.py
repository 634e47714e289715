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


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: what is wrong and where the help is."""

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

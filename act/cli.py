"""The ``act`` command line: one subcommand per workflow rule.

Each module in :mod:`act.commands` defines ``register(subparsers)``, which adds its
subcommand and sets ``func`` to a callable taking the parsed arguments. Heavy
imports happen inside those callables, so ``act --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional

import act.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="act",
        description="act-bench: train, sample and evaluate ACT, CT and iCT one-step generators.",
    )
    parser.add_argument("--version", action="version", version=f"act-bench {act.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(act.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"act.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

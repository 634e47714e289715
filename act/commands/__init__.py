"""Subcommands of the ``act`` CLI; each module defines ``register(subparsers)``."""

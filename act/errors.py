"""Errors caused by the user's input, as opposed to bugs.

A :class:`UserError` (a config, a command-line argument, a file, missing data or weights, the
environment) reaches the ``act`` command line as one line naming what is wrong and how to fix
it, with exit status 2, before anything is written; any other exception is a bug and keeps its
traceback. ``act --debug`` (or ``ACT_DEBUG=1``) shows the traceback of a user error too.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input: printed as one line by the CLI, exit status 2."""


class ConfigError(UserError):
    """A config value that is unknown, of the wrong type, out of range or inconsistent with another."""


class InputError(UserError):
    """A file or argument that exists but is not what the command needs (format, contents, shape)."""


class MissingInputError(UserError):
    """A file, folder, dataset or weights file that is not there."""


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (multi-line messages joined; list bullets dropped)."""
    parts = [p.strip()[2:] if p.strip().startswith("- ") else p.strip() for p in str(err).splitlines()]
    text = "; ".join(p for p in parts if p)
    if isinstance(err, KeyError) and text.startswith(("'", '"')):
        text = text[1:-1]
    return text or type(err).__name__


def require_file(path, what: str, fix: str) -> None:
    """A MissingInputError ``"{what} {path} does not exist: {fix}"`` unless ``path`` is a file."""
    from pathlib import Path

    if path is None or not Path(path).is_file():
        raise MissingInputError(f"{what} {path} does not exist: {fix}")


def require_dir(path, what: str, fix: str) -> None:
    """A MissingInputError unless ``path`` is a folder."""
    from pathlib import Path

    if path is None or not Path(path).is_dir():
        raise MissingInputError(f"{what} {path} is not a folder: {fix}")

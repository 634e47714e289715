"""The two errors every dataset loader raises: data missing, or data damaged.

Both messages list every place that was searched and say how to get the data,
so a failed run is fixed from its log alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from act.errors import InputError, MissingInputError


class DataNotFoundError(MissingInputError):
    """No usable copy of a dataset in any of the places searched."""


class CorruptDataError(InputError):
    """A dataset file exists but is truncated or not in the expected format."""


def not_found(dataset: str, looked: Iterable[Path | str], how_to_get: str, detail: str = "") -> DataNotFoundError:
    """Build the one error for a missing dataset; ``looked`` in search order."""
    places = "\n".join(f"  - {Path(p).expanduser().absolute()}" for p in looked)
    extra = f" {detail}" if detail else ""
    return DataNotFoundError(
        f"{dataset} data not found.{extra}\nLooked in:\n{places}\nTo get it: {how_to_get}"
    )


def corrupt(dataset: str, path: Path | str, problem: str, how_to_get: str) -> CorruptDataError:
    """Build the one error for a damaged dataset file."""
    return CorruptDataError(
        f"{dataset} file {Path(path).expanduser().absolute()} is corrupt: {problem}\n"
        f"Delete it and get a fresh copy: {how_to_get}"
    )

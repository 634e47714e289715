"""Atomic file writes (temporary file in the target folder, then ``os.replace``).

A crash or a concurrent reader never sees half a cache file, metrics file or
checkpoint: the file either has its old content (or is absent) or its new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]


def atomic_write(path: PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def atomic_save_npz(path: PathLike, **arrays: np.ndarray) -> Path:
    """``np.savez`` to ``path`` atomically (``path`` should end in ``.npz``)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez must not append ".npz" to the temp name
            np.savez(f, **arrays)

    return atomic_write(path, write)


def atomic_write_json(path: PathLike, obj: Mapping[str, Any]) -> Path:
    """Write ``obj`` as indented JSON (NaN/inf rejected: they are not JSON) atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_torch_save(path: PathLike, obj: Any) -> Path:
    """``torch.save`` to ``path`` atomically."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))

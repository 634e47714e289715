"""Atomic file writes: a temporary file beside the target, flushed, then ``os.replace``.

One home for every file the project writes (checkpoints, JSON, npz, CSV, text, figures):
a crash, a kill or a concurrent reader never sees half a file; the path holds its old
content (or nothing) or its new content. ``write_*`` return the path written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open() would give a new file; mkstemp's are 0600


def atomic_write(path: PathLike, write: Callable[[Path], None], *, fsync: bool = False) -> Path:
    """Call ``write(tmp)`` on a fresh temporary file beside ``path``, then rename it onto ``path``.

    ``fsync``: force the bytes to disk before the rename (checkpoints: survive a power cut).
    The temporary name keeps ``path``'s suffix, so writers that pick a format by suffix work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, _MODE)
        write(Path(tmp))
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def write_bytes(path: PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def write_json(path: PathLike, obj: Any, *, allow_nan: bool = True, default: Optional[Callable[[Any], Any]] = None) -> Path:
    """Indented JSON. ``allow_nan=False`` rejects NaN/inf (not JSON) instead of writing them."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=allow_nan, default=default) + "\n")


def write_npz(path: PathLike, **arrays: Any) -> Path:
    """``np.savez`` (uncompressed) of ``arrays``; ``path`` should end in ``.npz``."""
    import numpy as np

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez must not append ".npz" to the temp name
            np.savez(f, **arrays)

    return atomic_write(path, write)


def write_torch(path: PathLike, obj: Any, *, fsync: bool = False) -> Path:
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp), fsync=fsync)


def write_csv(path: PathLike, frame: Any, **to_csv: Any) -> Path:
    """A pandas DataFrame through ``DataFrame.to_csv(**to_csv)``."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, **to_csv))


def write_figure(path: PathLike, fig: Any, **savefig: Any) -> Path:
    """A matplotlib figure, in the format of ``path``'s suffix."""
    fmt = Path(path).suffix.lstrip(".") or None
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, **savefig))


def file_digest(path: PathLike, algorithm: str = "sha256", block: int = 1 << 22) -> str:
    """Hex digest of a file's bytes, read in blocks (checkpoints and weights are large)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


def open_npz(path: PathLike, what: str = "npz file") -> Any:
    """``np.load(path)`` of an .npz (use as a context manager), with one-line input errors: a missing
    file, or one that is not an npz archive of plain arrays (no pickles are loaded)."""
    import zipfile

    import numpy as np

    from act.errors import InputError, require_file

    p = Path(path)
    require_file(p, what, "check the path")
    try:
        f = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{p} is not an .npz archive of arrays ({type(e).__name__}): pass the {what} itself") from None
    if not hasattr(f, "files"):  # a bare .npy
        raise InputError(f"{p} is a single .npy array, not an .npz archive: pass the {what} itself")
    return f

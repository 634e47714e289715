"""CIFAR-10 (Krizhevsky 2009) from the official python release.

Reads ``cifar-10-python.tar.gz`` directly (no extraction) or its extracted folder
``cifar-10-batches-py``. Each batch is a pickled dict with ``data`` (N, 3072) uint8,
rows laid out as 1024 red, then 1024 green, then 1024 blue values, each plane
row-major, and ``labels`` (N,) in 0..9. The pickles are read with an unpickler
that only builds numpy arrays, never arbitrary objects.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from act.data.base import ArrayDataset, check_choice
from act.data.errors import corrupt, not_found

NAME = "cifar10"
RESOURCES_DIR = Path("resources/data/cifar10")
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
TARBALL = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
SIDE, NUM_CLASSES = 32, 10
HOW_TO_GET = (
    f"download the python version {URL} into root (or resources/data/cifar10), "
    "or pass download=True when online."
)
_ALLOWED_GLOBALS = {  # what a pickled numpy uint8 array needs, across numpy 1.x / 2.x and pickle protocols
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module.split(".", 2)[2]  # numpy 2 moved numpy.core
        return super().find_class(module, name)


def _search_dirs(root: Optional[str]) -> List[Path]:
    return [Path(root)] if root is not None else [RESOURCES_DIR]


def _is_source(path: Path) -> bool:
    """An extracted ``cifar-10-batches-py`` folder (under any name) or the official tarball."""
    return (path.is_dir() and (path / "test_batch").is_file()) or (path.is_file() and path.name == TARBALL)


def _locate(dirs: List[Path]) -> Tuple[Optional[Path], List[Path]]:
    """First extracted folder or tarball found; also every path looked at."""
    looked: List[Path] = []
    for d in dirs:
        for candidate in (d, d / FOLDER, d / TARBALL):
            looked.append(candidate)
            if _is_source(candidate):
                return candidate, looked
    return None, looked


def _read_batches(source: Path, names: Tuple[str, ...]) -> Dict[str, bytes]:
    try:
        if source.is_dir():
            return {n: (source / n).read_bytes() for n in names}
        else:
            with tarfile.open(source, "r:gz") as tar:
                members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                missing = [n for n in names if n not in members]
                if missing:
                    raise corrupt(NAME, source, f"tarball lacks {missing}", HOW_TO_GET)
                return {n: tar.extractfile(members[n]).read() for n in names}
    except (OSError, EOFError, tarfile.TarError) as e:
        raise corrupt(NAME, source, f"cannot read ({e})", HOW_TO_GET) from e


def _parse_batch(raw: bytes, where: Path) -> Tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as e:  # any unpickling failure means a damaged or foreign file
        raise corrupt(NAME, where, f"not a CIFAR-10 batch pickle ({type(e).__name__}: {e})", HOW_TO_GET) from e
    if not isinstance(batch, dict):
        raise corrupt(NAME, where, f"unpickled a {type(batch).__name__}, expected a dict", HOW_TO_GET)
    data = batch.get(b"data", batch.get("data"))  # Python 3 pickles keep bytes keys, Python 2 str
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise corrupt(NAME, where, f"keys {sorted(map(str, batch))} lack data/labels", HOW_TO_GET)
    data, labels = np.asarray(data), np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE:
        raise corrupt(NAME, where, f"data {data.dtype} {data.shape}, expected uint8 (N, 3072)", HOW_TO_GET)
    if labels.shape != (len(data),) or (labels.size and not 0 <= labels.min() <= labels.max() < NUM_CLASSES):
        raise corrupt(NAME, where, f"labels {labels.shape} not N values in 0..9", HOW_TO_GET)
    return data.reshape(-1, 3, SIDE, SIDE), labels.astype(np.int64)


def load_cifar10(
    root: Optional[str] = None, split: str = "train", resolution: Optional[int] = None, download: bool = False
) -> ArrayDataset:
    """CIFAR-10 as an in-memory dataset of (3, 32, 32) images with labels 0..9."""
    check_choice(NAME, "split", split, tuple(BATCHES))
    check_choice(NAME, "resolution", 32 if resolution is None else resolution, (SIDE,))
    dirs = _search_dirs(root)
    source, looked = _locate(dirs)
    if source is None and download:
        from torchvision.datasets.utils import download_url

        download_url(URL, str(dirs[0]), TARBALL, MD5)
        source, looked = _locate(dirs)
    if source is None:
        raise not_found(NAME, looked, HOW_TO_GET, detail=f"Needed {TARBALL} or a folder {FOLDER}/.")
    raws = _read_batches(source, BATCHES[split])
    parts = [_parse_batch(raws[n], source / n if source.is_dir() else source) for n in BATCHES[split]]
    data = np.concatenate([p[0] for p in parts])  # (N, 3, 32, 32)
    labels = np.concatenate([p[1] for p in parts])
    return ArrayDataset(data, labels, name=NAME, channels=3, resolution=SIDE, num_classes=NUM_CLASSES)

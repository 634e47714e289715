"""ImageNet 64x64 (Chrabaszcz, Loshchilov & Hutter 2017, "A Downsampled Variant of
ImageNet as an Alternative to the CIFAR datasets") from its official npz files.

Train: ``train_data_batch_1.npz`` .. ``train_data_batch_10.npz`` (Imagenet64_train
part 1 and 2); validation: ``val_data.npz``. Each holds ``data`` (N, 12288) uint8 in
the CIFAR row layout (4096 red, then 4096 green, then 4096 blue values, each plane
row-major, so a row reshapes to (3, 64, 64)), ``labels`` 1..1000 (returned 0-based)
and an optional ``mean``. The files are searched in ``root`` and its direct
subfolders (e.g. ``Imagenet64_train_part1_npz/``).

The train split is 15.7 GB as uint8. It is held in memory when it fits in
``max_memory_gb`` (default: half the machine's RAM); otherwise it is written once
to a uint8 ``.npy`` cache in ``cache_dir`` and memory-mapped.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from act.data.base import ArrayDataset, check_choice
from act.data.errors import corrupt, not_found

NAME = "imagenet64"
RESOURCES_DIR = Path("resources/data/imagenet64")
PAGE = "https://image-net.org/download-images.php (Downsampled ImageNet 64x64; see https://patrykchrabaszcz.github.io/Imagenet32/)"
FILES = {"train": tuple(f"train_data_batch_{i}.npz" for i in range(1, 11)), "val": ("val_data.npz",)}
SIDE, NUM_CLASSES = 64, 1000
ROW = 3 * SIDE * SIDE
HOW_TO_GET = (
    f"log in at {PAGE}, download Imagenet64_train_part1/part2 and Imagenet64_val (npz), "
    "and unzip them into root (or resources/data/imagenet64)."
)


def _search_dirs(root: Optional[str]) -> List[Path]:
    base = Path(root) if root is not None else RESOURCES_DIR
    subdirs = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    return [base, *subdirs]


def _find_files(dirs: List[Path], names: Tuple[str, ...]) -> Tuple[List[Path], List[str]]:
    found, missing = [], []
    for name in names:
        hit = next((d / name for d in dirs if (d / name).is_file()), None)
        if hit is None:
            missing.append(name)
        else:
            found.append(hit)
    return found, missing


def _num_rows(path: Path) -> int:
    """Rows of ``data`` in an npz, read from the .npy header without decompressing."""
    try:
        with zipfile.ZipFile(path) as zf, zf.open("data.npy") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise corrupt(NAME, path, f"not an npz with a 'data' array ({e})", HOW_TO_GET) from e
    if dtype != np.uint8 or len(shape) != 2 or shape[1] != ROW:
        raise corrupt(NAME, path, f"data {dtype} {shape}, expected uint8 (N, {ROW})", HOW_TO_GET)
    return int(shape[0])


def _physical_memory_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _allocate(n: int, split: str, max_memory_gb: float, cache_dir: Optional[Path]) -> np.ndarray:
    if n * ROW / 2**30 <= max_memory_gb:
        return np.empty((n, 3, SIDE, SIDE), dtype=np.uint8)
    elif cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / f"{NAME}_{split}_uint8.npy"
        partial = path.with_suffix(".partial.npy")
        return np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(n, 3, SIDE, SIDE))
    else:
        raise MemoryError(
            f"{NAME} {split}: {n * ROW / 2**30:.1f} GB exceeds max_memory_gb={max_memory_gb:.1f}; "
            "pass cache_dir=<folder> to memory-map a uint8 cache instead"
        )


def _cached(n: int, split: str, cache_dir: Optional[Path]) -> Optional[np.ndarray]:
    path = None if cache_dir is None else cache_dir / f"{NAME}_{split}_uint8.npy"
    if path is None or not path.is_file():
        return None
    data = np.load(path, mmap_mode="r")
    if data.shape != (n, 3, SIDE, SIDE):
        raise corrupt(NAME, path, f"cache of shape {data.shape}, expected {(n, 3, SIDE, SIDE)}", "delete the cache")
    return data


def load_imagenet64(
    root: Optional[str] = None,
    split: str = "train",
    resolution: Optional[int] = None,
    max_memory_gb: Optional[float] = None,
    cache_dir: Optional[str] = None,
    download: bool = False,
) -> ArrayDataset:
    """Downsampled ImageNet as (3, 64, 64) images with labels 0..999 (``download`` is refused: login needed)."""
    check_choice(NAME, "split", split, tuple(FILES))
    check_choice(NAME, "resolution", SIDE if resolution is None else resolution, (SIDE,))
    dirs = _search_dirs(root)
    paths, missing = _find_files(dirs, FILES[split])
    if missing:
        no_download = " The release needs a login, so download=True cannot fetch it." if download else ""
        raise not_found(NAME, dirs, HOW_TO_GET, detail=f"Missing {', '.join(missing)}.{no_download}")
    rows = [_num_rows(p) for p in paths]
    n = sum(rows)
    cache = None if cache_dir is None else Path(cache_dir)
    limit = _physical_memory_gb() / 2 if max_memory_gb is None else max_memory_gb
    data = _cached(n, split, cache) if n * ROW / 2**30 > limit else None
    fill = data is None
    if fill:
        data = _allocate(n, split, limit, cache)
    labels = np.empty((n,), dtype=np.int64)
    start = 0
    for path, count in zip(paths, rows):
        try:
            with np.load(path) as npz:
                if fill:
                    data[start : start + count] = npz["data"].reshape(count, 3, SIDE, SIDE)
                labels[start : start + count] = np.asarray(npz["labels"]).reshape(-1) - 1
        except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as e:
            raise corrupt(NAME, path, f"cannot read ({type(e).__name__}: {e})", HOW_TO_GET) from e
        start += count
    if n and not 0 <= labels.min() <= labels.max() < NUM_CLASSES:
        raise corrupt(NAME, paths[0].parent, f"labels span {labels.min() + 1}..{labels.max() + 1}, expected 1..1000", HOW_TO_GET)
    if fill and isinstance(data, np.memmap):
        data.flush()
        partial = Path(data.filename)
        del data
        final = partial.with_name(f"{NAME}_{split}_uint8.npy")
        partial.replace(final)  # atomic: a half-written cache never looks complete
        data = np.load(final, mmap_mode="r")
    return ArrayDataset(data, labels, name=NAME, channels=3, resolution=SIDE, num_classes=NUM_CLASSES)

"""Fashion-MNIST (Xiao et al. 2017) from its idx files, padded to 32x32 (or area-downsampled to 16x16).

The idx format (LeCun's MNIST format): a big-endian header ``0x00 0x00 <dtype>
<ndim>``, then ``ndim`` uint32 sizes, then the raw uint8 values. Images have magic
2051 (0x00000803), labels 2049 (0x00000801). Files may be gzipped.

Search order: the ``root`` argument alone if given; otherwise the Debian package
``dataset-fashion-mnist`` folder, then ``resources/data/fashion-mnist`` (relative
to the working directory). ``download=True`` fetches the files with torchvision
into ``root`` (or that resources folder) when no copy is found.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from act.data.base import ArrayDataset, check_choice
from act.data.errors import corrupt, not_found

NAME = "fashion_mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
RESOURCES_DIR = Path("resources/data/fashion-mnist")
TORCHVISION_SUBDIR = Path("FashionMNIST/raw")  # where torchvision.datasets.FashionMNIST keeps them
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SIDE = 28  # native image side
RESOLUTIONS = (16, 28, 32)  # 32 = padded with black so the UNet's resolution halves cleanly; 16 = that, area-halved
NUM_CLASSES = 10
HOW_TO_GET = (
    "`sudo apt-get install dataset-fashion-mnist` (installs into /usr/share/datasets/fashion-mnist), "
    "or pass download=True when online (torchvision downloads into the folder shown), "
    "or copy the four idx files from https://github.com/zalandoresearch/fashion-mnist into root."
)


def _search_dirs(root: Optional[str]) -> List[Path]:
    bases = [Path(root)] if root is not None else [DEBIAN_DIR, RESOURCES_DIR]
    return [d for base in bases for d in (base, base / TORCHVISION_SUBDIR)]


def _find_file(folder: Path, stem: str) -> Optional[Path]:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _find_split(dirs: List[Path], split: str) -> Optional[Tuple[Path, Path]]:
    for folder in dirs:
        images, labels = (_find_file(folder, stem) for stem in FILES[split])
        if images is not None and labels is not None:
            return images, labels
    return None


def _download(target: Path) -> None:
    from torchvision.datasets import FashionMNIST
    from torchvision.datasets.utils import download_url

    target.mkdir(parents=True, exist_ok=True)
    for filename, md5 in FashionMNIST.resources:
        if not (target / filename).is_file():
            download_url(FashionMNIST.mirrors[0] + filename, str(target), filename, md5)


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one idx file (gzipped or not) into a uint8 array, checking magic and size."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise corrupt(NAME, path, f"cannot decompress ({e})", HOW_TO_GET) from e
    if len(raw) < 4:
        raise corrupt(NAME, path, f"only {len(raw)} bytes, shorter than an idx header", HOW_TO_GET)
    found_magic, ndim = struct.unpack(">I", raw[:4])[0], raw[3]
    if found_magic != magic:
        raise corrupt(NAME, path, f"magic number {found_magic}, expected {magic}", HOW_TO_GET)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise corrupt(NAME, path, "truncated inside the header", HOW_TO_GET)
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise corrupt(NAME, path, f"{len(raw)} bytes, header {dims} implies {expected}", HOW_TO_GET)
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_fashion_mnist(
    root: Optional[str] = None, split: str = "train", resolution: Optional[int] = None, download: bool = False
) -> ArrayDataset:
    """Fashion-MNIST as an in-memory dataset of (1, R, R) images: R = 32 (padded with black), 28 (native), or 16
    (the padded 32 x 32 averaged over 2 x 2 blocks, area downsampling, rounded half up to uint8: a quarter of
    the pixels for CPU-sized image experiments)."""
    check_choice(NAME, "split", split, tuple(FILES))
    resolution = 32 if resolution is None else resolution
    check_choice(NAME, "resolution", resolution, RESOLUTIONS)
    dirs = _search_dirs(root)
    found = _find_split(dirs, split)
    if found is None and download:
        target = Path(root) if root is not None else RESOURCES_DIR
        _download(target)
        found = _find_split([target], split)
    if found is None:
        names = " and ".join(f"{stem}[.gz]" for stem in FILES[split])
        raise not_found(NAME, dirs, HOW_TO_GET, detail=f"Needed {names}.")
    image_path, label_path = found
    images, labels = read_idx(image_path, IMAGE_MAGIC), read_idx(label_path, LABEL_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise corrupt(NAME, image_path, f"images of shape {images.shape[1:]}, expected ({SIDE}, {SIDE})", HOW_TO_GET)
    if labels.ndim != 1 or len(labels) != len(images):
        raise corrupt(NAME, label_path, f"{labels.shape} labels for {len(images)} images", HOW_TO_GET)
    if labels.size and labels.max() >= NUM_CLASSES:
        raise corrupt(NAME, label_path, f"label {labels.max()} outside 0..{NUM_CLASSES - 1}", HOW_TO_GET)
    side = 32 if resolution == 16 else resolution
    pad = (side - SIDE) // 2
    data = np.zeros((len(images), 1, side, side), dtype=np.uint8)  # 0 = black = -1 after scaling
    data[:, 0, pad : pad + SIDE, pad : pad + SIDE] = images
    if resolution == 16:  # sums of four uint8 values are exact in uint16; (sum + 2) // 4 rounds half up
        blocks = data.reshape(len(data), 1, 16, 2, 16, 2).astype(np.uint16).sum(axis=(3, 5))
        data = ((blocks + 2) // 4).astype(np.uint8)
    return ArrayDataset(data, labels.astype(np.int64), name=NAME, channels=1, resolution=resolution,
                        num_classes=NUM_CLASSES)

"""Folders of images (LSUN Cat 256, or any other), centre-cropped and resized.

Every ``.png``, ``.jpg``, ``.jpeg`` or ``.webp`` file below ``root`` (recursively,
in sorted path order) is converted to RGB, centre-cropped to a square and resized
to ``resolution`` (default 256) with PIL's antialiased bicubic (or Lanczos) filter.

LSUN (Yu et al. 2015) is released as an LMDB of encoded images. Export it to a
folder (e.g. with the ``export`` command of https://github.com/fyu/lsun), or, when
the optional ``lmdb`` package is importable, point ``root`` at the folder holding
``data.mdb`` and the images are decoded from the database directly.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from act.data.base import UNLABELED, ActDataset, check_choice
from act.data.errors import corrupt, not_found
from act.errors import ConfigError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
DEFAULT_RESOLUTION = 256
RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
DEFAULT_DIRS = {"lsun_cat": Path("resources/data/lsun_cat")}
HOW_TO_GET = {
    "lsun_cat": (
        "download cat.zip from http://dl.yf.io/lsun/objects/ (see https://github.com/fyu/lsun), "
        "export the LMDB to a folder of images with that repository's `python3 data.py export`, "
        "and pass that folder as root (or put it at resources/data/lsun_cat); "
        "with `pip install lmdb`, root may also be the LMDB folder holding data.mdb."
    ),
    "image_folder": "pass root=<a folder containing .png/.jpg/.jpeg/.webp images>.",
}


def center_crop_resize(image: Image.Image, resolution: int, resample: str = "bicubic") -> Image.Image:
    """RGB ``image`` centre-cropped to its shorter side and resized to ``resolution`` squared."""
    check_choice("image_folder", "resample filter", resample, tuple(RESAMPLE))
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != resolution:
        image = image.resize((resolution, resolution), resample=RESAMPLE[resample])  # antialiased when shrinking
    return image


def _to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()  # (3, H, W)
    return torch.from_numpy(array).to(torch.float32) / 127.5 - 1.0


class _ResizedImages(ActDataset):
    """Shared decoding: subclasses give ``__len__`` and ``_encoded(i) -> (bytes or path, where)``."""

    def __init__(self, name: str, resolution: int, resample: str) -> None:
        check_choice(name, "resample filter", resample, tuple(RESAMPLE))
        if resolution <= 0:
            raise ConfigError(f"{name}: resolution must be positive, got {resolution}")
        self.name, self.channels, self.resolution, self.num_classes = name, 3, resolution, 0
        self.resample = resample

    def _encoded(self, index: int) -> Tuple[Any, str]:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        source, where = self._encoded(index)
        try:
            with Image.open(source) as image:
                image = center_crop_resize(image, self.resolution, self.resample)
        except (UnidentifiedImageError, OSError, SyntaxError) as e:  # PIL raises SyntaxError on some bad headers
            raise corrupt(self.name, where, f"not a readable image ({e})", HOW_TO_GET[self.name]) from e
        return _to_tensor(image), UNLABELED


class ImageFolder(_ResizedImages):
    """Every image file below ``root``, unlabeled."""

    def __init__(self, root: Path, name: str, resolution: int, resample: str) -> None:
        super().__init__(name, resolution, resample)
        self.root = root
        self.files: List[Path] = sorted(
            p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file()
        )

    def __len__(self) -> int:
        return len(self.files)

    def _encoded(self, index: int) -> Tuple[Any, str]:
        return self.files[index], str(self.files[index])


class LmdbImages(_ResizedImages):
    """The encoded images stored as values of an LMDB (the LSUN release format)."""

    def __init__(self, root: Path, name: str, resolution: int, resample: str) -> None:
        super().__init__(name, resolution, resample)
        self.root = root
        self._env: Any = None
        self._pid = -1
        with self._open().begin(write=False) as txn:
            self.keys: List[bytes] = [bytes(k) for k in txn.cursor().iternext(keys=True, values=False)]

    def _open(self) -> Any:
        import lmdb

        if self._env is None or self._pid != os.getpid():  # an LMDB handle must not cross a fork
            self._env = lmdb.open(str(self.root), readonly=True, lock=False, readahead=False, meminit=False)
            self._pid = os.getpid()
        return self._env

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_env": None, "_pid": -1}

    def __len__(self) -> int:
        return len(self.keys)

    def _encoded(self, index: int) -> Tuple[Any, str]:
        with self._open().begin(write=False) as txn:
            value = txn.get(self.keys[index])
        where = f"{self.root}[{self.keys[index]!r}]"
        if value is None:
            raise corrupt(self.name, where, "key vanished from the LMDB", HOW_TO_GET[self.name])
        return io.BytesIO(value), where


def _lmdb_available() -> bool:
    try:
        import lmdb  # noqa: F401
    except ImportError:
        return False
    else:
        return True


def load_image_folder(
    root: Optional[str] = None,
    split: str = "train",
    resolution: Optional[int] = None,
    resample: str = "bicubic",
    download: bool = False,
    *,
    name: str = "image_folder",
) -> ActDataset:
    """An unlabeled dataset of (3, R, R) images from a folder (or an LSUN LMDB)."""
    check_choice(name, "dataset name", name, tuple(HOW_TO_GET))
    no_download = " download=True cannot fetch it: get the files by hand." if download else ""
    check_choice(name, "split", split, ("train",))
    resolution = DEFAULT_RESOLUTION if resolution is None else resolution
    if root is not None:
        folder = Path(root)
    elif name in DEFAULT_DIRS:
        folder = DEFAULT_DIRS[name]
    else:
        raise ConfigError(f"{name}: pass root=<folder of images>; there is no default location")
    if (folder / "data.mdb").is_file():
        if not _lmdb_available():
            raise not_found(name, [folder], HOW_TO_GET[name],
                            detail="Found an LMDB (data.mdb) but the optional `lmdb` package is not installed.")
        dataset: ActDataset = LmdbImages(folder, name, resolution, resample)
    elif folder.is_dir():
        dataset = ImageFolder(folder, name, resolution, resample)
    else:
        raise not_found(name, [folder], HOW_TO_GET[name], detail=f"The folder does not exist.{no_download}")
    if len(dataset) == 0:
        raise not_found(name, [folder], HOW_TO_GET[name],
                        detail=f"No {'/'.join(EXTENSIONS)} images below it (searched recursively).{no_download}")
    return dataset

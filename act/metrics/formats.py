"""The standard FID file formats, as sample sets or references of ``act evaluate`` (docs/METHOD.md s.6).

- ``act sample`` npz: ``images`` uint8 (N, H, W, C) (and ``labels``); it also writes ``arr_0``,
  the same images, so the ADM evaluator (guided-diffusion ``evaluations/evaluator.py``) reads it.
- ADM reference batches (``VIRTUAL_*.npz``): ``arr_0`` uint8 (N, H, W, C), with the reference
  statistics ``mu`` / ``sigma`` beside them.
- Statistics only: EDM's ``fid-refs/*.npz`` and clean-fid's ``stats/*.npz`` (``mu`` (2048,),
  ``sigma`` (2048, 2048)): FID against them; KID, precision/recall need images and are absent.
- A folder of images (png, jpg, jpeg, webp, bmp) or a zip archive of them, read in sorted name order.

Statistics files must come from the same pool3 network (the Inception of these metrics, the
TF graph that torch-fidelity, clean-fid and the ADM evaluator share) and a compatible resize:
the result records which statistics were used.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from act.errors import InputError, MissingInputError
from act.io import open_npz

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
FEATURE_DIM = 2048  # pool3


@dataclass
class ImageSet:
    """What a file or folder holds: images (uint8 NHWC) and/or pool3 statistics, and its format's name."""

    images: Optional[np.ndarray]
    labels: Optional[np.ndarray]
    mu: Optional[np.ndarray]
    sigma: Optional[np.ndarray]
    kind: str


def _decode(data: bytes, where: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            arr = np.asarray(im.convert("L" if im.mode in ("L", "I;16", "1") else "RGB"))
    except Exception as e:  # PIL raises several types for broken files
        raise InputError(f"{where}: not a readable image ({e})") from None
    return arr[..., None] if arr.ndim == 2 else arr


def _stack(images: List[np.ndarray], where: str) -> np.ndarray:
    if not images:
        raise InputError(f"{where}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise InputError(f"{where}: images differ in size {sorted(shapes)}; resize them to one size first")
    return np.stack(images).astype(np.uint8)


def _folder(path: Path, num: Optional[int]) -> np.ndarray:
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())[:num]
    return _stack([_decode(p.read_bytes(), str(p)) for p in files], str(path))


def _zip(path: Path, num: Optional[int]) -> np.ndarray:
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if Path(n).suffix.lower() in IMAGE_SUFFIXES)[:num]
        return _stack([_decode(z.read(n), f"{path}:{n}") for n in names], str(path))


def _check_images(images: np.ndarray, where: str, key: str) -> np.ndarray:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise InputError(f"{where}: '{key}' must be uint8 (N, H, W, C) with C in (1, 3), got {images.dtype} {images.shape}")
    return images


def _check_stats(mu: np.ndarray, sigma: np.ndarray, where: str) -> Tuple[np.ndarray, np.ndarray]:
    mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    if mu.shape != (FEATURE_DIM,) or sigma.shape != (FEATURE_DIM, FEATURE_DIM):
        raise InputError(f"{where}: 'mu' / 'sigma' must be pool3 statistics of shape ({FEATURE_DIM},) and "
                         f"({FEATURE_DIM}, {FEATURE_DIM}), got {mu.shape} and {sigma.shape}")
    return mu, sigma


def _npz(path: Path, num: Optional[int]) -> ImageSet:
    with open_npz(path, "samples or reference .npz") as f:
        keys = set(f.files)
        images = labels = mu = sigma = None
        if "images" in keys:
            images, kind = _check_images(f["images"], str(path), "images"), "act samples"
            labels = f["labels"] if "labels" in keys else None
        elif "arr_0" in keys:
            images, kind = _check_images(f["arr_0"], str(path), "arr_0"), "ADM batch"
        else:
            kind = "statistics"
        if "mu" in keys and "sigma" in keys:
            mu, sigma = _check_stats(f["mu"], f["sigma"], str(path))
            kind = kind if images is not None else "statistics (EDM / clean-fid / ADM)"
    if images is None and mu is None:
        raise InputError(f"{path}: found {sorted(keys)}; expected 'images' (act sample), 'arr_0' (ADM batch) "
                         "or 'mu' and 'sigma' (EDM / clean-fid statistics)")
    if images is not None and num is not None:
        if num > len(images):
            raise InputError(f"{path} holds {len(images)} images, fewer than the {num} requested")
        images, labels = images[:num], (labels[:num] if labels is not None else None)
    return ImageSet(images, labels, mu, sigma, kind)


def read_image_set(path: str, num: Optional[int] = None) -> ImageSet:
    """The images (first ``num``) and/or statistics of ``path``: an npz, a zip of images or a folder of images."""
    p = Path(path)
    if p.is_dir():
        return ImageSet(_folder(p, num), None, None, None, "image folder")
    if not p.is_file():
        raise MissingInputError(f"{path} does not exist (expected an npz, a zip of images or a folder of images)")
    if p.suffix.lower() == ".npz":
        return _npz(p, num)
    if p.suffix.lower() == ".zip":
        return ImageSet(_zip(p, num), None, None, None, "zip of images")
    raise InputError(f"{path}: unknown format (expected .npz, .zip or a folder of images)")

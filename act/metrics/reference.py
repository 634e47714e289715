"""Sample sets, reference images, and the reference-feature cache.

The paper protocol (Consistency Models, ACT) compares samples against the
training split. Reference images go through exactly the samples' path: the
dataset's [-1, 1] floats are quantised to uint8 as ``act sample`` does, then the
same resize and network. Features are cached under ``resources/reference/`` in a
file named by dataset, split, resolution, feature network, resize mode and count,
plus a hash of those fields and of the reference pixels themselves, so a cache
file can never be reused for different images. Files are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import torch

from act import io
from act.data import build_dataset
from act.metrics.protocol import DEFAULT_CACHE_DIR  # noqa: F401  (re-exported: callers name reference.DEFAULT_CACHE_DIR)

CACHE_FORMAT = 1  # bump when the cached content changes meaning


def open_dataset(name: str, root: Optional[str] = None, split: str = "train", resolution: Optional[int] = None):
    """``act.data.build_dataset``; the one place the metrics code reaches the data loaders."""
    return build_dataset(name, root=root, split=split, resolution=resolution)


def float_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> uint8, the inverse of ``act.data``'s x / 127.5 - 1 (round to nearest)."""
    return ((x.to(torch.float32) + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


def reference_indices(n_total: int, num: Optional[int], seed: int) -> np.ndarray:
    """All indices when ``num`` is None or covers the split; else a seeded random subset, sorted."""
    if num is None or num >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:num])


def load_reference_images(dataset: str, root: Optional[str] = None, split: str = "train",
                          resolution: Optional[int] = None, num: Optional[int] = None, seed: int = 0,
                          batch_size: int = 1000) -> Tuple[np.ndarray, np.ndarray]:
    """Reference images uint8 (N, H, W, C) and labels (N,) from ``act.data``."""
    ds = open_dataset(dataset, root=root, split=split, resolution=resolution)
    if getattr(ds, "resolution", 1) is None:
        raise ValueError(f"{dataset} holds points, not images: Inception metrics do not apply")
    return _images_at(ds, reference_indices(len(ds), num, seed), batch_size)


MOMENT_IMAGES = 50_000  # at most this many images fit the moment-matched Gaussian (ImageNet-64 would not fit in memory)


@lru_cache(maxsize=2)
def moment_images(dataset: str, root: Optional[str] = None, split: str = "train", resolution: Optional[int] = None,
                  num: Optional[int] = None, seed: int = 0) -> Tuple[np.ndarray, str]:
    """Images to fit the moment-matched Gaussian on, disjoint from the reference subset ``(num, seed)`` it is scored
    against (fitted on the reference itself, the Gaussian would be favoured by its own sampling noise): the split's
    other images (at most ``MOMENT_IMAGES``, a fixed seeded choice), or the whole split when the reference is the
    whole split. Returns (uint8 images, how they were chosen). Cached: a scoring job fits it once."""
    ds = open_dataset(dataset, root=root, split=split, resolution=resolution)
    n = len(ds)
    taken = reference_indices(n, num, seed)
    if len(taken) == n:
        return _images_at(ds, taken[:MOMENT_IMAGES])[0], f"the reference split itself ({min(n, MOMENT_IMAGES)} images)"
    rest = np.setdiff1d(np.arange(n), taken)
    if len(rest) > MOMENT_IMAGES:
        rest = np.sort(np.random.default_rng(seed + 1).choice(rest, MOMENT_IMAGES, replace=False))
    return _images_at(ds, rest)[0], f"{len(rest)} images of the split outside the reference subset"


def _images_at(ds, idx: np.ndarray, batch_size: int = 1000) -> Tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for start in range(0, len(idx), batch_size):
        x, y = ds.get_batch(torch.from_numpy(idx[start:start + batch_size]))  # x (B, C, H, W) in [-1, 1]
        images.append(float_to_uint8(x).permute(0, 2, 3, 1).numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)


@dataclass(frozen=True)
class ReferenceKey:
    """Everything the cached reference features depend on."""

    dataset: str
    split: str
    resolution: int
    feature_network: str
    resize_mode: str
    num: int  # images actually used
    seed: int  # subset seed (irrelevant, but recorded, when the whole split is used)
    pixels_sha1: str  # hash of the reference images themselves

    def digest(self) -> str:
        payload = json.dumps({"format": CACHE_FORMAT, **asdict(self)}, sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:16]

    def filename(self) -> str:
        return (f"{self.dataset}_{self.split}_{self.resolution}px_{self.feature_network}_{self.resize_mode}"
                f"_n{self.num}_{self.digest()}.npz")


def pixels_sha1(images: np.ndarray) -> str:
    """SHA-1 of an image array's shape and bytes."""
    h = hashlib.sha1(str(images.shape).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()


def cached_features(key: ReferenceKey, cache_dir: str, compute: Callable[[], np.ndarray]
                    ) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Features for ``key`` from ``cache_dir`` if present, else ``compute()`` and store them atomically.

    Returns the features and a record: cache path, whether it was a hit, seconds spent.
    """
    path = Path(cache_dir) / key.filename()
    t0 = time.perf_counter()
    if path.is_file():
        with np.load(path) as f:
            meta = json.loads(str(f["meta"]))
            if meta.get("key") == asdict(key):
                feats = f["features"]
                return feats, {"cache_file": str(path), "from_cache": True,
                               "seconds": time.perf_counter() - t0}
    feats = np.asarray(compute(), dtype=np.float32)
    seconds = time.perf_counter() - t0
    meta = {"format": CACHE_FORMAT, "key": asdict(key), "extraction_seconds": seconds,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    io.write_npz(path, features=feats, meta=np.array(json.dumps(meta)))
    return feats, {"cache_file": str(path), "from_cache": False, "seconds": seconds}

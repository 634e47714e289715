"""Random uint8 images of any shape: for throughput and cost benchmarks and GPU checks, where
the real data are not at hand. Never a training set to report numbers on."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from act.data.base import ArrayDataset
from act.data.base import check_choice

NAME = "synthetic"


def load_synthetic(root: Optional[str] = None, split: str = "train", resolution: Optional[int] = 32,
                   channels: int = 3, n: int = 1024, num_classes: int = 0, seed: int = 0, **_: Any) -> ArrayDataset:
    """``n`` uniform-noise images (channels, resolution, resolution), labels drawn when ``num_classes`` > 0."""
    check_choice(NAME, "split", split, ("train", "test"))
    res = resolution or 32
    rng = np.random.default_rng(seed + (split == "test"))
    data = rng.integers(0, 256, size=(n, channels, res, res), dtype=np.uint8)
    labels = rng.integers(0, num_classes, size=n) if num_classes else None
    return ArrayDataset(data, labels, name=NAME, channels=channels, resolution=res, num_classes=num_classes)

"""Dataset base classes shared by every loader.

Items are ``(x, label)``: ``x`` float32 in [-1, 1] with shape (C, H, W) for images
or (D,) for points, ``label`` an int (-1 when the dataset has no labels).
:class:`ArrayDataset` keeps the whole split in memory as a uint8 (or float) array
and serves batches by fancy indexing, without a per-item Python loop.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from act.errors import ConfigError

UNLABELED = -1  # label of every item in a dataset without classes


def uint8_to_float(x: torch.Tensor) -> torch.Tensor:
    """Map uint8 pixels {0..255} affinely onto float32 [-1, 1] (0 -> -1, 255 -> 1)."""
    return x.to(torch.float32) / 127.5 - 1.0


class ActDataset(Dataset):
    """Common attributes, and a ``get_batch`` that stacks ``__getitem__``."""

    name: str
    channels: int  # image channels; for point data, the dimension D
    resolution: Optional[int]  # image side in pixels; None for point data
    num_classes: int  # 0 when unlabeled

    @property
    def shape(self) -> Tuple[int, ...]:
        """Shape of one item's ``x``."""
        if self.resolution is None:
            return (self.channels,)
        else:
            return (self.channels, self.resolution, self.resolution)

    def get_batch(self, indices: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(x, labels)`` for ``indices``: x (B, ...) float32 in [-1, 1], labels int64 (B,)."""
        items = [self[int(i)] for i in torch.as_tensor(indices).reshape(-1)]
        if not items:
            return torch.empty((0, *self.shape)), torch.empty((0,), dtype=torch.int64)
        xs, labels = zip(*items)
        return torch.stack(xs), torch.tensor(labels, dtype=torch.int64)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, n={len(self)}, shape={self.shape}, "
            f"num_classes={self.num_classes})"
        )


class ArrayDataset(ActDataset):
    """A split held in memory (or memory-mapped): ``data`` (N, ...) and ``labels`` (N,).

    uint8 data are scaled to [-1, 1] on access; float data are returned as stored.
    """

    def __init__(
        self,
        data: np.ndarray,
        labels: Optional[np.ndarray],
        *,
        name: str,
        channels: int,
        resolution: Optional[int],
        num_classes: int,
    ) -> None:
        if labels is None:
            labels = np.full((len(data),), UNLABELED, dtype=np.int64)
        if len(labels) != len(data):
            raise ValueError(f"{name}: {len(data)} items but {len(labels)} labels")
        if data.dtype != np.uint8 and data.dtype != np.float32:
            raise TypeError(f"{name}: data must be uint8 or float32, got {data.dtype}")
        self.data = data
        self.labels = np.asarray(labels, dtype=np.int64)
        self.name = name
        self.channels = channels
        self.resolution = resolution
        self.num_classes = num_classes
        if tuple(data.shape[1:]) != self.shape:
            raise ValueError(f"{name}: items have shape {tuple(data.shape[1:])}, expected {self.shape}")

    def __len__(self) -> int:
        return len(self.data)

    def _to_float(self, x: np.ndarray) -> torch.Tensor:
        if not x.flags.writeable:  # one item of a read-only memory map
            x = x.copy()
        t = torch.from_numpy(np.ascontiguousarray(x))
        if t.dtype == torch.uint8:
            return uint8_to_float(t)
        else:
            return t.clone()  # never hand out a view of the stored array

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        return self._to_float(self.data[index]), int(self.labels[index])

    def get_batch(self, indices: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.int64).reshape(-1).numpy()
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"{self.name}: index out of range for {len(self)} items")
        return self._to_float(self.data[idx]), torch.from_numpy(self.labels[idx].copy())


def check_choice(dataset: str, what: str, value: object, choices: Tuple[object, ...]) -> None:
    """Raise a ConfigError naming the choices when ``value`` is not one of them."""
    if value not in choices:
        raise ConfigError(f"{dataset}: unknown {what} {value!r}; choose from {choices}")

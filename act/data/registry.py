"""The dataset registry and ``build_dataset``, the one entry point for loaders."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict, Optional

from torch.utils.data import Dataset

from act.data.cifar10 import load_cifar10
from act.data.fashion_mnist import load_fashion_mnist
from act.data.image_folder import load_image_folder
from act.data.imagenet64 import load_imagenet64
from act.data.synthetic import load_synthetic
from act.data.toy import TOY_KINDS, load_toy2d
from act.errors import ConfigError

# name -> loader(root, split, resolution, download=False, **loader-specific kwargs)
DATASETS: Dict[str, Callable[..., Dataset]] = {
    "fashion_mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
    "imagenet64": load_imagenet64,
    "lsun_cat": functools.partial(load_image_folder, name="lsun_cat"),
    "image_folder": functools.partial(load_image_folder, name="image_folder"),
    "toy2d": load_toy2d,
    "synthetic": load_synthetic,  # random images, for benchmarks only
}
TOY_SEPARATOR = ":"  # "toy2d:two_moons" is "toy2d" with kind="two_moons"


def dataset_names() -> list[str]:
    """Every accepted name, the toy kinds spelled out."""
    return [*DATASETS, *(f"toy2d{TOY_SEPARATOR}{kind}" for kind in TOY_KINDS)]


def build_dataset(
    name: str, root: Optional[str] = None, split: str = "train", resolution: Optional[int] = None, **kwargs: Any
) -> Dataset:
    """Load dataset ``name``; items are (x float32 in [-1, 1], int label or -1)."""
    base, sep, kind = name.partition(TOY_SEPARATOR)
    if sep:
        if base != "toy2d":
            raise ConfigError(f"only toy2d takes a ':<kind>' suffix, got {name!r}; choose from {dataset_names()}")
        elif kwargs.get("kind", kind) != kind:
            raise ConfigError(f"{name!r} conflicts with kind={kwargs['kind']!r}")
        else:
            kwargs["kind"] = kind
    if base not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose from {dataset_names()}")
    loader = DATASETS[base]
    params = inspect.signature(loader).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        takes = [k for k, p in params.items() if k not in ("root", "split", "resolution", "name")]
        unknown = sorted(set(kwargs) - set(takes))
        if unknown:
            options = sorted(set(takes) - {"download"})
            raise ConfigError(f"data.options {unknown} are not options of the {base} loader (its options: "
                              f"{options or 'none'}); remove them, e.g. --set 'data.options={{}}'")
    return loader(root=root, split=split, resolution=resolution, **kwargs)

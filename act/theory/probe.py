"""The fixed held-out probe set of the Wasserstein-bound measurements: pairs (x0, z) plus independent data.

Every checkpoint of a run is measured on the same probe, so differences between
checkpoints are the network's and not the probe's. ``x0`` and ``x_indep`` are held-out
data (toy data: ``sample_toy`` with seeds that differ from the training set's;
images: a disjoint random pair of subsets of the test/val split when the dataset has
one), ``z`` is standard normal from a fixed seed. A probe is a pure function of
(data source, number, seed); it is also written to disk, so later invocations can
reuse the very same tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch

from act.checkpoint import load_checkpoint, save_checkpoint
from act.data import build_dataset, sample_toy
from act.errors import UserError
from act.rng import probe_generator

PROBE_FORMAT = "act-bench-probe/1"
TOY_SEED_OFFSET = 1_000_000  # toy probe seeds: far from the small seeds training sets use
HELDOUT_SPLITS = ("test", "val")  # tried in order before falling back to the training split
Z_STREAM, PERM_STREAM = 1, 2  # generator streams of the noise and of the image-subset draw


@dataclass
class Probe:
    """``x0``, ``z`` and ``x_indep`` share one shape (M, *data_shape); labels are None for unlabeled data."""

    x0: torch.Tensor
    z: torch.Tensor
    x_indep: torch.Tensor
    labels: Optional[torch.Tensor] = None
    labels_indep: Optional[torch.Tensor] = None
    meta: Dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.x0.shape[0]

    @property
    def data_shape(self) -> Tuple[int, ...]:
        return tuple(self.x0.shape[1:])


def data_identity(data_cfg: Any) -> Dict[str, Any]:
    """What must agree between a probe and a checkpoint's data: the distribution, not the training sample."""
    name, _, kind = data_cfg.name.partition(":")
    if name == "toy2d":
        return {"name": "toy2d", "kind": kind or data_cfg.options.get("kind")}
    else:
        return {"name": data_cfg.name, "resolution": data_cfg.resolution}


def _toy_sets(data_cfg: Any, num: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor, Dict[str, Any]]:
    kind = data_identity(data_cfg)["kind"]
    train_seed = int(data_cfg.options.get("seed", 0))
    probe_seed, indep_seed = TOY_SEED_OFFSET + 2 * seed, TOY_SEED_OFFSET + 2 * seed + 1
    if train_seed in (probe_seed, indep_seed):
        raise ValueError(f"probe seed {seed} would reuse the training data seed {train_seed}; pick another --seed")
    meta = {"probe_data_seed": probe_seed, "independent_data_seed": indep_seed, "train_data_seed": train_seed}
    return sample_toy(kind, num, probe_seed), sample_toy(kind, num, indep_seed), meta


def _image_sets(data_cfg: Any, num: int, seed: int):
    dataset, split = None, None
    for split in (*HELDOUT_SPLITS, data_cfg.split):
        try:
            dataset = build_dataset(data_cfg.name, root=data_cfg.root, split=split, resolution=data_cfg.resolution,
                                    download=False, **data_cfg.options)
            break
        except (UserError, ValueError, FileNotFoundError):
            if split == data_cfg.split:
                raise
    if len(dataset) < 2 * num:
        raise ValueError(f"{data_cfg.name} {split} has {len(dataset)} items; a probe of {num} needs {2 * num}")
    perm = torch.randperm(len(dataset), generator=probe_generator(seed, PERM_STREAM))
    x0, y0 = dataset.get_batch(perm[:num])
    xi, yi = dataset.get_batch(perm[num : 2 * num])
    labelled = int(getattr(dataset, "num_classes", 0)) > 0
    meta = {"split": split, "heldout": split != data_cfg.split}
    return x0, xi, (y0 if labelled else None), (yi if labelled else None), meta


def build_probe(data_cfg: Any, num: int, seed: int = 0) -> Probe:
    """The probe of ``num`` pairs for a config's data section (``cfg.data``)."""
    if num < 2:
        raise ValueError(f"a probe needs at least 2 samples, got {num}")
    ident = data_identity(data_cfg)
    if ident["name"] == "toy2d":
        x0, x_indep, extra = _toy_sets(data_cfg, num, seed)
        labels = labels_indep = None
    else:
        x0, x_indep, labels, labels_indep, extra = _image_sets(data_cfg, num, seed)
    z = torch.randn(x0.shape, generator=probe_generator(seed, Z_STREAM))  # (M, *data_shape)
    meta = {"format": PROBE_FORMAT, "data": ident, "num": num, "seed": seed, **extra}
    return Probe(x0.float(), z, x_indep.float(), labels, labels_indep, meta)


def save_probe(probe: Probe, path: Union[str, Path]) -> None:
    save_checkpoint(path, {"x0": probe.x0, "z": probe.z, "x_indep": probe.x_indep, "labels": probe.labels,
                           "labels_indep": probe.labels_indep, "meta": probe.meta})


def load_probe(path: Union[str, Path]) -> Probe:
    d = load_checkpoint(path)
    if d.get("meta", {}).get("format") != PROBE_FORMAT:
        raise ValueError(f"{path} is not a probe file ({PROBE_FORMAT})")
    return Probe(d["x0"], d["z"], d["x_indep"], d["labels"], d["labels_indep"], d["meta"])


def check_probe(probe: Probe, data_cfg: Any, data_shape: Tuple[int, ...]) -> None:
    """Raise when a checkpoint's data is not the probe's."""
    want = data_identity(data_cfg)
    if probe.meta.get("data") != want or probe.data_shape != tuple(data_shape):
        raise ValueError(f"probe of {probe.meta.get('data')} {probe.data_shape} does not match a checkpoint "
                         f"trained on {want} {tuple(data_shape)}")

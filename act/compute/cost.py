"""Per-step training cost of a method on its preset: FLOPs and wall time.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` over one full training
step (every phase's forward and backward, R1 included on an R1 step); wall time is the
mean over timed steps after warm-up, on the real training step function. Matched
compute between methods is then a matter of dividing one budget by these numbers.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch

from act.config import ExperimentConfig, generator_overrides
from act.data import build_dataset
from act.devices import resolve_device, synchronize
from act.errors import ConfigError
from act.networks import count_parameters
from act.networks.build import config_data_shape, image_presets, resolve_generator_config
from act.registry import build_method
from act.rng import per_step_generator, seeded_global_rng
from act.train import apply_determinism, build_data, build_optimizers, compile_networks, place, to_layout, train_step


class _GlobalOnly:
    """Stand-in module tracker: every FLOP counts towards "Global" only."""

    parents = {"Global"}

    def __enter__(self) -> "_GlobalOnly":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def flop_counter() -> Any:
    """FlopCounterMode without its per-module tracking, whose backward hooks break the
    ``autograd.grad(create_graph=True)`` of ACT's R1 penalty."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    return counter


def _batch(dataset: Any, n: int, seed: int):
    idx = torch.randint(len(dataset), (n,), generator=torch.Generator().manual_seed(seed))
    return dataset.get_batch(idx)


@dataclass
class PreparedStep:
    """One method ready to train on one fixed batch: the real ``act.train.train_step`` as ``step(k)``."""

    cfg: ExperimentConfig
    device: torch.device
    method: Any
    optimizers: Dict[str, Any]
    scalers: Dict[str, Any]
    x: torch.Tensor
    labels: Optional[torch.Tensor]

    @property
    def images_per_step(self) -> int:
        return int(self.x.shape[0])

    def step(self, k: int) -> None:
        """Training step ``k`` (ACT: an R1 step when ``k % r1_interval == 0``)."""
        tc = self.cfg.train
        train_step(self.method, self.optimizers, self.scalers, self.x, self.labels, k,
                   per_step_generator(tc.seed, k, self.device), self.device, tc.precision,
                   {} if tc.sync == "log" else None)  # sync=log: flags the loop would read at log steps only

    def count_flops(self, k: int) -> int:
        """FLOPs of training step ``k`` (which it runs)."""
        counter = flop_counter()
        with counter:
            self.step(k)
        return int(counter.get_total_flops())


def synthetic_images(cfg: ExperimentConfig, n: int = 256) -> Any:
    """Random images of the shape (and classes) the config's generator preset takes."""
    net = resolve_generator_config(cfg.model.preset, **generator_overrides(cfg.model, cfg.noise))
    if net["kind"] != "unet":
        raise ConfigError(f"--synthetic needs an image preset, one of {list(image_presets())}")
    channels, res, _ = config_data_shape(net)
    return build_dataset("synthetic", resolution=res, channels=channels, n=n,
                         num_classes=int(net.get("num_class_embeds") or 0))


def prepare_step(cfg: ExperimentConfig, synthetic: bool = False, device: Optional[str] = None) -> PreparedStep:
    """``cfg``'s method, optimisers and one batch on the device (``synthetic``: random images of the preset's
    shape), set up as training sets them up (determinism switches, compile)."""
    tc = cfg.train
    dev = resolve_device(device or tc.device)
    apply_determinism(tc)  # the same switches as training, so the cost is that of the real step
    dataset = synthetic_images(cfg) if synthetic else build_data(cfg.data)
    with seeded_global_rng(tc.seed, torch.device("cpu")):
        method = build_method(cfg, tuple(dataset[0][0].shape), int(getattr(dataset, "num_classes", 0)))
    place(method, dev, tc.channels_last)
    optimizers, scalers = build_optimizers(method, tc, dev)
    if tc.compile:
        compile_networks(method)
    x, y = _batch(dataset, tc.batch_size * method.images_per_step_factor, tc.seed)
    labels = y.to(dev) if getattr(dataset, "num_classes", 0) else None
    return PreparedStep(cfg, dev, method, optimizers, scalers, to_layout(x.to(dev), tc.channels_last), labels)


def measure_cost(cfg: ExperimentConfig, steps: int = 10, warmup: int = 3, synthetic: bool = False,
                 device: Optional[str] = None, max_batch: Optional[int] = None) -> Dict[str, Any]:
    """FLOPs of one step and seconds per step of ``cfg``'s method (``synthetic``: random images of the data's shape).

    ``max_batch``: measure at most this batch on this one device and scale FLOPs and seconds linearly to
    ``train.batch_size`` (FLOPs are exactly linear in the batch; seconds are once the device is saturated).
    A multi-GPU recipe's global batch need not fit one GPU to be costed; the result says it was scaled.
    """
    batch = cfg.train.batch_size
    if max_batch is not None and batch > max_batch:
        if max_batch < 2:
            raise ValueError(f"max_batch must be at least 2 (ACT splits its discriminator batch), got {max_batch}")
        small = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, batch_size=max_batch - max_batch % 2))
        result = measure_cost(small, steps, warmup, synthetic, device)
        scale = batch / small.train.batch_size
        result.update({
            "batch_size": batch, "images_per_step": batch * (result["images_per_step"] // small.train.batch_size),
            "flops_per_step": result["flops_per_step"] * scale, "seconds_per_step": result["seconds_per_step"] * scale,
            "flops_detail": {k: v * scale for k, v in result["flops_detail"].items()},
            "measured_batch_size": small.train.batch_size, "scaled_by": scale,
        })
        return result
    tc = cfg.train
    prep = prepare_step(cfg, synthetic, device)
    dev, method, step = prep.device, prep.method, prep.step

    # Step 0 is an R1 step for ACT (step % interval == 0): count FLOPs on a plain step and on an R1 step.
    flops = {label: prep.count_flops(k) for label, k in (("r1_step", 0), ("plain_step", 1))}
    interval = method.regularizer_interval
    mean_flops = flops["plain_step"] if not interval else (flops["r1_step"] + (interval - 1) * flops["plain_step"]) / interval
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t_compile = time.perf_counter()
    for k in range(2, 2 + warmup):
        step(k)
    synchronize(dev)
    warm_s = time.perf_counter() - t_compile
    t0 = time.perf_counter()
    for k in range(2 + warmup, 2 + warmup + steps):
        step(k)
    synchronize(dev)
    sec = (time.perf_counter() - t0) / steps
    return {
        "method": cfg.method.name,
        "preset": cfg.model.preset,
        "discriminator": getattr(cfg.model, "discriminator", None),
        "params": {k: count_parameters(v) for k, v in method.networks.items()},
        "batch_size": tc.batch_size,
        "images_per_step": prep.images_per_step,
        "flops_per_step": mean_flops,
        "flops_detail": flops,
        "seconds_per_step": sec,
        "images_per_second": prep.images_per_step / sec,
        "warmup_seconds": warm_s,
        "timed_steps": steps,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "precision": tc.precision,
        "compile": tc.compile,
        "peak_memory_gib": torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None,
        "synthetic_data": synthetic,
        "measured_batch_size": tc.batch_size,  # below batch_size when scaled (max_batch)
        "scaled_by": 1.0,
    }

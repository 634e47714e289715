"""Per-step training cost of a method on its preset: FLOPs and wall time.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` over one full training
step (every phase's forward and backward, R1 included on an R1 step); wall time is the
mean over timed steps after warm-up, on the real training step function. Matched
compute between methods is then a matter of dividing one budget by these numbers.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, Optional

import torch

from act.config import ExperimentConfig
from act.data import build_dataset
from act.devices import resolve_device
from act.networks import count_parameters
from act.registry import build_method
from act.rng import per_step_generator, seeded_global_rng
from act.train import apply_determinism, build_data, build_optimizers, compile_networks, train_step


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
    dev = resolve_device(device or tc.device)
    apply_determinism(cfg)  # the same switches as training, so the cost is that of the real step
    if synthetic:
        preset_res = {"tiny": (1, 32), "cifar10": (3, 32), "imagenet64": (3, 64), "lsun256": (3, 256)}
        if cfg.model.preset not in preset_res:
            raise ValueError(f"--synthetic needs an image preset, one of {sorted(preset_res)}")
        channels, res = preset_res[cfg.model.preset]
        classes = 1000 if cfg.model.preset == "imagenet64" else 0
        dataset = build_dataset("synthetic", resolution=res, channels=channels, n=256, num_classes=classes)
    else:
        dataset = build_data(cfg)
    data_shape = tuple(dataset[0][0].shape)
    with seeded_global_rng(tc.seed, torch.device("cpu")):
        method = build_method(cfg, data_shape, int(getattr(dataset, "num_classes", 0)))
    method.to(dev)
    optimizers, scalers = build_optimizers(method, tc, dev)
    if tc.compile:
        compile_networks(method)
    n_images = tc.batch_size * method.images_per_step_factor
    x, y = _batch(dataset, n_images, tc.seed)
    x = x.to(dev)
    labels = y.to(dev) if getattr(dataset, "num_classes", 0) else None

    def step(k: int) -> None:
        train_step(method, optimizers, scalers, x, labels, k, per_step_generator(tc.seed, k, dev), dev, tc.precision)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    # Step 0 is an R1 step for ACT (step % interval == 0): count FLOPs on a plain step and on an R1 step.
    flops = {}
    for label, k in (("r1_step", 0), ("plain_step", 1)):
        counter = flop_counter()
        with counter:
            step(k)
        flops[label] = int(counter.get_total_flops())
    interval = method.regularizer_interval
    mean_flops = flops["plain_step"] if not interval else (flops["r1_step"] + (interval - 1) * flops["plain_step"]) / interval
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t_compile = time.perf_counter()
    for k in range(2, 2 + warmup):
        step(k)
    sync()
    warm_s = time.perf_counter() - t_compile
    t0 = time.perf_counter()
    for k in range(2 + warmup, 2 + warmup + steps):
        step(k)
    sync()
    sec = (time.perf_counter() - t0) / steps
    return {
        "method": cfg.method.name,
        "preset": cfg.model.preset,
        "discriminator": getattr(cfg.model, "discriminator", None),
        "params": {k: count_parameters(v) for k, v in method.networks.items()},
        "batch_size": tc.batch_size,
        "images_per_step": n_images,
        "flops_per_step": mean_flops,
        "flops_detail": flops,
        "seconds_per_step": sec,
        "images_per_second": n_images / sec,
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

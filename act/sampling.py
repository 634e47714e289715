"""Samplers of consistency models, one signature: ``sampler(model, x, sigmas, *, labels, noise, callback, disable)``.

``x`` is the initial state sigmas[0] * z; ``noise(k)`` gives the k-th fresh draw
(k >= 1) for every image of the batch. Image i always takes its noise from seed
i alone (EDM's rule), so a sample set never depends on batch size or device count.
Multistep sampling is Consistency Models' Alg. 1.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from act.config import check_choice
from act.metrics.protocol import DEFAULT_QUANTIZATION, QUANTIZATIONS
from act.rng import LABEL_DRAW, image_generator

Noise = Callable[[int], torch.Tensor]


class ImageNoise:
    """Draw k of image i comes from a generator seeded by (seed_i, k) alone."""

    def __init__(self, seeds: Sequence[int], shape: Sequence[int], device: torch.device, dtype: torch.dtype = torch.float32):
        self.seeds, self.shape, self.device, self.dtype = [int(s) for s in seeds], tuple(shape), device, dtype

    def generator(self, seed: int, draw: int) -> torch.Generator:
        return image_generator(seed, draw)

    def __call__(self, draw: int) -> torch.Tensor:
        z = torch.stack([torch.randn(self.shape, generator=self.generator(s, draw)) for s in self.seeds])
        return z.to(device=self.device, dtype=self.dtype)  # (B, *shape)

    def labels(self, num_classes: int) -> torch.Tensor:
        """Class label of each image, also a function of its seed alone."""
        out = [int(torch.randint(num_classes, (1,), generator=self.generator(s, LABEL_DRAW))) for s in self.seeds]
        return torch.tensor(out, device=self.device)


@torch.no_grad()
def sample_onestep(model: nn.Module, x: torch.Tensor, sigmas: Sequence[float], *, labels=None, noise: Optional[Noise] = None,
                   callback=None, disable: bool = True) -> torch.Tensor:
    """One-step generation: f(sigma_max z, sigma_max)."""
    if len(sigmas) != 1:
        raise ValueError(f"one-step sampling takes one sigma, got {list(sigmas)}")
    out = model(x, torch.full((x.shape[0],), float(sigmas[0]), device=x.device), labels)
    if callback is not None:
        callback({"i": 0, "sigma": float(sigmas[0]), "denoised": out})
    return out


@torch.no_grad()
def sample_multistep(model: nn.Module, x: torch.Tensor, sigmas: Sequence[float], *, labels=None, noise: Optional[Noise] = None,
                     callback=None, disable: bool = True, clip: bool = True) -> torch.Tensor:
    """Consistency Models Alg. 1: x0 = f(x, s_0); for s in sigmas[1:]: x = x0 + sqrt(s^2 - eps^2) z, x0 = f(x, s)."""
    if noise is None and len(sigmas) > 1:
        raise ValueError("multistep sampling needs a noise source for its fresh draws")
    eps = float(getattr(model, "sigma_min", 0.002))
    x0 = None
    for k, s in enumerate(tqdm(sigmas, disable=disable, desc="steps")):
        if k > 0:
            x = x0 + math.sqrt(max(float(s) ** 2 - eps**2, 0.0)) * noise(k)
        x0 = model(x, torch.full((x.shape[0],), float(s), device=x.device), labels)
        if clip and x0.ndim == 4:
            x0 = x0.clamp(-1.0, 1.0)
        if callback is not None:
            callback({"i": k, "sigma": float(s), "denoised": x0})
    return x0


def get_sampler(sigmas: Sequence[float]) -> Callable:
    return sample_onestep if len(sigmas) == 1 else sample_multistep


def generate(model: nn.Module, num: int, shape: Sequence[int], sigmas: Sequence[float], *, seed: int = 0,
             batch_size: int = 250, device: torch.device = torch.device("cpu"), num_classes: int = 0,
             progress: bool = True) -> tuple:
    """``num`` samples (float, model space) and their labels; image i from seed ``seed + i``."""
    sampler = get_sampler(sigmas)
    outs, labs = [], []
    for start in tqdm(range(0, num, batch_size), disable=not progress, desc="sample"):
        seeds = range(seed + start, seed + min(start + batch_size, num))
        noise = ImageNoise(seeds, shape, device)
        labels = noise.labels(num_classes) if num_classes else None
        x = float(sigmas[0]) * noise(0)
        outs.append(sampler(model, x, sigmas, labels=labels, noise=noise).float().cpu())
        if labels is not None:
            labs.append(labels.cpu())
    return torch.cat(outs), (torch.cat(labs) if labs else None)


def to_uint8(x: torch.Tensor, quantize: str = DEFAULT_QUANTIZATION) -> np.ndarray:
    """[-1, 1] images (B, C, H, W) -> uint8 (B, H, W, C): ``truncate`` (the official FID paths of ACT and
    CM: (x + 1) * 127.5 cast down) or ``round`` to nearest (docs/METHOD.md s.6)."""
    check_choice("quantisation", quantize, QUANTIZATIONS)
    v = (x.clamp(-1, 1) + 1) * 127.5
    if quantize == "round":
        v = v.round()
    return v.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

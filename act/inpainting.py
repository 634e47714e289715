"""Zero-shot inpainting with a consistency model: Consistency Models' Alg. 4.

From x ~ N(0, T^2 I), for each sigma of a decreasing list: x0 = clip(f(x, sigma)),
x0 = m y + (1 - m) x0 (m = 1 on known pixels), then x = x0 + sqrt(sigma_next^2 - eps^2) z.
Known pixels of the result equal y exactly. Masks: centre box, left half, random strokes.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import nn

from act.sampling import Noise

MASKS = ("center", "left", "strokes")


def make_mask(kind: str, num: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """(num, 1, H, W) float mask, 1 on known pixels, 0 on the pixels to fill."""
    m = torch.ones(num, 1, height, width)
    if kind == "center":
        m[:, :, height // 4 : height - height // 4, width // 4 : width - width // 4] = 0
    elif kind == "left":
        m[:, :, :, : width // 2] = 0
    elif kind == "strokes":
        g = torch.Generator().manual_seed(seed)
        yy, xx = torch.meshgrid(torch.arange(height).float(), torch.arange(width).float(), indexing="ij")
        thickness = max(1.0, width / 16)
        for i in range(num):
            for _ in range(4):  # four random thick line segments per image
                p0 = torch.rand(2, generator=g) * torch.tensor([width, height])
                p1 = torch.rand(2, generator=g) * torch.tensor([width, height])
                d = p1 - p0
                t = (((xx - p0[0]) * d[0] + (yy - p0[1]) * d[1]) / d.pow(2).sum().clamp_min(1e-6)).clamp(0, 1)
                dist = torch.sqrt((xx - p0[0] - t * d[0]) ** 2 + (yy - p0[1] - t * d[1]) ** 2)
                m[i, 0][dist <= thickness] = 0
    else:
        raise ValueError(f"unknown mask {kind!r}; choose from {MASKS}")
    return m


@torch.no_grad()
def sample_inpaint(model: nn.Module, x: torch.Tensor, sigmas: Sequence[float], *, labels=None, noise: Optional[Noise] = None,
                   callback=None, disable: bool = True, known: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Consistency Models' Alg. 4; ``known`` in [-1, 1], ``mask`` 1 where known."""
    eps = float(getattr(model, "sigma_min", 0.002))
    x0 = x
    for k, s in enumerate(sigmas):
        x0 = model(x, torch.full((x.shape[0],), float(s), device=x.device), labels).clamp(-1.0, 1.0)
        x0 = mask * known + (1 - mask) * x0
        if callback is not None:
            callback({"i": k, "sigma": float(s), "denoised": x0})
        if k + 1 < len(sigmas):
            x = x0 + math.sqrt(max(float(sigmas[k + 1]) ** 2 - eps**2, 0.0)) * noise(k + 1)
    return x0


def psnr_filled(result: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """PSNR (dB, images in [-1, 1] mapped to [0, 1]) over the filled pixels of each image, shape (B,)."""
    hole = (1 - mask).expand_as(result)
    se = (((result - truth) / 2) ** 2 * hole).flatten(1).sum(1)
    mse = se / hole.flatten(1).sum(1).clamp_min(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-12))


def trivial_fill(truth: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The baseline an inpainter must beat: every hole pixel set to its image's per-channel mean of the known
    pixels (``mask`` = 1 on known pixels), known pixels kept."""
    known = mask.expand_as(truth)
    mean = (truth * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True).clamp_min(1)  # (B, C, 1, 1)
    return known * truth + (1 - known) * mean

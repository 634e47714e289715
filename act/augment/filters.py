"""Resampling filters for ACT-Aug's "official" geometric stage, in pure PyTorch.

The official ACT code (``augmentation.py``, functions ``random_apply_affine`` and
``upfirdn2d_native``; the same code as rosinality/stylegan2-pytorch ``non_leaking.py``,
itself modelled on ADA's augmentation pipeline) resamples every image through a
2x-supersampled grid with a wavelet low-pass filter:

1. reflect-pad the image (``F.pad(mode="reflect")``: reflection about the edge pixel
   centres) by a margin covering every transformed image corner of the *whole batch*
   plus twice a quarter of the filter length, clamped to ``size - 1``;
2. upsample by 2 along x, then along y (zero insertion and convolution with the filter);
3. one bilinear ``grid_sample`` (zeros outside, ``align_corners=False``) onto a 2x canvas
   of the image size plus that quarter-length margin on each side;
4. downsample by 2 along x, then along y (convolution with the reversed filter), which
   also crops the margin.

The filter is the raw sym6 scaling filter (sum sqrt(2)); upsampling then has a DC gain
of 1/sqrt(2) per axis and downsampling sqrt(2), so the chain keeps the mean. Because the
filter is orthonormal at even shifts, steps 2-4 with an identity matrix (or an integer
translation) reproduce the image up to float rounding: the filter changes what the
transforms produce (flips and quarter turns included), not images left untransformed.
(Images under 7 pixels a side are the exception: their padding is clamped to
``size - 1``, the filter reads zeros past it and the border changes, as in the official code.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Tuple

import torch
import torch.nn.functional as F

# Daubechies' least-asymmetric wavelet of order 6 ("symlet 6", sym6): its 12-tap scaling
# (low-pass decomposition) filter, as PyWavelets' ``pywt.Wavelet("sym6").dec_lo``, and as
# listed in ADA's ``wavelets`` table and the official ACT ``augmentation.py`` (``SYM6``).
# Sum sqrt(2); sum_m h[m] h[m + 2k] = 1 if k == 0 else 0 (checked in tests/test_augment.py).
SYM6 = (
    0.015404109327027373,
    0.0034907120842174702,
    -0.11799011114819057,
    -0.048311742585633,
    0.4910559419267466,
    0.787641141030194,
    0.3379294217276218,
    -0.07263752278646252,
    -0.021060292512300564,
    0.04472490177066578,
    0.0017677118642428036,
    -0.007800708325034148,
)


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    a, b = v
    return int(a), int(b)


def upfirdn2d(
    x: torch.Tensor,
    kernel: torch.Tensor,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    pad: Sequence[int] = (0, 0, 0, 0),
) -> torch.Tensor:
    """Upsample, pad, FIR-filter and downsample each channel of ``x`` (B, C, H, W).

    ``up`` and ``down`` are factors, an int or ``(x, y)``. Upsampling inserts ``up - 1``
    zeros after every sample; ``pad`` = ``(x0, x1, y0, y1)`` (or ``(a, b)`` for both axes)
    then adds zeros (positive) or crops (negative) at the four sides; the result is
    convolved (a true convolution, i.e. with the kernel reversed relative to
    ``F.conv2d``'s correlation) with the 2-D ``kernel`` (kh, kw) over the valid region
    only, and every ``down``-th sample is kept, starting with the first. Output size
    along x: ``(W * up_x + x0 + x1 - kw) // down_x + 1``. Differentiable in ``x``.
    """
    if x.ndim != 4 or kernel.ndim != 2:
        raise ValueError(f"need x (B, C, H, W) and a 2-D kernel, got {tuple(x.shape)} and {tuple(kernel.shape)}")
    ux, uy = _pair(up)
    dx, dy = _pair(down)
    if len(pad) == 2:
        pad = (pad[0], pad[1], pad[0], pad[1])
    px0, px1, py0, py1 = (int(v) for v in pad)
    b, c, h, w = x.shape
    if ux > 1 or uy > 1:
        spread = x.new_zeros(b, c, h * uy, w * ux)
        spread[:, :, ::uy, ::ux] = x
        x = spread
    x = F.pad(x, [px0, px1, py0, py1])  # negative entries crop
    weight = kernel.to(dtype=x.dtype, device=x.device).flip([0, 1])  # conv2d correlates
    kh, kw = kernel.shape
    return F.conv2d(x, weight.expand(c, 1, kh, kw).contiguous(), stride=(dy, dx), groups=c)  # per channel


def _affine(b: int, sx: float, sy: float, tx: float = 0.0, ty: float = 0.0) -> torch.Tensor:
    m = torch.zeros(b, 3, 3, dtype=torch.float64)
    m[:, 0, 0], m[:, 1, 1], m[:, 0, 2], m[:, 1, 2], m[:, 2, 2] = sx, sy, tx, ty, 1.0
    return m


def grid_theta(g: torch.Tensor, in_hw: Tuple[int, int], out_hw: Tuple[int, int]) -> torch.Tensor:
    """``affine_grid``'s theta (B, 2, 3) float64 of ``g`` (B, 3, 3), output pixel -> input pixel:
    affine_grid and grid_sample (align_corners=False) work in [-1, 1], pixel = normalised * size / 2."""
    (in_h, in_w), (out_h, out_w) = in_hw, out_hw
    b = g.shape[0]
    return (_affine(b, 2 / in_w, 2 / in_h) @ g @ _affine(b, out_w / 2, out_h / 2))[:, :2, :]


def batch_margins(g_inv: torch.Tensor, height: int, width: int, taps: int) -> tuple[int, int, int, int]:
    """Reflect-padding (left, right, top, bottom) for ``g_inv`` (B, 3, 3), shared by the batch.

    Each side: the farthest any transformed image corner reaches past the image centre on
    that side (maximum over the batch), plus twice a quarter of the filter length, minus
    the half size; clamped to [0, size - 1] (reflection needs it) and rounded up.
    """
    cx, cy = (width - 1) / 2, (height - 1) / 2
    corners = torch.tensor([[-cx, -cy, 1.0], [cx, -cy, 1.0], [cx, cy, 1.0], [-cx, cy, 1.0]], dtype=torch.float64)
    reach = g_inv.to(torch.float64) @ corners.T  # (B, 3, 4): where the output corners read from
    xs, ys = reach[:, 0].flatten(), reach[:, 1].flatten()
    extra = 2 * (taps // 4)
    sides = [((-xs).max(), cx, width), (xs.max(), cx, width), ((-ys).max(), cy, height), (ys.max(), cy, height)]
    return tuple(math.ceil(min(max(float(v) + extra - half, 0.0), size - 1.0)) for v, half, size in sides)


def antialiased_warp(x: torch.Tensor, g_inv: torch.Tensor, taps: Sequence[float] = SYM6) -> torch.Tensor:
    """Resample ``x`` (B, C, H, W) at ``g_inv @ output pixel`` the way the official ACT code does.

    ``g_inv`` (B, 3, 3) maps output pixels to input pixels, origin at the image centre,
    x to the right and y down (``act.augment.pipeline.sample_geometric``; the official
    ``G`` after its ``torch.inverse``). Pad by reflection, upsample by 2 with ``taps``,
    bilinear ``grid_sample`` (zeros outside), downsample by 2 with the reversed taps and
    crop; see the module docstring. Returns x's shape and dtype; every sample goes
    through the filter, whatever its matrix.
    """
    b, c, h, w = x.shape
    f = torch.as_tensor(taps, dtype=x.dtype, device=x.device)
    n = f.numel()
    m = n // 4  # margin of the 2x canvas, in input pixels
    left, right, top, bottom = batch_margins(g_inv, h, w, n)
    x = F.pad(x, [left, right, top, bottom], mode="reflect")
    g = _affine(b, 1.0, 1.0, (left - right) / 2, (top - bottom) / 2) @ g_inv.to(torch.float64)

    p0, p1 = (n + 1) // 2, (n - 2) // 2  # upsampling by 2: output sample 2i sits on input i
    x = upfirdn2d(x, f[None, :], up=(2, 1), pad=(p0, p1, 0, 0))
    x = upfirdn2d(x, f[:, None], up=(1, 2), pad=(0, 0, p0, p1))
    # The same map on the 2x grid: scale by 2 about the centre, then shift by half a pixel
    # so that 2x pixel centres stay at the input pixel centres' positions.
    g = _affine(b, 2.0, 2.0) @ g @ _affine(b, 0.5, 0.5)
    g = _affine(b, 1.0, 1.0, -0.5, -0.5) @ g @ _affine(b, 1.0, 1.0, 0.5, 0.5)
    out_h, out_w = 2 * (h + 2 * m), 2 * (w + 2 * m)
    in_h, in_w = x.shape[-2:]
    theta = grid_theta(g, (in_h, in_w), (out_h, out_w))
    grid = F.affine_grid(theta.to(device=x.device, dtype=x.dtype), [b, c, out_h, out_w], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    fr = f.flip(0)
    q0, q1 = -2 * m + (n - 1) // 2, -2 * m + (n - 2) // 2  # downsampling by 2, cropping the margin
    x = upfirdn2d(x, fr[None, :], down=(2, 1), pad=(q0, q1, 0, 0))
    return upfirdn2d(x, fr[:, None], down=(1, 2), pad=(0, 0, q0, q1))

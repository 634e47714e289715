"""Lipschitz estimate of x -> f(x, T): power iteration on the Jacobian (docs/METHOD.md s.5).

The bound of the ACT paper carries a term L * W1(N(0, T^2 I), p_T), L the Lipschitz
constant of f(., T). The largest singular value of the Jacobian J(x) at a point is
found by power iteration on J^T J (Golub & Van Loan, section 8.2); J v and J^T u come
from reverse-mode autograd alone (J v as the gradient of the linear map u -> J^T u),
so any network that back-propagates twice works, on any device. The maximum over
probe points is a lower estimate of the global constant, never an upper bound.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Dict

import torch


def _per_sample_norm(v: torch.Tensor) -> torch.Tensor:
    return v.flatten(1).norm(dim=1).view((-1,) + (1,) * (v.ndim - 1))  # (B, 1, ...)


def _math_attention():
    """The composite attention kernel, which has double-backward formulas (flash attention has none)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # older torch: nothing to select
        return contextlib.nullcontext()
    return sdpa_kernel(SDPBackend.MATH)


def jacobian_spectral_norm(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, iters: int = 30, seed: int = 0
) -> torch.Tensor:
    """Per-sample ||J(x_i)||_2 of ``fn`` at the rows of ``x`` (B,); ``fn`` must act on samples independently.

    A batch is one block-diagonal Jacobian, so one batched power iteration with per-sample
    normalisation runs B independent iterations.
    """
    if iters < 1:
        raise ValueError(f"power iteration needs at least one iteration, got {iters}")
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(x.shape, generator=g, dtype=torch.float64).to(device=x.device, dtype=x.dtype)
    v = v / _per_sample_norm(v)
    with torch.enable_grad(), _math_attention():
        xx = x.detach().clone().requires_grad_(True)
        out = fn(xx)  # (B, ...), one forward for all iterations
        u0 = torch.zeros_like(out, requires_grad=True)
        (jt_u0,) = torch.autograd.grad(out, xx, u0, create_graph=True)  # J^T u0, linear in u0
        for _ in range(iters):
            (jv,) = torch.autograd.grad(jt_u0, u0, v, retain_graph=True)  # J v
            (jtjv,) = torch.autograd.grad(out, xx, jv, retain_graph=True)  # J^T J v
            v = jtjv / _per_sample_norm(jtjv).clamp_min(torch.finfo(x.dtype).tiny)
        (jv,) = torch.autograd.grad(jt_u0, u0, v)
    return jv.detach().flatten(1).norm(dim=1)


def lipschitz_at_T(net: torch.nn.Module, x: torch.Tensor, sigma_max: float, labels=None, iters: int = 30,
                   seed: int = 0) -> Dict[str, float]:
    """Max and mean over the rows of ``x`` of ||d f(x, T) / dx||_2 for a consistency function ``net``."""
    sigma = torch.full((x.shape[0],), float(sigma_max), device=x.device)
    norms = jacobian_spectral_norm(lambda y: net(y, sigma, labels), x, iters=iters, seed=seed)
    return {"lipschitz_max": float(norms.max()), "lipschitz_mean": float(norms.mean()),
            "lipschitz_points": int(norms.numel()), "lipschitz_iters": iters}

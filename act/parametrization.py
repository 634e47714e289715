"""Boundary-condition parametrisation of a consistency function.

Song et al. 2023 (Consistency Models), eq. 7 and Appendix C:
f(x, s) = c_skip(s) x + c_out(s) F(c_in(s) x, c_noise(s)), so that f(x, eps) = x exactly.
The one place where this form lives; training and every sampler call it.
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch
from torch import nn

from act.schedules import SIGMA_DATA, SIGMA_MIN

TIME_INPUTS = ("raw", "log250")


def expand_like(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-sample values (B,) -> (B, 1, 1, 1) for images, (B, 1) for points, to broadcast against ``x``."""
    return v.view((-1,) + (1,) * (x.ndim - 1))


def boundary_scalings(
    sigma: torch.Tensor, sigma_min: float = SIGMA_MIN, sigma_data: float = SIGMA_DATA
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(c_skip, c_out, c_in) at noise level ``sigma``; c_skip(eps) = 1 and c_out(eps) = 0 exactly."""
    sigma = torch.as_tensor(sigma)
    sd2 = sigma_data**2
    c_skip = sd2 / ((sigma - sigma_min) ** 2 + sd2)
    c_out = (sigma - sigma_min) * sigma_data / torch.sqrt(sigma**2 + sd2)
    c_in = 1.0 / torch.sqrt(sigma**2 + sd2)
    return c_skip, c_out, c_in


def time_input(sigma: torch.Tensor, kind: str = "raw") -> torch.Tensor:
    """What the network's time embedding sees: raw sigma (official ACT) or 250 ln(sigma) (Consistency Models' PyTorch code)."""
    if kind == "raw":
        return sigma
    elif kind == "log250":
        return 250.0 * torch.log(sigma)
    else:
        raise ValueError(f"unknown time input {kind!r}; choose from {TIME_INPUTS}")


Backbone = Callable[[torch.Tensor, torch.Tensor, Optional[torch.Tensor]], torch.Tensor]


class ConsistencyFunction(nn.Module):
    """Wraps a backbone F(x_in, c_noise, labels) -> tensor shaped like x into f(x, sigma)."""

    def __init__(
        self,
        backbone: nn.Module,
        sigma_min: float = SIGMA_MIN,
        sigma_data: float = SIGMA_DATA,
        time_input: str = "raw",
    ) -> None:
        super().__init__()
        if time_input not in TIME_INPUTS:
            raise ValueError(f"unknown time input {time_input!r}; choose from {TIME_INPUTS}")
        self.backbone = backbone
        self.sigma_min = float(sigma_min)
        self.sigma_data = float(sigma_data)
        self.time_input = time_input

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, device=x.device)
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        # Scalings in sigma's own precision (at least fp32): sigma - sigma_min is then exactly 0
        # at sigma = eps whether sigma is stored in float32 or float64, so f(x, eps) = x bit-exact.
        s = sigma if sigma.dtype == torch.float64 else sigma.float()
        c_skip, c_out, c_in = boundary_scalings(s, self.sigma_min, self.sigma_data)
        view = (-1,) + (1,) * (x.ndim - 1)  # (B, 1, 1, 1) for images, (B, 1) for 2-D points
        c_skip, c_out, c_in = (c.to(x.dtype).view(view) for c in (c_skip, c_out, c_in))
        c_noise = time_input(sigma.to(torch.float32), self.time_input)
        out = self.backbone(c_in * x, c_noise, labels)  # (B, C, H, W) or (B, D)
        return c_skip * x + c_out * out.to(x.dtype)

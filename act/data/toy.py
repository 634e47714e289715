"""2-D toy distributions for exact Wasserstein measurements.

``gaussian`` (isotropic N(0, sigma_data^2 I): its consistency function is known in closed
form, see ``gaussian_consistency_function``), ``gaussian_mixture`` (8 Gaussians evenly
spaced on a circle), ``two_moons`` and
``swiss_roll`` (the 2-D spiral of scikit-learn's ``make_swiss_roll``, x-z plane).
Each is centred and scaled by one isotropic factor (shapes are not distorted) so
that the RMS per-coordinate standard deviation is ``sigma_data = 0.5``, which puts
the data roughly in [-1, 1]. The centre and scale are properties of the
distribution (quadrature over the clean curve plus the noise variance), never of a
sample, so every sample of one kind lives in the same coordinates.
Samples are a pure function of ``(kind, n, seed)``: draw held-out sets with a
seed different from the training set's.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable, Dict, Optional, Tuple

import torch

from act.data.base import ArrayDataset, check_choice
from act.errors import ConfigError
from act.schedules import SIGMA_DATA

NAME = "toy2d"
DEFAULT_N = 50_000
MIXTURE_COMPONENTS = 8
MIXTURE_STD = 0.05  # per-coordinate std of each component, in final units: well-separated modes
MOONS_NOISE = 0.1  # sklearn's make_moons noise, in its natural units (moon radius 1)
ROLL_NOISE = 0.5  # sklearn's make_swiss_roll noise, in natural units (spiral radius up to 4.5 pi)
QUADRATURE_POINTS = 200_001  # midpoint rule; moments far more precise than any sample estimate


def _moons_curve(u: torch.Tensor) -> torch.Tensor:
    """u in [0, 2): [0, 1) the upper moon, [1, 2) the lower one (sklearn.datasets.make_moons)."""
    upper = u < 1
    t = math.pi * torch.where(upper, u, u - 1)
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    return torch.stack([x, y], dim=-1)


def _roll_curve(u: torch.Tensor) -> torch.Tensor:
    """u in [0, 1): t = 1.5 pi (1 + 2u), point t (cos t, sin t) (sklearn.datasets.make_swiss_roll)."""
    t = 1.5 * math.pi * (1 + 2 * u)
    return torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=-1)


# kind -> (clean curve of a uniform parameter, parameter range, isotropic noise std in natural units)
CURVES: Dict[str, Tuple[Callable[[torch.Tensor], torch.Tensor], float, float]] = {
    "two_moons": (_moons_curve, 2.0, MOONS_NOISE),
    "swiss_roll": (_roll_curve, 1.0, ROLL_NOISE),
}
TOY_KINDS = ("gaussian", "gaussian_mixture", *CURVES)


def gaussian_consistency_function(x: torch.Tensor, sigma: float, sigma_min: float = 0.002) -> torch.Tensor:
    """The exact consistency function of the ``gaussian`` kind: for data N(0, s^2 I) the PF-ODE
    dx/dsigma = (x - E[x0|x]) / sigma is linear, x(sigma) = x(sigma') sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma'^2),
    so f*(x, sigma) = x sqrt(s^2 + sigma_min^2) / sqrt(s^2 + sigma^2) with s = sigma_data."""
    return x * math.sqrt(SIGMA_DATA**2 + sigma_min**2) / math.sqrt(SIGMA_DATA**2 + sigma**2)


@lru_cache(maxsize=None)
def _normalisation(kind: str) -> Tuple[torch.Tensor, float]:
    """(centre, scale) mapping the ``kind`` distribution to mean 0 and RMS coordinate std sigma_data."""
    curve, span, noise = CURVES[kind]
    u = (torch.arange(QUADRATURE_POINTS, dtype=torch.float64) + 0.5) / QUADRATURE_POINTS * span  # midpoint rule
    points = curve(u)
    centre = points.mean(dim=0)
    variance = points.var(dim=0, unbiased=False).mean().item() + noise**2
    return centre, SIGMA_DATA / math.sqrt(variance)


def _gaussian_mixture(n: int, gen: torch.Generator) -> torch.Tensor:
    # Radius chosen so that the per-coordinate variance r^2 / 2 + std^2 equals sigma_data^2.
    radius = math.sqrt(2 * (SIGMA_DATA**2 - MIXTURE_STD**2))
    component = torch.randint(MIXTURE_COMPONENTS, (n,), generator=gen, dtype=torch.int64)
    angle = 2 * math.pi * component.to(torch.float64) / MIXTURE_COMPONENTS
    means = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)
    return means + MIXTURE_STD * torch.randn((n, 2), generator=gen, dtype=torch.float64)


def _curve_sample(kind: str, n: int, gen: torch.Generator) -> torch.Tensor:
    curve, span, noise = CURVES[kind]
    u = torch.rand((n,), generator=gen, dtype=torch.float64) * span
    points = curve(u) + noise * torch.randn((n, 2), generator=gen, dtype=torch.float64)
    centre, scale = _normalisation(kind)
    return (points - centre) * scale


def sample_toy(kind: str, n: int, seed: int) -> torch.Tensor:
    """``n`` points (n, 2) float32 of the ``kind`` distribution; the same for the same seed."""
    check_choice(NAME, "kind", kind, TOY_KINDS)
    if n < 0:
        raise ConfigError(f"{NAME}: n must be non-negative, got {n}")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    if kind == "gaussian":
        points = SIGMA_DATA * torch.randn((n, 2), generator=gen, dtype=torch.float64)
    elif kind == "gaussian_mixture":
        points = _gaussian_mixture(n, gen)
    elif kind in CURVES:
        points = _curve_sample(kind, n, gen)
    else:
        raise ConfigError(f"{NAME}: unknown kind {kind!r}; choose from {TOY_KINDS}")
    return points.to(torch.float32)  # (n, 2)


def load_toy2d(
    root: Optional[str] = None,
    split: str = "train",
    resolution: Optional[int] = None,
    kind: Optional[str] = None,
    n: int = DEFAULT_N,
    seed: int = 0,
    download: bool = False,
) -> ArrayDataset:
    """A fixed, in-memory sample of a toy distribution: items ((2,) float32, -1).

    ``download`` is accepted (and ignored) so every loader takes the same keywords.
    """
    if kind is None:
        raise ConfigError(f"{NAME}: name a kind, as 'toy2d:<kind>' or kind=...; choose from {TOY_KINDS}")
    if root is not None or resolution is not None:
        raise ConfigError(f"{NAME}: toy data take no root or resolution (got {root!r}, {resolution!r})")
    check_choice(NAME, "split", split, ("train",))  # other splits: another seed, see sample_toy
    points = sample_toy(kind, n, seed).numpy()
    return ArrayDataset(points, None, name=f"{NAME}:{kind}", channels=2, resolution=None, num_classes=0)

"""Noise grids and training curricula of consistency training.

Karras et al. 2022 (EDM) eq. 5 for the grid; Song et al. 2023 (Consistency Models,
CT, Alg. 3 and Appendix C) for N(k) and mu(k); Song & Dhariwal 2023 (iCT, Sec. 3.3-3.5)
for the doubling curriculum, the lognormal index distribution and the weighting.
All functions are pure functions of training progress; time arithmetic is float64.
"""

from __future__ import annotations

import math

import torch

from act.config import CT_CURRICULA, EMA_SCHEDULES

SIGMA_MIN = 0.002
SIGMA_MAX = 80.0
SIGMA_DATA = 0.5
RHO = 7.0



def karras_sigmas(
    n: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX, rho: float = RHO
) -> torch.Tensor:
    """Karras grid of ``n`` noise levels, increasing: sigma_0 = sigma_min, sigma_{n-1} = sigma_max (float64)."""
    if n < 2:
        raise ValueError(f"a Karras grid needs at least 2 points, got n={n}")
    if not 0 < sigma_min < sigma_max:
        raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (lo + ramp * (hi - lo)) ** rho
    sigmas[0], sigmas[-1] = sigma_min, sigma_max  # exact end points despite pow round-off
    return sigmas


def _check_progress(step: int, total_steps: int) -> None:
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    if step < 0:
        raise ValueError(f"step must be non-negative, got {step}")


def ct_num_scales(step: int, total_steps: int, s0: int, s1: int, variant: str = "cm") -> int:
    """CT discretisation curriculum N(k) (docs/METHOD.md s.2), named for whose code runs it.

    ``cm`` (Consistency Models, Appendix C and its code): ``ceil(sqrt(k/K ((s1+1)^2 - s0^2) + s0^2) - 1) + 1``.
    ``act`` (the official ACT code): ``round(sqrt(k/K (s1^2 - s0^2) + s0^2))``.
    """
    _check_progress(step, total_steps)
    frac = min(step / total_steps, 1.0)
    if variant == "act":
        return int(round(math.sqrt(frac * (s1**2 - s0**2) + s0**2)))
    elif variant == "cm":
        return int(math.ceil(math.sqrt(frac * ((s1 + 1) ** 2 - s0**2) + s0**2) - 1)) + 1
    else:
        raise ValueError(f"unknown CT curriculum {variant!r}; choose from {CT_CURRICULA}")


def ct_ema_decay(num_scales: int, s0: int, mu0: float, variant: str = "official") -> float:
    """Target-network EMA decay mu(k) of CT.

    ``official`` (both official codes): ``exp(s0 ln(mu0) / (N - 1))``.
    ``paper`` (Consistency Models, Appendix C): ``exp(s0 ln(mu0) / N)``.
    """
    if not 0 < mu0 < 1:
        raise ValueError(f"mu0 must lie in (0, 1), got {mu0}")
    if variant == "official":
        denom = num_scales - 1
    elif variant == "paper":
        denom = num_scales
    else:
        raise ValueError(f"unknown CT EMA variant {variant!r}; choose from {EMA_SCHEDULES}")
    if denom <= 0:
        raise ValueError(f"num_scales={num_scales} too small for the {variant} EMA schedule")
    return math.exp(s0 * math.log(mu0) / denom)


def ict_num_scales(step: int, total_steps: int, s0: int = 10, s1: int = 1280) -> int:
    """iCT doubling curriculum: ``min(s0 2^floor(k/K'), s1) + 1``, ``K' = floor(K / (log2 floor(s1/s0) + 1))``."""
    _check_progress(step, total_steps)
    k_prime = math.floor(total_steps / (math.log2(math.floor(s1 / s0)) + 1))
    k_prime = max(k_prime, 1)
    return min(s0 * 2 ** (step // k_prime), s1) + 1


def ict_index_probs(sigmas: torch.Tensor, p_mean: float = -1.1, p_std: float = 2.0) -> torch.Tensor:
    """iCT discrete lognormal over grid intervals: p(i) ∝ erf((ln s_{i+1}-Pm)/(√2 Ps)) - erf((ln s_i-Pm)/(√2 Ps)).

    Returns ``len(sigmas) - 1`` probabilities (float64) for the pairs (sigma_i, sigma_{i+1}).
    """
    log_s = torch.log(sigmas.to(torch.float64))
    cdf = torch.erf((log_s - p_mean) / (math.sqrt(2.0) * p_std))
    mass = cdf[1:] - cdf[:-1]
    return mass / mass.sum()


def ict_weights(sigmas: torch.Tensor) -> torch.Tensor:
    """iCT loss weight lambda(sigma_i) = 1 / (sigma_{i+1} - sigma_i), one per grid interval (float64)."""
    sigmas = sigmas.to(torch.float64)
    return 1.0 / (sigmas[1:] - sigmas[:-1])

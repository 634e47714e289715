"""The consistency-training objective shared by CT, iCT and ACT's generator.

Song et al. 2023 (Consistency Models, Alg. 3) and Song & Dhariwal 2023 (iCT):
draw an adjacent pair (sigma_lo, sigma_hi) on the Karras grid and one noise z;
loss = w(sigma_lo) d(f_theta(x0 + sigma_hi z, sigma_hi), sg f_target(x0 + sigma_lo z, sigma_lo)).
CT draws the upper index uniformly from {1..N-1} with w = 1; iCT draws the lower
index from a discrete lognormal with w = 1 / (sigma_hi - sigma_lo).
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import torch
from torch import nn

from act.config import INDEX_SAMPLINGS, WEIGHTINGS, check_choice
from act.parametrization import expand_like
from act.rng import draw_seed, seeded_global_rng
from act.schedules import ict_index_probs, ict_weights, karras_sigmas


class ConsistencyTerms(NamedTuple):
    loss: torch.Tensor  # (B,) weighted distance
    student: torch.Tensor  # f_theta(x0 + sigma_hi z, sigma_hi), with grad
    sigma: torch.Tensor  # (B,) sigma_hi, the student's noise level
    index: torch.Tensor  # (B,) grid index of sigma_hi


class ConsistencyLoss:
    """Consistency-training loss; holds only its hyperparameters."""

    def __init__(
        self,
        distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        sigma_min: float,
        sigma_max: float,
        rho: float,
        index_sampling: str = "uniform",
        weighting: str = "uniform",
        p_mean: float = -1.1,
        p_std: float = 2.0,
        clip_target: bool = False,
    ) -> None:
        check_choice("index sampling", index_sampling, INDEX_SAMPLINGS)
        check_choice("weighting", weighting, WEIGHTINGS)
        self.distance = distance
        self.sigma_min, self.sigma_max, self.rho = sigma_min, sigma_max, rho
        self.index_sampling, self.weighting = index_sampling, weighting
        self.p_mean, self.p_std = p_mean, p_std
        self.clip_target = clip_target

    def sample_lower_index(self, sigmas: torch.Tensor, batch: int, generator: torch.Generator) -> torch.Tensor:
        """Index of sigma_lo for each sample, in {0..N-2}."""
        n = sigmas.shape[0]
        device = generator.device
        if self.index_sampling == "uniform":
            return torch.randint(0, n - 1, (batch,), generator=generator, device=device)
        elif self.index_sampling == "lognormal":
            probs = ict_index_probs(sigmas, self.p_mean, self.p_std).to(device=device, dtype=torch.float32)
            return torch.multinomial(probs, batch, replacement=True, generator=generator)
        else:
            raise ValueError(self.index_sampling)

    def terms(
        self,
        net: nn.Module,
        target: nn.Module,
        x0: torch.Tensor,
        labels: Optional[torch.Tensor] = None,
        *,
        num_scales: int,
        generator: torch.Generator,
    ) -> ConsistencyTerms:
        device = x0.device
        sigmas64 = karras_sigmas(num_scales, self.sigma_min, self.sigma_max, self.rho)  # (N,) float64, CPU
        lo = self.sample_lower_index(sigmas64, x0.shape[0], generator).to(device)  # (B,)
        z = torch.randn(x0.shape, generator=generator, device=generator.device, dtype=x0.dtype).to(device)
        dropout_seed = draw_seed(generator)
        sigmas = sigmas64.to(device=device, dtype=torch.float32)
        s_lo, s_hi = sigmas[lo], sigmas[lo + 1]  # (B,)
        with seeded_global_rng(dropout_seed, device):  # one dropout mask for both passes
            student = net(x0 + expand_like(s_hi, x0) * z, s_hi, labels)
        with torch.no_grad(), seeded_global_rng(dropout_seed, device):
            tgt = target(x0 + expand_like(s_lo, x0) * z, s_lo, labels)
        if self.clip_target and x0.ndim == 4:  # images live in [-1, 1]; 2-D toy points do not
            tgt = tgt.clamp(-1.0, 1.0)
        loss = self.distance(student, tgt.detach())  # (B,)
        if self.weighting == "ict":
            loss = loss * ict_weights(sigmas64).to(device=device, dtype=loss.dtype)[lo]
        return ConsistencyTerms(loss=loss, student=student, sigma=s_hi, index=lo + 1)

    def __call__(self, net, target, x0, labels=None, *, num_scales: int, generator: torch.Generator) -> torch.Tensor:
        return self.terms(net, target, x0, labels, num_scales=num_scales, generator=generator).loss

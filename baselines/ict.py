"""Improved Consistency Training (iCT), Song & Dhariwal 2023.

Pseudo-Huber distance with c = 0.00054 sqrt(d); weight 1 / (sigma_{i+1} - sigma_i);
discrete lognormal index sampling (P_mean = -1.1, P_std = 2.0); doubling curriculum
N(k) = min(s0 2^floor(k/K'), s1) + 1; the target is the online network under
stop-gradient (no EMA teacher); an EMA is kept for sampling. No official code
exists: everything here follows the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

from torch import nn

from act.ema import ema_copy
from act.schedules import ict_num_scales
from baselines.ct import CTMethod


@dataclass
class ICTConfig:
    name: str = "ict"
    s0: int = 10  # initial N - 1
    s1: int = 1280  # final N - 1
    p_mean: float = -1.1  # lognormal index distribution
    p_std: float = 2.0
    distance: str = "pseudo_huber"
    huber_c: Optional[float] = None  # None derives 0.00054 sqrt(d)
    lpips_weights: Optional[str] = None
    eval_ema: float = 0.99993  # the iCT paper's sampling EMA
    clip_target: bool = False


class ICTMethod(CTMethod):
    index_sampling = "lognormal"
    weighting = "ict"

    def _loss_kwargs(self) -> Dict[str, Any]:
        return {"p_mean": self.mcfg.p_mean, "p_std": self.mcfg.p_std}

    def _add_averages(self) -> None:
        self.averaged["eval_ema"] = ema_copy(self.networks["generator"])

    def num_scales(self, step: int) -> int:
        return ict_num_scales(step, self.total_steps, self.mcfg.s0, self.mcfg.s1)

    def target_network(self) -> nn.Module:
        return self.networks["generator"]  # stop-gradient of the online network

    def after_update(self, phase: str, step: int) -> None:
        from act.ema import ema_update

        if phase == "generator":
            ema_update(self.averaged["eval_ema"], self.networks["generator"], self.mcfg.eval_ema)

    def scalars(self, step: int) -> Dict[str, float]:
        return {"num_scales": self.num_scales(step)}

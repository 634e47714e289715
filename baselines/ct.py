"""Consistency Training (CT), Song et al. 2023 "Consistency Models", Alg. 3.

Target network updated by EMA with mu(k); curriculum N(k); one noise z and one
dropout mask for the student and target passes; no clipping by default. The
official-code curricula are the defaults, the paper's an option (METHOD.md s.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from act.consistency import ConsistencyLoss
from act.distances import build_distance
from act.ema import ema_copy, ema_update
from act.methods import Method, generator_overrides
from act.schedules import ct_ema_decay, ct_num_scales


@dataclass
class CTConfig:
    name: str = "ct"
    s0: int = 2  # initial number of discretisation points N(0)
    s1: int = 150  # final N (CIFAR-10, LSUN; 200 for ImageNet-64)
    mu0: float = 0.9  # target EMA at N = s0 (0.95 for ImageNet-64/LSUN)
    curriculum: str = "official"  # N(k): "official" round(...) of the ACT code, or "paper"
    ema_schedule: str = "official"  # mu(k): "official" divides by N-1, "paper" by N
    distance: str = "lpips"  # the paper's; needs VGG-16 weights (see act.distances)
    huber_c: Optional[float] = None  # pseudo-Huber c; None derives 0.00054 sqrt(d)
    lpips_weights: Optional[str] = None  # local VGG-16 file for LPIPS
    eval_ema: Optional[float] = None  # separate evaluation EMA (CM paper: 0.9999); None samples the target
    clip_target: bool = False  # CM clips neither output


class CTMethod(Method):
    """CT: one generator, a target EMA, optionally an evaluation EMA."""

    index_sampling = "uniform"
    weighting = "uniform"

    def __init__(self, cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__()
        from act.networks import build_generator

        self.cfg = cfg
        self.mcfg = cfg.method
        self.total_steps = cfg.train.steps
        self.networks["generator"] = build_generator(cfg.model.preset, **generator_overrides(cfg))
        self._add_averages()
        self.distance = build_distance(
            self.mcfg.distance, data_shape, huber_c=self.mcfg.huber_c, lpips_weights=self.mcfg.lpips_weights
        )
        self.consistency = ConsistencyLoss(
            self.distance,
            cfg.noise.sigma_min,
            cfg.noise.sigma_max,
            cfg.noise.rho,
            index_sampling=self.index_sampling,
            weighting=self.weighting,
            clip_target=self.mcfg.clip_target,
            **self._loss_kwargs(),
        )

    def _loss_kwargs(self) -> Dict[str, Any]:
        return {}

    def _add_averages(self) -> None:
        self.averaged["target"] = ema_copy(self.networks["generator"])
        if self.mcfg.eval_ema is not None:
            self.averaged["eval_ema"] = ema_copy(self.networks["generator"])

    def to(self, device: torch.device) -> "CTMethod":
        super().to(device)
        if isinstance(self.distance, nn.Module):
            self.distance.to(device)
        return self

    def num_scales(self, step: int) -> int:
        return ct_num_scales(step, self.total_steps, self.mcfg.s0, self.mcfg.s1, self.mcfg.curriculum)

    def target_decay(self, step: int) -> float:
        return ct_ema_decay(self.num_scales(step), self.mcfg.s0, self.mcfg.mu0, self.mcfg.ema_schedule)

    def target_network(self) -> nn.Module:
        return self.averaged["target"]

    def loss(self, phase, x, labels, *, step, generator):
        if phase != "generator":
            raise ValueError(f"{type(self).__name__} has no phase {phase!r}")
        loss = self.consistency(
            self.networks["generator"], self.target_network(), x, labels,
            num_scales=self.num_scales(step), generator=generator,
        )
        return loss, {"loss_ct": float(loss.detach().mean())}

    def after_update(self, phase: str, step: int) -> None:
        if phase != "generator":
            return
        gen = self.networks["generator"]
        ema_update(self.averaged["target"], gen, self.target_decay(step))
        if "eval_ema" in self.averaged:
            ema_update(self.averaged["eval_ema"], gen, self.mcfg.eval_ema)

    def scalars(self, step: int) -> Dict[str, float]:
        return {"num_scales": self.num_scales(step), "ema_decay": self.target_decay(step)}

    def sampling_network(self) -> nn.Module:
        return self.averaged["eval_ema"] if "eval_ema" in self.averaged else self.averaged["target"]

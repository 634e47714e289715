"""Consistency training, CT and iCT alike: one method, two configurations (docs/METHOD.md s.2-3).

CT (Song et al. 2023, "Consistency Models", Alg. 3): an EMA teacher updated with mu(k),
curriculum N(k), the upper grid index uniform, weight 1, LPIPS. iCT (Song & Dhariwal
2023): the student under stop-gradient as teacher, the doubling curriculum, discrete
lognormal indices, weight 1 / (sigma_hi - sigma_lo), pseudo-Huber, an EMA for sampling.
The fields of ``act.config.CTConfig`` choose among these (``ICTConfig`` holds iCT's
values); one noise z and one dropout mask serve the student and teacher passes.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import torch
from torch import nn

from act.config import generator_overrides
from act.consistency import ConsistencyLoss
from act.distances import build_distance
from act.ema import ema_copy, ema_update
from act.method import Method
from act.networks import build_generator
from act.schedules import ct_ema_decay, ct_num_scales, ict_num_scales


class ConsistencyTraining(Method):
    """One generator, its teacher (an EMA copy, or itself) and optionally an evaluation EMA."""

    def __init__(self, cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0, world_size: int = 1) -> None:
        super().__init__()
        self.cfg = cfg
        self.mcfg = m = cfg.method
        self.total_steps = cfg.train.steps
        self.networks["generator"] = build_generator(cfg.model.preset, **generator_overrides(cfg))
        if m.target == "ema":
            self.averaged["target"] = ema_copy(self.networks["generator"])
        if m.eval_ema is not None:
            self.averaged["eval_ema"] = ema_copy(self.networks["generator"])
        self.distance = build_distance(m.distance, data_shape, huber_c=m.huber_c, lpips_weights=m.lpips_weights,
                                       lpips_resize=m.lpips_resize, lpips_pooling=m.lpips_pooling)
        self.consistency = ConsistencyLoss(
            self.distance, cfg.noise.sigma_min, cfg.noise.sigma_max, cfg.noise.rho,
            index_sampling=m.index_sampling, weighting=m.weighting, p_mean=m.p_mean, p_std=m.p_std,
            clip_target=m.clip_target,
        )

    def to(self, device: torch.device) -> "ConsistencyTraining":
        super().to(device)
        if isinstance(self.distance, nn.Module):
            self.distance.to(device)
        return self

    def num_scales(self, step: int) -> int:
        m = self.mcfg
        if m.curriculum == "doubling":
            return ict_num_scales(step, self.total_steps, m.s0, m.s1)
        return ct_num_scales(step, self.total_steps, m.s0, m.s1, m.curriculum)

    def target_decay(self, step: int) -> float:
        return ct_ema_decay(self.num_scales(step), self.mcfg.s0, self.mcfg.mu0, self.mcfg.ema_schedule)

    def target_network(self) -> nn.Module:
        # iCT's online teacher: the student itself, whose output the loss takes under no_grad (stop-gradient)
        return self.averaged["target"] if self.mcfg.target == "ema" else self.networks["generator"]

    def loss(self, phase, x, labels, *, step, generator):
        if phase != "generator":
            raise ValueError(f"{type(self).__name__} has no phase {phase!r}")
        loss = self.consistency(
            self.networks["generator"], self.target_network(), x, labels,
            num_scales=self.num_scales(step), generator=generator,
        )
        return loss, {"loss_ct": loss.detach().mean()}  # a device tensor: no host sync

    def after_update(self, phase: str, step: int) -> None:
        if phase != "generator":
            return None
        gen = self.networks["generator"]
        if "target" in self.averaged:
            ema_update(self.averaged["target"], gen, self.target_decay(step))
        if "eval_ema" in self.averaged:
            ema_update(self.averaged["eval_ema"], gen, self.mcfg.eval_ema)
        return None

    def scalars(self, step: int) -> Dict[str, float]:
        out: Dict[str, float] = {"num_scales": self.num_scales(step)}
        if self.mcfg.target == "ema":
            out["ema_decay"] = self.target_decay(step)
        return out

    def sampling_network(self) -> nn.Module:
        if "eval_ema" in self.averaged:
            return self.averaged["eval_ema"]
        return self.averaged.get("target", self.networks["generator"])

"""Consistency training, CT and iCT alike: one method, two configurations (docs/METHOD.md s.2-3).

CT (Song et al. 2023, "Consistency Models", Alg. 3): an EMA teacher updated with mu(k),
curriculum N(k), the upper grid index uniform, weight 1, LPIPS. iCT (Song & Dhariwal
2023): the student under stop-gradient as teacher, the doubling curriculum, discrete
lognormal indices, weight 1 / (sigma_hi - sigma_lo), pseudo-Huber, an EMA for sampling.
The fields of ``act.config.CTConfig`` choose among these (``ICTConfig`` holds iCT's
values); one noise z and one dropout mask serve the student and teacher passes.

The method is one phase, "generator": the loss object :class:`CTLoss` and the hook
:class:`AveragedCopies` (the EMA updates). ACT (``act.adversarial``) builds on :func:`consistency_parts`.
"""

from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional, Tuple

import torch
from torch import nn

from act.config import generator_overrides
from act.consistency import ConsistencyLoss, ConsistencyTerms
from act.distances import build_distance
from act.ema import ema_copy, ema_update
from act.method import Method, Phase, Stats
from act.networks import build_generator
from act.schedules import ct_ema_decay, ct_num_scales, ict_num_scales


class Curriculum:
    """N(k), the grid's size at step k, and mu(k), the target EMA's decay (``act.config.CTConfig``)."""

    def __init__(self, m: Any, total_steps: int) -> None:
        self.m, self.total_steps = m, total_steps

    def num_scales(self, step: int) -> int:
        m = self.m
        if m.curriculum == "doubling":
            return ict_num_scales(step, self.total_steps, m.s0, m.s1)
        return ct_num_scales(step, self.total_steps, m.s0, m.s1, m.curriculum)

    def target_decay(self, step: int) -> float:
        return ct_ema_decay(self.num_scales(step), self.m.s0, self.m.mu0, self.m.ema_schedule)

    def scalars(self, step: int) -> Stats:
        """Logged each interval: N(k), and mu(k) when the teacher is an EMA."""
        out: Stats = {"num_scales": self.num_scales(step)}
        if self.m.target == "ema":
            out["ema_decay"] = self.target_decay(step)
        return out


class CTLoss:
    """The CT loss object: the student ``generator`` against its teacher at N(step) scales."""

    def __init__(self, consistency: ConsistencyLoss, curriculum: Curriculum) -> None:
        self.consistency, self.curriculum = consistency, curriculum

    @staticmethod
    def teacher(nets: Dict[str, nn.Module]) -> nn.Module:
        # iCT's online teacher: the student itself, whose output the loss takes under no_grad (stop-gradient)
        return nets["target"] if "target" in nets else nets["generator"]

    def terms(self, nets: Dict[str, nn.Module], x: torch.Tensor, labels: Optional[torch.Tensor], *,
              num_scales: int, generator: torch.Generator) -> ConsistencyTerms:
        return self.consistency.terms(nets["generator"], self.teacher(nets), x, labels, num_scales=num_scales,
                                      generator=generator)

    def __call__(self, nets, x, labels, *, step, generator) -> Tuple[torch.Tensor, Stats]:
        n = self.curriculum.num_scales(step)
        loss = self.terms(nets, x, labels, num_scales=n, generator=generator).loss
        return loss, {"loss_ct": loss.detach().mean()}  # a device tensor: no host sync


class AveragedCopies:
    """The generator phase's hook: the target EMA at mu(k) and the evaluation EMA at its constant decay."""

    def __init__(self, networks: Dict[str, nn.Module], averaged: Dict[str, nn.Module], curriculum: Curriculum,
                 eval_decay: Optional[float]) -> None:
        self.networks, self.averaged, self.curriculum, self.eval_decay = networks, averaged, curriculum, eval_decay

    def __call__(self, step: int, stats: Stats) -> None:
        gen = self.networks["generator"]
        if "target" in self.averaged:
            ema_update(self.averaged["target"], gen, self.curriculum.target_decay(step))
        if "eval_ema" in self.averaged:
            ema_update(self.averaged["eval_ema"], gen, self.eval_decay)


class ConsistencyParts(NamedTuple):
    networks: Dict[str, nn.Module]
    averaged: Dict[str, nn.Module]
    curriculum: Curriculum
    term: CTLoss
    averaging: AveragedCopies
    sampling: str
    modules: list


def consistency_parts(m: Any, model: Any, noise: Any, total_steps: int, data_shape: Tuple[int, ...]) -> ConsistencyParts:
    """The generator (built first: the seeded initial weights), its teacher and evaluation EMA, the curriculum,
    the CT loss object and the EMA hook of a CT, iCT or ACT config, from its ``method``, ``model`` and ``noise``
    sections and ``train.steps`` (the curriculum's length)."""
    networks = {"generator": build_generator(model.preset, **generator_overrides(model, noise))}
    averaged: Dict[str, nn.Module] = {}
    if m.target == "ema":
        averaged["target"] = ema_copy(networks["generator"])
    if m.eval_ema is not None:
        averaged["eval_ema"] = ema_copy(networks["generator"])
    distance = build_distance(m.distance, data_shape, huber_c=m.huber_c, lpips_weights=m.lpips_weights,
                              lpips_resize=m.lpips_resize, lpips_pooling=m.lpips_pooling)
    consistency = ConsistencyLoss(
        distance, noise.sigma_min, noise.sigma_max, noise.rho,
        index_sampling=m.index_sampling, weighting=m.weighting, p_mean=m.p_mean, p_std=m.p_std,
        clip_target=m.clip_target,
    )
    curriculum = Curriculum(m, total_steps)
    # sampled: the evaluation EMA when there is one, else the target, else the generator itself
    sampling = next((k for k in ("eval_ema", "target") if k in averaged), "generator")
    return ConsistencyParts(networks, averaged, curriculum, CTLoss(consistency, curriculum),
                            AveragedCopies(networks, averaged, curriculum, m.eval_ema), sampling,
                            [distance] if isinstance(distance, nn.Module) else [])


def build_consistency(cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0, world_size: int = 1) -> Method:
    """CT or iCT: one phase, the generator, RAdam with the training config's lr and betas."""
    parts = consistency_parts(cfg.method, cfg.model, cfg.noise, cfg.train.steps, data_shape)
    phase = Phase("generator", parts.term, cfg.train.lr, cfg.train.betas, after=parts.averaging)
    return Method(cfg.method.name, parts.networks, parts.averaged, [phase], parts.sampling,
                  scalars=parts.curriculum.scalars, modules=parts.modules)

"""Adversarial Consistency Training (ACT), Kong et al., CVPR 2024 (docs/METHOD.md s.4).

Generator loss ``(1 - lambda_i) L_CT + lambda_i softplus(-D(A(f_theta(x_{sigma_i}, sigma_i)), sigma_i))``;
discriminator loss ``lambda_max E[w_j softplus(D(A(sg fake), sigma_j)) + w_l softplus(-D(A(real), sigma_l))]``
plus lazy R1 ``lambda_max w_l (gamma/2) ||grad_{A(real)} D||^2`` every ``r1_interval`` steps
(not multiplied by the interval, as the official code). ``lambda_i = lambda_max w(i)``: w = 1
(constant, CIFAR-10) or ``w(i) = (i / (N-1)) ^ log_0.5(w_mid / lambda_max)`` (power, ImageNet-64, LSUN).
Each step loads 2B images: B for the generator step, B/2 fakes and B/2 reals for the
discriminator step, which sees the just-updated generator. One EMA: the CT target is
the network that is evaluated (a separate evaluation EMA is an option).

The method (:func:`build_act`) is two phases. "generator": :class:`ACTGeneratorLoss`, which holds
CT's loss object (``baselines.ct.CTLoss``), then CT's EMA hook. "discriminator":
:class:`DiscriminatorLoss`, then :class:`AugmentFeed`, which moves the ACT-Aug controller from the
statistic the loss returns on R1 steps. Both losses augment D's inputs through one :class:`Augment`.
"""

from __future__ import annotations

import contextlib

import math
from typing import Any, Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from act import distributed
from act.augment import AugmentController, ada_augment
from act.config import LAMBDA_SCHEDULES
from act.method import Method, Phase, Stats
from act.networks import build_discriminator
from act.parametrization import expand_like
from act.rng import draw_seed
from act.schedules import karras_sigmas
from baselines.ct import CTLoss, Curriculum, consistency_parts


def lambda_weight(index: torch.Tensor, num_scales: int, schedule: str, lambda_max: float, w_mid: float) -> torch.Tensor:
    """w(i): 1 (constant) or (i / (N-1)) ^ log_0.5(w_mid / lambda_max) (power); lambda_i = lambda_max w(i)."""
    if schedule == "constant":
        return torch.ones_like(index, dtype=torch.float32)
    elif schedule == "power":
        exponent = math.log(w_mid / lambda_max, 0.5)
        return (index.float() / (num_scales - 1)) ** exponent
    else:
        raise ValueError(f"unknown lambda schedule {schedule!r}; choose from {LAMBDA_SCHEDULES}")


def r1_penalty(d_real: torch.Tensor, real_in: torch.Tensor, gamma: float, weight: torch.Tensor) -> torch.Tensor:
    """Per-sample R1 ``(gamma / 2) w ||grad_x D(x)||^2`` at the reals ``real_in`` (which require grad),
    through a graph that the discriminator's backward differentiates again."""
    (grad,) = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
    return (gamma / 2) * weight * grad.float().pow(2).flatten(1).sum(1)  # (B,)


def act_discriminator_spec(model: Any, m: Any) -> Tuple[str, Dict[str, Any]]:
    """(preset, overrides) of an ACT config's discriminator from its ``model`` and ``method`` sections:
    ``model.discriminator`` (default: the generator's preset) with its overrides, the method's time
    conditioning and the generator's time input."""
    overrides = dict(model.discriminator_overrides)
    overrides.setdefault("time_conditioned", m.time_conditioned_discriminator)
    if "time_input" in model.overrides:
        overrides.setdefault("time_input", model.overrides["time_input"])
    return model.discriminator or model.preset, overrides


def build_act_discriminator(model: Any, m: Any) -> nn.Module:
    """The discriminator of an ACT config's ``model`` and ``method`` sections (:func:`act_discriminator_spec`)."""
    preset, overrides = act_discriminator_spec(model, m)
    return build_discriminator(preset, **overrides)


class LambdaWeight:
    """w(i) of a config's lambda schedule (:func:`lambda_weight`); lambda_i = lambda_max w(i)."""

    def __init__(self, m: Any) -> None:
        self.schedule, self.lambda_max, self.w_mid = m.lambda_schedule, m.lambda_max, m.w_mid

    def __call__(self, index: torch.Tensor, num_scales: int) -> torch.Tensor:
        return lambda_weight(index, num_scales, self.schedule, self.lambda_max, self.w_mid)


class Augment:
    """ACT-Aug on D's inputs, reals and fakes alike, at the controller's probability p; every input goes through
    the filtered geometric path, at p = 0 too, as in the official code. Off (the identity, drawing nothing)
    unless ``method.augment`` and images."""

    def __init__(self, m: Any, data_shape: Tuple[int, ...]) -> None:
        self.on = m.augment and len(data_shape) == 3
        self.pipeline = m.augment_pipeline
        self.controller = AugmentController(
            m.augment_threshold if m.augment_mode == "r1_ema" else None, mode=m.augment_mode, interval=m.r1_interval
        )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if not self.on:
            return x
        seed = draw_seed(generator)
        return ada_augment(x, self.controller.p, torch.Generator().manual_seed(seed), transforms=self.pipeline)


class ACTGeneratorLoss:
    """``(1 - lambda_i) L_CT + lambda_i softplus(-D(A(f_theta(x_{sigma_i}, sigma_i)), sigma_i))``, CT's draws shared."""

    def __init__(self, ct: CTLoss, weight: LambdaWeight, augment: Augment) -> None:
        self.ct, self.weight, self.augment = ct, weight, augment

    def __call__(self, nets, x0, labels, *, step, generator) -> Tuple[torch.Tensor, Stats]:
        n = self.ct.curriculum.num_scales(step)
        t = self.ct.terms(nets, x0, labels, num_scales=n, generator=generator)
        lam = (self.weight.lambda_max * self.weight(t.index, n)).to(t.loss.dtype)  # (B,)
        logits = nets["discriminator"](self.augment(t.student, generator), t.sigma, labels)  # (B,)
        adv = F.softplus(-logits.float())
        loss = (1 - lam) * t.loss.float() + lam * adv
        # logged values stay device tensors: the loop reads them at log steps only
        return loss, {"loss_ct": t.loss.detach().float().mean(), "loss_adv": adv.detach().mean(), "lambda": lam.float().mean()}


class DiscriminatorLoss:
    """lambda_max E[w_j softplus(D(A(fake))) + w_l softplus(-D(A(real)))], plus R1 every ``r1_interval`` steps.

    Its slice of the batch: B/2 images to noise and pass through the just-updated online generator (fakes),
    B/2 reals. On R1 steps with augmentation on, the statistic ``_augment_signal`` (the controller's input and
    the images it covers) goes to the phase's hook."""

    def __init__(self, m: Any, noise: Any, curriculum: Curriculum, weight: LambdaWeight, augment: Augment) -> None:
        self.m, self.curriculum, self.weight, self.augment = m, curriculum, weight, augment
        self.sigma_min, self.sigma_max, self.rho = noise.sigma_min, noise.sigma_max, noise.rho

    def draw(self, x0: torch.Tensor, num_scales: int, generator: torch.Generator):
        """Index i in {1..N-1} (the official train_time_sampler), its sigma, and x0 + sigma z."""
        device = x0.device
        idx = torch.randint(1, num_scales, (x0.shape[0],), generator=generator, device=generator.device).to(device)
        sigma = karras_sigmas(num_scales, self.sigma_min, self.sigma_max, self.rho)
        sigma = sigma.to(device=device, dtype=torch.float32)[idx]
        z = torch.randn(x0.shape, generator=generator, device=generator.device, dtype=x0.dtype).to(device)
        return idx, sigma, x0 + expand_like(sigma, x0) * z

    def __call__(self, nets, x, labels, *, step, generator) -> Tuple[torch.Tensor, Stats]:
        m = self.m
        n = self.curriculum.num_scales(step)
        h = x.shape[0] // 2
        fake_x0, real = x[:h], x[h:]
        fake_labels, real_labels = (None, None) if labels is None else (labels[:h], labels[h:])
        D = nets["discriminator"]
        j, sigma_j, x_noisy = self.draw(fake_x0, n, generator)
        with torch.no_grad():  # the just-updated online generator
            fake = nets["generator"](x_noisy, sigma_j, fake_labels)
        l, sigma_l, _ = self.draw(real, n, generator)
        w_j, w_l = self.weight(j, n), self.weight(l, n)
        d_fake = D(self.augment(fake.detach(), generator), sigma_j, fake_labels).float()
        r1_step = m.r1_gamma > 0 and step % m.r1_interval == 0
        real_in = self.augment(real, generator).detach().requires_grad_(r1_step)
        with D.twice_differentiable() if r1_step else contextlib.nullcontext():  # R1 differentiates it again
            d_real = D(real_in, sigma_l, real_labels).float()
        per_pair = w_j * F.softplus(d_fake) + w_l * F.softplus(-d_real)  # (B/2,): mean = E_fake + E_real
        stats = {"loss_d_fake": F.softplus(d_fake).detach().mean(), "loss_d_real": F.softplus(-d_real).detach().mean()}
        if r1_step:
            r1 = r1_penalty(d_real, real_in, m.r1_gamma, w_l)
            per_pair = per_pair + r1
            stats["r1"] = r1.detach().mean()  # the controller's input: before the lambda_max factor
            if self.augment.on:
                signal = stats["r1"] if m.augment_mode == "r1_ema" else torch.sign(d_real.detach()).mean()
                stats["_augment_signal"] = (signal, 2 * 2 * h)  # 2B images per step per process
        return m.lambda_max * per_pair, stats


class AugmentFeed:
    """The discriminator phase's hook: an R1 step's statistic moves the controller's p for the steps that follow."""

    def __init__(self, augment: Augment, discriminator: nn.Module, world_size: int) -> None:
        self.controller, self.discriminator, self.world_size = augment.controller, discriminator, world_size

    def __call__(self, step: int, stats: Stats) -> Stats:
        if "_augment_signal" in stats:
            signal, images = stats["_augment_signal"]
            signal = float(signal)  # the controller runs on the host: one synchronisation per R1 step (as ADA's)
            # every process takes the same p (the official code lets them drift apart)
            if self.world_size > 1:
                device = next(self.discriminator.parameters()).device
                signal = distributed.all_reduce_mean([signal], device)[0]
            self.controller.update(signal, images * self.world_size)
        return {"aug_p": float(self.controller.p)}


def build_act(cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0, world_size: int = 1) -> Method:
    """Consistency training plus a sigma-conditioned discriminator on clean images (docs/METHOD.md s.4).

    Each step loads 2B images: the first B for the generator phase, the next B for the discriminator's.
    RAdam betas: ``method.g_betas`` and ``method.d_betas``; the discriminator's lr ``method.d_lr`` (default
    the training config's lr)."""
    m = cfg.method
    ct = consistency_parts(m, cfg.model, cfg.noise, cfg.train.steps, data_shape)  # first: the seeded initial weights
    networks = {**ct.networks, "discriminator": build_act_discriminator(cfg.model, m)}
    weight, augment = LambdaWeight(m), Augment(m, data_shape)
    phases = [
        Phase("generator", ACTGeneratorLoss(ct.term, weight, augment), cfg.train.lr, m.g_betas, part=(0, 2),
              after=ct.averaging),
        Phase("discriminator", DiscriminatorLoss(m, cfg.noise, ct.curriculum, weight, augment),
              m.d_lr if m.d_lr is not None else cfg.train.lr, m.d_betas, part=(1, 2),
              after=AugmentFeed(augment, networks["discriminator"], world_size)),
    ]
    return Method(m.name, networks, ct.averaged, phases, ct.sampling, scalars=ct.curriculum.scalars,
                  state={"augment": augment.controller}, modules=ct.modules, regularizer_interval=m.r1_interval)

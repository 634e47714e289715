"""Adversarial Consistency Training (ACT), Kong et al., CVPR 2024 (docs/METHOD.md s.4).

Generator loss ``(1 - lambda_i) L_CT + lambda_i softplus(-D(A(f_theta(x_{sigma_i}, sigma_i)), sigma_i))``;
discriminator loss ``lambda_max E[w_j softplus(D(A(sg fake), sigma_j)) + w_l softplus(-D(A(real), sigma_l))]``
plus lazy R1 ``lambda_max w_l (gamma/2) ||grad_{A(real)} D||^2`` every ``r1_interval`` steps
(not multiplied by the interval, as the official code). ``lambda_i = lambda_max w(i)``: w = 1
(constant, CIFAR-10) or ``w(i) = (i / (N-1)) ^ log_0.5(w_mid / lambda_max)`` (power, ImageNet-64, LSUN).
Each step loads 2B images: B for the generator step, B/2 fakes and B/2 reals for the
discriminator step, which sees the just-updated generator. One EMA: the CT target is
the network that is evaluated (a separate evaluation EMA is an option).

ACT composes the consistency method (``baselines.ct.ConsistencyTraining``: the generator,
its target EMA, curriculum and distance) with a discriminator, ``r1_penalty`` and the
ACT-Aug controller, which its ``after_update`` hook moves once per discriminator step.
"""

from __future__ import annotations

import contextlib

import math
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from act import distributed
from act.augment import AugmentController, ada_augment
from act.config import LAMBDA_SCHEDULES
from act.method import Method
from act.networks import build_discriminator
from act.parametrization import expand_like
from act.rng import draw_seed
from act.schedules import karras_sigmas
from baselines.ct import ConsistencyTraining


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


def act_discriminator_spec(cfg: Any) -> Tuple[str, Dict[str, Any]]:
    """(preset, overrides) of an ACT config's discriminator: ``model.discriminator`` (default: the generator's
    preset) with its overrides, the method's time conditioning and the generator's time input."""
    overrides = dict(cfg.model.discriminator_overrides)
    overrides.setdefault("time_conditioned", cfg.method.time_conditioned_discriminator)
    if "time_input" in cfg.model.overrides:
        overrides.setdefault("time_input", cfg.model.overrides["time_input"])
    return cfg.model.discriminator or cfg.model.preset, overrides


def build_act_discriminator(cfg: Any) -> nn.Module:
    """The discriminator of an ACT config (:func:`act_discriminator_spec`)."""
    preset, overrides = act_discriminator_spec(cfg)
    return build_discriminator(preset, **overrides)


class ACTMethod(Method):
    """Consistency training plus a sigma-conditioned discriminator on clean images."""

    phases = ("generator", "discriminator")
    images_per_step_factor = 2

    def __init__(self, cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0, world_size: int = 1) -> None:
        super().__init__()
        self.cfg = cfg
        self.mcfg = m = cfg.method
        self.ct = ConsistencyTraining(cfg, data_shape, num_classes)  # built first: the seeded initial weights
        self.networks["generator"] = self.ct.networks["generator"]
        self.averaged = self.ct.averaged  # one dict: the CT target (and an evaluation EMA) are ACT's
        self.networks["discriminator"] = build_act_discriminator(cfg)
        self.regularizer_interval = m.r1_interval
        self.world_size = world_size
        self.augment_on = m.augment and len(data_shape) == 3
        self.controller = AugmentController(
            m.augment_threshold if m.augment_mode == "r1_ema" else None, mode=m.augment_mode, interval=m.r1_interval
        )
        self._signal: Optional[Tuple[float, int]] = None  # (controller input, images it covers), set on R1 steps

    def to(self, device: torch.device) -> "ACTMethod":
        self.ct.to(device)
        self.networks["generator"] = self.ct.networks["generator"]
        self.networks["discriminator"] = self.networks["discriminator"].to(device)
        return self

    def betas(self, phase: str, default: Tuple[float, float]) -> Tuple[float, float]:
        return self.mcfg.g_betas if phase == "generator" else self.mcfg.d_betas

    def lr(self, phase: str, default: float) -> float:
        return self.mcfg.d_lr if phase == "discriminator" and self.mcfg.d_lr is not None else default

    def num_scales(self, step: int) -> int:
        return self.ct.num_scales(step)

    # -- helpers --------------------------------------------------------------------------------
    def _augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """ACT-Aug on D's inputs (reals and fakes alike). The official code resamples every input through
        its filtered path even at p = 0 ("official"); "simple" passes them through untouched at p = 0."""
        m = self.mcfg
        if not self.augment_on or (self.controller.p == 0.0 and m.augment_fidelity == "simple"):
            return x
        seed = draw_seed(generator)
        return ada_augment(x, self.controller.p, torch.Generator().manual_seed(seed), transforms=m.augment_pipeline,
                           fidelity=m.augment_fidelity)

    def _weight(self, index: torch.Tensor, num_scales: int) -> torch.Tensor:
        m = self.mcfg
        return lambda_weight(index, num_scales, m.lambda_schedule, m.lambda_max, m.w_mid)

    def _draw(self, x0: torch.Tensor, num_scales: int, generator: torch.Generator):
        """Index i in {1..N-1} (the official train_time_sampler), its sigma, and x0 + sigma z."""
        device = x0.device
        idx = torch.randint(1, num_scales, (x0.shape[0],), generator=generator, device=generator.device).to(device)
        sigma = karras_sigmas(num_scales, self.cfg.noise.sigma_min, self.cfg.noise.sigma_max, self.cfg.noise.rho)
        sigma = sigma.to(device=device, dtype=torch.float32)[idx]
        z = torch.randn(x0.shape, generator=generator, device=generator.device, dtype=x0.dtype).to(device)
        return idx, sigma, x0 + expand_like(sigma, x0) * z

    # -- losses ---------------------------------------------------------------------------------
    def loss(self, phase, x, labels, *, step, generator):
        b = x.shape[0] // 2
        n = self.num_scales(step)
        if phase == "generator":
            return self._generator_loss(x[:b], None if labels is None else labels[:b], n, generator)
        elif phase == "discriminator":
            return self._discriminator_loss(x[b:], None if labels is None else labels[b:], n, step, generator)
        else:
            raise ValueError(f"ACT has no phase {phase!r}")

    def _generator_loss(self, x0, labels, n, generator):
        t = self.ct.consistency.terms(self.networks["generator"], self.ct.target_network(), x0, labels,
                                      num_scales=n, generator=generator)
        lam = (self.mcfg.lambda_max * self._weight(t.index, n)).to(t.loss.dtype)  # (B,)
        logits = self.networks["discriminator"](self._augment(t.student, generator), t.sigma, labels)  # (B,)
        adv = F.softplus(-logits.float())
        loss = (1 - lam) * t.loss.float() + lam * adv
        # logged values stay device tensors: the loop reads them at log steps only
        return loss, {"loss_ct": t.loss.detach().float().mean(), "loss_adv": adv.detach().mean(), "lambda": lam.float().mean()}

    def _discriminator_loss(self, x, labels, n, step, generator):
        """lambda_max E[w_j softplus(D(A(fake))) + w_l softplus(-D(A(real)))], plus R1 on its steps."""
        m = self.mcfg
        h = x.shape[0] // 2
        fake_x0, real = x[:h], x[h:]
        fake_labels, real_labels = (None, None) if labels is None else (labels[:h], labels[h:])
        D = self.networks["discriminator"]
        j, sigma_j, x_noisy = self._draw(fake_x0, n, generator)
        with torch.no_grad():  # the just-updated online generator
            fake = self.networks["generator"](x_noisy, sigma_j, fake_labels)
        l, sigma_l, _ = self._draw(real, n, generator)
        w_j, w_l = self._weight(j, n), self._weight(l, n)
        d_fake = D(self._augment(fake.detach(), generator), sigma_j, fake_labels).float()
        r1_step = m.r1_gamma > 0 and step % m.r1_interval == 0
        real_in = self._augment(real, generator).detach().requires_grad_(r1_step)
        with D.twice_differentiable() if r1_step else contextlib.nullcontext():  # R1 differentiates it again
            d_real = D(real_in, sigma_l, real_labels).float()
        per_pair = w_j * F.softplus(d_fake) + w_l * F.softplus(-d_real)  # (B/2,): mean = E_fake + E_real
        logs = {"loss_d_fake": F.softplus(d_fake).detach().mean(), "loss_d_real": F.softplus(-d_real).detach().mean()}
        if r1_step:
            r1 = r1_penalty(d_real, real_in, m.r1_gamma, w_l)
            per_pair = per_pair + r1
            logs["r1"] = r1.detach().mean()  # the controller's input: before the lambda_max factor
            if self.augment_on:  # the controller runs on the host: one synchronisation per R1 step (as ADA's)
                signal = float(logs["r1"] if m.augment_mode == "r1_ema" else torch.sign(d_real.detach()).mean())
                self._signal = (signal, 2 * 2 * h)  # 2B images per step per process
        return m.lambda_max * per_pair, logs

    def after_update(self, phase: str, step: int) -> Optional[Dict[str, float]]:
        if phase == "generator":
            return self.ct.after_update(phase, step)
        if self._signal is not None:  # an R1 step: the controller moves p for the steps that follow
            signal, images = self._signal
            self._signal = None
            # every process takes the same p (the official code lets them drift apart)
            if self.world_size > 1:
                signal = distributed.all_reduce_mean([signal], next(self.networks["discriminator"].parameters()).device)[0]
            self.controller.update(signal, images * self.world_size)
        return {"aug_p": float(self.controller.p)}

    def scalars(self, step: int) -> Dict[str, float]:
        return self.ct.scalars(step)

    def sampling_network(self) -> nn.Module:
        return self.ct.sampling_network()

    def extra_state(self) -> Dict[str, Any]:
        return {"augment": self.controller.state_dict()}

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        if "augment" in state:
            self.controller.load_state_dict(state["augment"])

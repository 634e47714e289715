"""Adversarial Consistency Training (ACT), Kong et al., CVPR 2024 (METHOD.md section 4).

Generator loss ``(1 - lambda_i) L_CT + lambda_i softplus(-D(A(f_theta(x_{sigma_i}, sigma_i)), sigma_i))``;
discriminator loss ``lambda_max E[w_j softplus(D(A(sg fake), sigma_j)) + w_l softplus(-D(A(real), sigma_l))]``
plus lazy R1 ``lambda_max w_l (gamma/2) ||grad_{A(real)} D||^2`` every ``r1_interval`` steps
(not multiplied by the interval, as the official code). ``lambda_i = lambda_max w(i)``: w = 1
(constant, CIFAR-10) or ``w(i) = (i / (N-1)) ^ log_0.5(w_mid / lambda_max)`` (power, ImageNet-64, LSUN).
Each step loads 2B images: B for the generator step, B/2 fakes and B/2 reals for the
discriminator step, which sees the just-updated generator. One EMA: the CT target is
the network that is evaluated (a separate evaluation EMA is an option).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from act import distributed
from act.augment import AugmentController, ada_augment
from act.methods import expand_like
from act.schedules import karras_sigmas
from baselines.ct import CTConfig, CTMethod

LAMBDA_SCHEDULES = ("constant", "power")
AUGMENT_MODES = ("r1_ema", "ada_sign")
RADAM_D_BETA2_LAZY = 16 / 17  # the official D beta2 is 0.99 * 16/17 (lazy-regularisation correction)


@dataclass
class ACTConfig(CTConfig):
    name: str = "act"
    distance: str = "lpips"  # official: piq LPIPS-VGG; needs VGG-16 weights
    clip_target: bool = True  # official clips only the target (EMA) output to [-1, 1]
    lambda_schedule: str = "constant"  # "constant" (CIFAR-10) or "power" (ImageNet-64, LSUN)
    lambda_max: float = 0.3  # CIFAR-10 0.3; ImageNet-64 / LSUN 0.6 with the power schedule
    w_mid: float = 0.2  # power schedule: lambda at the middle of the grid
    r1_gamma: float = 10.0  # 0 turns R1 off
    r1_interval: int = 16  # lazy R1 every this many steps
    augment: bool = False  # ACT-Aug (ADA-style, on reals and fakes alike)
    augment_mode: str = "r1_ema"  # official R1-EMA controller, or ADA's "ada_sign" heuristic
    augment_threshold: float = 1.0e4  # R1-EMA threshold: 1e4 CIFAR-10, 1e7 ImageNet-64, 1e9 LSUN
    augment_pipeline: str = "bgc"  # blit + geometric + colour
    time_conditioned_discriminator: bool = True  # ablation: an unconditioned D ignores sigma
    g_betas: Tuple[float, float] = (0.0, 0.99)  # official RAdam betas of G
    d_betas: Tuple[float, float] = (0.0, 0.99 * RADAM_D_BETA2_LAZY)  # and of D
    d_lr: Optional[float] = None  # discriminator lr; None: train.lr (the official d_lr equals lr)


def lambda_weight(index: torch.Tensor, num_scales: int, schedule: str, lambda_max: float, w_mid: float) -> torch.Tensor:
    """w(i): 1 (constant) or (i / (N-1)) ^ log_0.5(w_mid / lambda_max) (power); lambda_i = lambda_max w(i)."""
    if schedule == "constant":
        return torch.ones_like(index, dtype=torch.float32)
    elif schedule == "power":
        exponent = math.log(w_mid / lambda_max, 0.5)
        return (index.float() / (num_scales - 1)) ** exponent
    else:
        raise ValueError(f"unknown lambda schedule {schedule!r}; choose from {LAMBDA_SCHEDULES}")


def build_act_discriminator(cfg: Any) -> nn.Module:
    """The discriminator of an ACT config: ``model.discriminator`` (default: the generator's preset)
    with its overrides, the method's time conditioning and the generator's time input."""
    from act.networks import build_discriminator

    preset = cfg.model.discriminator or cfg.model.preset
    overrides = dict(cfg.model.discriminator_overrides)
    overrides.setdefault("time_conditioned", cfg.method.time_conditioned_discriminator)
    if "time_input" in cfg.model.overrides:
        overrides.setdefault("time_input", cfg.model.overrides["time_input"])
    return build_discriminator(preset, **overrides)


class ACTMethod(CTMethod):
    """CT plus a sigma-conditioned discriminator on clean images."""

    phases = ("generator", "discriminator")
    images_per_step_factor = 2

    def __init__(self, cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__(cfg, data_shape, num_classes)
        m = self.mcfg
        if m.lambda_schedule not in LAMBDA_SCHEDULES:
            raise ValueError(f"unknown lambda schedule {m.lambda_schedule!r}; choose from {LAMBDA_SCHEDULES}")
        if m.augment_mode not in AUGMENT_MODES:
            raise ValueError(f"unknown augment mode {m.augment_mode!r}; choose from {AUGMENT_MODES}")
        if m.r1_interval < 1:
            raise ValueError("r1_interval must be >= 1")
        self.networks["discriminator"] = build_act_discriminator(cfg)
        self.is_image = len(data_shape) == 3
        self.augment_on = m.augment and self.is_image
        self.controller = AugmentController(
            m.augment_threshold if m.augment_mode == "r1_ema" else None, mode=m.augment_mode, interval=m.r1_interval
        )
        self.world_size = 1  # set by the loop under distributed training
        self._last_p = 0.0

    def betas(self, phase: str, default: Tuple[float, float]) -> Tuple[float, float]:
        return self.mcfg.g_betas if phase == "generator" else self.mcfg.d_betas

    def lr(self, phase: str, default: float) -> float:
        return self.mcfg.d_lr if phase == "discriminator" and self.mcfg.d_lr is not None else default

    # -- helpers --------------------------------------------------------------------------------
    def _augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if not self.augment_on or self.controller.p == 0.0:
            return x
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        return ada_augment(x, self.controller.p, torch.Generator().manual_seed(seed), transforms=self.mcfg.augment_pipeline)

    def _lambda(self, index: torch.Tensor, num_scales: int) -> torch.Tensor:
        m = self.mcfg
        return m.lambda_max * lambda_weight(index, num_scales, m.lambda_schedule, m.lambda_max, m.w_mid)

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
        t = self.consistency.terms(self.networks["generator"], self.target_network(), x0, labels, num_scales=n, generator=generator)
        lam = self._lambda(t.index, n).to(t.loss.dtype)  # (B,)
        logits = self.networks["discriminator"](self._augment(t.student, generator), t.sigma, labels)  # (B,)
        adv = F.softplus(-logits.float())
        loss = (1 - lam) * t.loss.float() + lam * adv
        return loss, {"loss_ct": float(t.loss.detach().mean()), "loss_adv": float(adv.detach().mean()),
                      "lambda": float(lam.mean())}

    def _discriminator_loss(self, x, labels, n, step, generator):
        m = self.mcfg
        h = x.shape[0] // 2
        fake_x0, real = x[:h], x[h:]
        fake_labels, real_labels = (None, None) if labels is None else (labels[:h], labels[h:])
        D = self.networks["discriminator"]
        j, sigma_j, x_noisy = self._draw(fake_x0, n, generator)
        with torch.no_grad():  # the just-updated online generator
            fake = self.networks["generator"](x_noisy, sigma_j, fake_labels)
        l, sigma_l, _ = self._draw(real, n, generator)
        w_j = lambda_weight(j, n, m.lambda_schedule, m.lambda_max, m.w_mid)
        w_l = lambda_weight(l, n, m.lambda_schedule, m.lambda_max, m.w_mid)
        d_fake = D(self._augment(fake.detach(), generator), sigma_j, fake_labels).float()
        r1_step = m.r1_gamma > 0 and step % m.r1_interval == 0
        real_in = self._augment(real, generator).detach().requires_grad_(r1_step)
        d_real = D(real_in, sigma_l, real_labels).float()
        per_pair = w_j * F.softplus(d_fake) + w_l * F.softplus(-d_real)  # (B/2,): mean = E_fake + E_real
        logs = {"loss_d_fake": float(F.softplus(d_fake).detach().mean()), "loss_d_real": float(F.softplus(-d_real).detach().mean())}
        if r1_step:
            (grad,) = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
            r1 = (m.r1_gamma / 2) * w_l * grad.float().pow(2).flatten(1).sum(1)  # (B/2,)
            per_pair = per_pair + r1
            r1_value = float(r1.detach().mean())  # fed to the controller before the lambda_max factor
            logs["r1"] = r1_value
            if self.augment_on:
                signal = r1_value if m.augment_mode == "r1_ema" else float(torch.sign(d_real.detach()).mean())
                # every process takes the same p (the official code lets them drift apart)
                signal = distributed.all_reduce_mean([signal], real.device)[0] if self.world_size > 1 else signal
                self.controller.update(signal, 2 * 2 * h * self.world_size)  # 2B images per step per process
        logs["aug_p"] = float(self.controller.p)
        return m.lambda_max * per_pair, logs

    def after_update(self, phase: str, step: int) -> None:
        if phase == "generator":
            super().after_update(phase, step)

    def extra_state(self) -> Dict[str, Any]:
        return {"augment": self.controller.state_dict()}

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        if "augment" in state:
            self.controller.load_state_dict(state["augment"])

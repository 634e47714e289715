"""What a training recipe is, to the shared training loop: networks, phases, losses.

A method owns its trained networks (one optimiser each, stepped in ``phases``
order every step), its averaged copies (target network, evaluation EMA), and a
per-phase loss returning per-sample values; the loop reduces, back-propagates,
steps and logs. CT and iCT (one phase) are two configurations of
``baselines.ct.ConsistencyTraining``; ACT (two phases: generator, then
discriminator) composes it. ``act.registry.build_method`` picks the implementation.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn


class Method:
    """Base class; subclasses set ``networks``, ``averaged``, ``phases`` and implement ``loss``."""

    phases: Tuple[str, ...] = ("generator",)
    images_per_step_factor: int = 1  # ACT loads 2B images per step
    compilable: Tuple[str, ...] = ("generator",)  # networks train.compile may torch.compile
    # Steps after which the cost of a step repeats; the first of each period costs more (ACT's lazy R1).
    # 0: every step costs the same. act.cost averages the FLOPs over one period.
    regularizer_interval: int = 0

    def __init__(self) -> None:
        self.networks: Dict[str, nn.Module] = {}
        self.averaged: Dict[str, nn.Module] = {}

    def betas(self, phase: str, default: Tuple[float, float]) -> Tuple[float, float]:
        """RAdam betas of a phase's optimiser; the training config's unless the method fixes them."""
        return default

    def lr(self, phase: str, default: float) -> float:
        """Learning rate of a phase's optimiser; the training config's unless the method sets one."""
        return default

    def loss(
        self, phase: str, x: torch.Tensor, labels: Optional[torch.Tensor], *, step: int, generator: torch.Generator
    ) -> Tuple[torch.Tensor, Dict[str, float]]:
        """Per-sample losses (B,) of ``phase`` and scalars to log."""
        raise NotImplementedError

    def after_update(self, phase: str, step: int) -> Optional[Dict[str, float]]:
        """Called after the optimiser step of ``phase`` (EMA updates, controllers); may return scalars to log."""
        return None

    def scalars(self, step: int) -> Dict[str, float]:
        """Schedule values logged each interval (N(k), mu(k), ...)."""
        return {}

    def sampling_network(self) -> nn.Module:
        """The network that is evaluated and sampled."""
        raise NotImplementedError

    def to(self, device: torch.device) -> "Method":
        for group in (self.networks, self.averaged):
            for k in group:
                group[k] = group[k].to(device)
        return self

    def extra_state(self) -> Dict[str, Any]:
        """Method state beyond weights (augmentation controllers), for checkpoints."""
        return {}

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        pass


def set_trainable(method: Method, phase: str) -> None:
    """Only the phase's network collects gradients; gradients still flow *through* the others.

    A no-op when ``phase`` is already the trainable one (single-phase methods: every step after the first).
    """
    if getattr(method, "_trainable_phase", None) == phase:
        return
    params = getattr(method, "_phase_params", None)
    if params is None or params.keys() != method.networks.keys():  # gathered once: walking modules costs per step
        params = method._phase_params = {name: list(net.parameters()) for name, net in method.networks.items()}
    for name, ps in params.items():
        for p in ps:
            p.requires_grad_(name == phase)
    method._trainable_phase = phase

"""What a training recipe is, to the shared training loop: networks, phases, losses.

A method owns its trained networks (one optimiser each, stepped in ``phases``
order every step), its averaged copies (target network, evaluation EMA), and a
per-phase loss returning per-sample values; the loop reduces, back-propagates,
steps and logs. CT and iCT have one phase, ACT two (generator, then
discriminator). ``METHOD_CONFIGS`` / ``build_method`` dispatch on the config's name.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, Optional, Tuple

import torch
from torch import nn


class Method:
    """Base class; subclasses set ``networks``, ``averaged``, ``phases`` and implement ``loss``."""

    phases: Tuple[str, ...] = ("generator",)
    images_per_step_factor: int = 1  # ACT loads 2B images per step
    compilable: Tuple[str, ...] = ("generator",)  # networks train.compile may torch.compile

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

    def after_update(self, phase: str, step: int) -> None:
        """Called after the optimiser step of ``phase`` (EMA updates)."""

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


def per_step_generator(seed: int, step: int, device: torch.device, stream: int = 0) -> torch.Generator:
    """The torch.Generator of training step ``step``: every random draw of a step comes from it.

    Seeded from (seed, step, stream) alone, so a resumed run draws exactly what an
    uninterrupted one would, on any batch of steps, without CUDA-specific RNG calls.
    """
    g = torch.Generator(device=device)
    g.manual_seed((seed * 1_000_003 + step) * 16 + stream)
    return g


@contextlib.contextmanager
def seeded_global_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Run a block under a fixed global RNG (dropout masks), restoring the previous state after.

    CT's student and target passes each run under the same seed, so they share one dropout mask.
    """
    if device.type == "cpu":
        fork = torch.random.fork_rng(devices=[])  # the CPU generator only
    else:
        index = device.index if device.index is not None else 0
        fork = torch.random.fork_rng(devices=[index], device_type=device.type)
    with fork:
        if device.type == "cpu":
            # The CPU generator alone: torch.manual_seed would also queue a lazy seeding of every
            # CUDA device (with a formatted stack trace, ~0.4 ms, kept until CUDA starts) per call.
            torch.default_generator.manual_seed(seed)
        else:
            torch.manual_seed(seed)
        yield


def expand_like(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, 1, 1) for images, (B, 1) for points."""
    return v.view((-1,) + (1,) * (x.ndim - 1))


def generator_overrides(cfg: Any) -> Dict[str, Any]:
    """build_generator keyword arguments of a config: its overrides plus the noise constants."""
    overrides = dict(cfg.model.overrides)
    overrides.setdefault("sigma_min", cfg.noise.sigma_min)
    overrides.setdefault("sigma_data", cfg.noise.sigma_data)
    return overrides


def method_registry() -> Dict[str, Tuple[type, type]]:
    """name -> (config dataclass, Method class). Imported lazily: the methods import act.config."""
    from baselines.ct import CTConfig, CTMethod
    from baselines.ict import ICTConfig, ICTMethod
    from act.adversarial import ACTConfig, ACTMethod

    return {"ct": (CTConfig, CTMethod), "ict": (ICTConfig, ICTMethod), "act": (ACTConfig, ACTMethod)}


def build_method(cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0) -> Method:
    """The method of an ExperimentConfig, networks built on the CPU."""
    reg = method_registry()
    name = cfg.method.name
    if name not in reg:
        raise ValueError(f"unknown method {name!r}; choose from {sorted(reg)}")
    return reg[name][1](cfg, data_shape=data_shape, num_classes=num_classes)

"""What a training recipe is, to the shared training loop: networks, loss objects and a phase table.

A method is data, built by one function per method (``act.registry.METHODS``): the networks it
trains (one optimiser each), their averaged copies (target network, evaluation EMA), and its
phases, stepped in order every training step. A phase names the network it trains, its loss
object, its optimiser's settings, the slice of the step's batch it reads and a hook run after its
optimiser step (EMA updates, the augmentation controller). The loop (``act.train.train_step``)
knows no method: it runs the phases.

A loss object is called ``loss(nets, x, labels, *, step, generator)`` with every network by name
and returns per-sample values (B,) and a dict of statistics: 0-d device tensors or numbers, logged
by the loop. A statistic whose name starts with ``_`` is for the phase's hook only (never logged).

CT and iCT (one phase) are two configurations of ``baselines.ct``; ACT (``act.adversarial``:
generator, then discriminator) composes CT's loss with its adversarial losses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

Stats = Dict[str, Any]
LossFn = Callable[..., Tuple[torch.Tensor, Stats]]  # loss(nets, x, labels, *, step, generator)
AfterHook = Callable[[int, Stats], Optional[Stats]]  # after(step, the loss's statistics) -> values to log


@dataclass
class Phase:
    """One optimiser step of a training step."""

    name: str  # the network it trains; its optimiser's and scaler's key in checkpoints
    loss: LossFn
    lr: float
    betas: Tuple[float, float]
    part: Tuple[int, int] = (0, 1)  # (i, n): the i-th of n equal slices of the step's batch (ACT loads 2B)
    after: Optional[AfterHook] = None

    def __call__(self, nets: Dict[str, nn.Module], x: torch.Tensor, labels: Optional[torch.Tensor], *, step: int,
                 generator: torch.Generator) -> Tuple[torch.Tensor, Stats]:
        """The phase's loss on its slice of the step's batch ``x``."""
        return self.loss(nets, *self.take(x, labels), step=step, generator=generator)

    def take(self, x: torch.Tensor, labels: Optional[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        i, n = self.part
        if n == 1:
            return x, labels
        size = x.shape[0] // n
        part = slice(i * size, (i + 1) * size)
        return x[part], None if labels is None else labels[part]


def logged(stats: Stats) -> Stats:
    """The statistics the loop logs: all but the hooks' own (names starting with ``_``)."""
    return {k: v for k, v in stats.items() if not k.startswith("_")}


@dataclass
class Method:
    name: str
    networks: Dict[str, nn.Module]  # trained, one optimiser each, in phase order
    averaged: Dict[str, nn.Module]  # averaged copies (target network, evaluation EMA)
    phases: List[Phase]
    sampling: str  # the network evaluated and sampled: a key of ``averaged`` or ``networks``
    scalars: Callable[[int], Stats] = lambda step: {}  # schedule values logged each interval (N(k), mu(k))
    state: Dict[str, Any] = field(default_factory=dict)  # objects with state_dict beyond weights (controllers)
    modules: List[nn.Module] = field(default_factory=list)  # other modules to place on the device (LPIPS)
    compilable: Tuple[str, ...] = ("generator",)  # networks train.compile may torch.compile
    # Steps after which the cost of a step repeats; the first of each period costs more (ACT's lazy R1).
    # 0: every step costs the same. act.compute.cost averages the FLOPs over one period.
    regularizer_interval: int = 0

    def __post_init__(self) -> None:
        assert [p.name for p in self.phases] == list(self.networks), "one phase per trained network, in order"

    @property
    def nets(self) -> Dict[str, nn.Module]:
        """Every network by name, as loss objects receive them."""
        return {**self.networks, **self.averaged}

    @property
    def images_per_step_factor(self) -> int:
        """Images loaded per training step, in units of train.batch_size (ACT: 2)."""
        return max(p.part[1] for p in self.phases)

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        raise ValueError(f"{self.name} has no phase {name!r}")

    def loss(self, phase: str, x: torch.Tensor, labels: Optional[torch.Tensor], *, step: int,
             generator: torch.Generator) -> Tuple[torch.Tensor, Stats]:
        """The loss of the phase named ``phase`` on its slice of the step's batch ``x``."""
        return self.phase(phase)(self.nets, x, labels, step=step, generator=generator)

    def sampling_network(self) -> nn.Module:
        return self.nets[self.sampling]

    def to(self, device: torch.device) -> "Method":
        for group in (self.networks, self.averaged):
            for k in group:
                group[k] = group[k].to(device)
        for module in self.modules:
            module.to(device)
        return self

    def extra_state(self) -> Dict[str, Any]:
        """Method state beyond weights (augmentation controllers), for checkpoints."""
        return {k: v.state_dict() for k, v in self.state.items()}

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        for k, v in self.state.items():
            if k in state:
                v.load_state_dict(state[k])


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

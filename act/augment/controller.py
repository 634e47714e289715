"""Adaptive control of the augmentation probability p.

``r1_ema`` (default): the ACT rule (Kong et al. 2024, Sec. 3.3, "ACT-Aug", as run by
the official code). Every R1 step (every ``interval`` steps) the R1 value
``(gamma / 2) * w * ||grad_x D||^2`` (batch mean, before the lambda_max factor)
enters an EMA; p moves up by ``batch_size_total * interval / (ada_kimg * 1000)``
if the EMA is above the threshold, down by as much otherwise, then is clipped to
[0, p_max]. The EMA starts at the threshold and p at 0, so p only rises once R1
stays above the threshold.

``ada_sign``: ADA's original heuristic (Karras et al. 2020, Sec. 3):
``r_t = E[sign(D(real))]`` over the real images seen since the last update, and
``p += sign(r_t - ada_target) * batch_size_total * interval / (ada_kimg * 1000)``
(no EMA; ADA updates every 4 minibatches, target 0.6). ADA clamps p only from
below; ``p_max=math.inf`` reproduces that.

Thresholds of the official ACT runs (config values, not defaults here):
1e4 CIFAR-10; 1e7 ImageNet-64 (the code calls it a very large value that disables
augmentation); 1e9 LSUN Cat 256. The official code does not synchronise p across
processes; feed this controller the same value on every process to keep them equal.
"""

from __future__ import annotations

from typing import Any

from act.config import AUGMENT_MODES

CONTROLLER_MODES = AUGMENT_MODES  # the official R1-EMA rule, ADA's sign heuristic


class AugmentController:
    """Adaptive augmentation probability ``p`` (ACT's R1-EMA rule or ADA's sign heuristic)."""

    def __init__(
        self,
        threshold: float | None = None,
        *,
        mode: str = "r1_ema",
        ema_decay: float = 0.93,  # official ACT loss_ema_decay
        interval: int = 16,  # steps between updates: ACT's R1 interval (ADA: 4 minibatches)
        ada_kimg: float = 500.0,  # thousands of images for p to travel 0 -> 1 (ACT ada_length 500000; ADA 500)
        ada_target: float = 0.6,  # ADA's target for r_t = E[sign(D(real))]
        p_max: float = 1.0,  # upper clip; ADA clamps only at 0 (use math.inf)
    ) -> None:
        if mode not in CONTROLLER_MODES:
            raise ValueError(f"unknown augmentation controller mode {mode!r}; choose from {CONTROLLER_MODES}")
        if mode == "r1_ema" and threshold is None:
            raise ValueError("mode 'r1_ema' needs an R1 threshold (1e4 CIFAR-10, 1e7 ImageNet-64, 1e9 LSUN)")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {ema_decay}")
        if interval < 1 or ada_kimg <= 0 or p_max < 0:
            raise ValueError(f"need interval >= 1, ada_kimg > 0, p_max >= 0; got {interval}, {ada_kimg}, {p_max}")
        self.mode = mode
        self.threshold = threshold
        self.ema_decay = ema_decay
        self.interval = interval
        self.ada_kimg = ada_kimg
        self.ada_target = ada_target
        self.p_max = p_max
        self.p = 0.0
        self.ema = float(threshold) if threshold is not None else 0.0  # starts at the threshold (official)
        self.num_updates = 0

    def step_size(self, batch_size_total: int) -> float:
        """Change of p per update: images seen since the last update over ``ada_kimg * 1000``."""
        return batch_size_total * self.interval / (self.ada_kimg * 1000)

    def update(self, value: float, batch_size_total: int) -> float:
        """Update p from one statistic and return it.

        ``value``: the R1 value (mode ``r1_ema``) or ``r_t = E[sign(D(real))]`` (mode ``ada_sign``).
        ``batch_size_total``: images loaded per step over all processes; in ACT ``2 * B * devices``.
        """
        value = float(value)
        if self.mode == "r1_ema":
            self.ema = self.ema_decay * self.ema + (1 - self.ema_decay) * value
            sign = 1.0 if self.ema > self.threshold else -1.0  # equality counts as "below" (official)
        elif self.mode == "ada_sign":
            self.ema = value  # kept for logging only: ADA uses the raw r_t
            sign = float((value > self.ada_target) - (value < self.ada_target))  # np.sign: 0 on equality
        else:
            raise ValueError(f"unknown augmentation controller mode {self.mode!r}")
        self.p = min(max(self.p + sign * self.step_size(batch_size_total), 0.0), self.p_max)
        self.num_updates += 1
        return self.p

    def state_dict(self) -> dict[str, Any]:
        """The mutable state (``p``, the EMA, the update count) plus the mode, for an exact resume."""
        return {"mode": self.mode, "p": self.p, "ema": self.ema, "num_updates": self.num_updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["mode"] != self.mode:
            raise ValueError(f"state is for mode {state['mode']!r}, this controller runs {self.mode!r}")
        self.p = float(state["p"])
        self.ema = float(state["ema"])
        self.num_updates = int(state["num_updates"])

    def __repr__(self) -> str:
        return (f"AugmentController(mode={self.mode!r}, threshold={self.threshold}, p={self.p:.6g}, "
                f"ema={self.ema:.6g}, updates={self.num_updates})")


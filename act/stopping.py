"""Stopping a training run on purpose: a scheduler's signal (preemption, a time limit) or a divergence.

SLURM sends SIGTERM at a job's time limit (and, with ``--signal``, SIGTERM or SIGUSR1 some minutes
before it); Snakemake's retry then reruns the job, and ``act train`` resumes. :class:`StopSignals`
turns either signal into a flag that the training loop reads after each step: the step finishes,
a checkpoint is written atomically, and the run ends with :data:`EXIT_PREEMPTED`. A non-finite
loss, gradient or weight ends it with :data:`EXIT_DIVERGED`, naming the step, the term and the
last good checkpoint, which is never overwritten by a bad state.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

EXIT_PREEMPTED = 75  # EX_TEMPFAIL: stopped by a signal after writing a checkpoint; rerun to resume
EXIT_DIVERGED = 3  # a non-finite loss, gradient or weight; the last good checkpoint is intact
SIGNALS = ("SIGTERM", "SIGUSR1")


class Preempted(Exception):
    """The run stopped on a signal after writing ``checkpoint`` at ``step``."""

    def __init__(self, signame: str, step: int, checkpoint: Path) -> None:
        super().__init__(f"stopped by {signame} after step {step}; checkpoint {checkpoint} written: rerun the same "
                         f"command to resume (exit status {EXIT_PREEMPTED})")
        self.signame, self.step, self.checkpoint = signame, step, checkpoint


class Diverged(Exception):
    """A non-finite value at ``step`` in ``term``; ``last_good``: the newest checkpoint (None: none yet)."""

    def __init__(self, step: int, term: str, last_good: Optional[Path]) -> None:
        where = f"the last good checkpoint {last_good} is intact" if last_good else "no checkpoint was written yet"
        super().__init__(f"non-finite {term} at step {step}; {where}: lower train.lr (or check the data and the "
                         f"config), then rerun to resume from it (exit status {EXIT_DIVERGED})")
        self.step, self.term, self.last_good = step, term, last_good


class StopSignals:
    """While active, SIGTERM and SIGUSR1 set :attr:`received` (the signal's name) instead of killing the
    process; the previous handlers come back on exit. Outside the main thread it does nothing."""

    def __init__(self) -> None:
        self.received: Optional[str] = None
        self._old: Dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signal.Signals(signum).name

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for name in SIGNALS:
                sig = getattr(signal, name, None)
                if sig is not None:
                    self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


def nonfinite_term(logs: Dict[str, Any]) -> Optional[str]:
    """The first logged term (a number or a 0-d tensor) whose value is not finite (its name), else None."""
    import math

    return next((k for k, v in logs.items() if not isinstance(v, bool) and hasattr(v, "__float__")
                 and not math.isfinite(float(v))), None)


def finite_flag(tensors: Iterable[Any]) -> Any:
    """A 0-d bool tensor on the tensors' device: every element of every tensor finite (no host synchronisation)."""
    import torch

    ts = [t.detach() for t in tensors if t is not None and t.is_floating_point()]
    if not ts:
        return torch.tensor(True)
    return torch.isfinite(torch.stack([n.float() for n in torch._foreach_norm(ts)])).all()


def all_finite(tensors: Iterable[Any]) -> bool:
    """Every element of every tensor finite (one device synchronisation)."""
    return bool(finite_flag(tensors))

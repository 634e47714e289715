"""Experiment tracking for ``act train``: TensorBoard events and, optionally, Weights & Biases.

The train loop hands a :class:`Tracker` the same record it appends to ``train_log.jsonl`` and a
sample grid at each checkpoint. Both back ends are off by default (``train.tensorboard``,
``train.wandb``), and each is imported only when switched on, so ``import act.tracking`` costs
nothing and neither package is needed otherwise. Only the main process (rank 0) writes.

Tags: a record's key ``k`` is logged as ``<section>/k``, the section being that of the first
prefix in :data:`SECTIONS` that ``k`` starts with, else ``progress`` (``images_seen``,
``wall_time``); ``step`` is the x axis, not a tag, and non-numeric values are skipped. When a
record holds both discriminator losses, ``adversarial/d_loss_gap = loss_d_fake - loss_d_real``
is added: the logit-gap proxy (positive when fakes are harder for D to reject than reals are to
accept, near 0 when D cannot tell them apart).

Resuming: a run restarted from step ``k`` opens TensorBoard with ``purge_step=k+1``, so TensorBoard
drops the killed attempt's events past ``k`` (a fresh run, ``k=0``, hides all earlier ones), and
wandb continues the run whose id is kept in ``<run_dir>/wandb_id.txt`` (``WANDB_MODE=offline``
needs no network; wandb cannot drop steps, and ignores the re-logged steps up to its last one).
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any, Mapping, Optional

import torch

from act.errors import MissingInputError

SECTIONS = (  # (section, key prefixes): the first match wins
    ("adversarial", ("loss_d_", "d_", "r1", "aug_p")),
    ("loss", ("loss",)),
    ("schedule", ("lambda", "num_scales", "ema_", "lr")),
)
WANDB_ID_FILE = "wandb_id.txt"


def tag_for(key: str) -> str:
    """The TensorBoard / wandb tag of a train-log key, e.g. ``loss_ct`` -> ``loss/loss_ct``."""
    section = next((s for s, prefixes in SECTIONS if key.startswith(prefixes)), "progress")
    return f"{section}/{key}"


def _numeric(values: Mapping[str, Any]) -> dict:
    out = {}
    for k, v in values.items():
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(v)
    if "loss_d_fake" in out and "loss_d_real" in out:
        out["d_loss_gap"] = out["loss_d_fake"] - out["loss_d_real"]
    return out


class Tracker:
    """Logs scalars and image grids of one training run; a no-op unless switched on in the main process."""

    def __init__(self, run_dir: Path, tensorboard: bool = False, wandb: bool = False, main: bool = True,
                 config: Optional[dict] = None, run_name: Optional[str] = None, start_step: int = 0) -> None:
        self.run_dir = Path(run_dir)
        self._tb = self._wandb = self._run = None
        if not main:  # only rank 0 writes
            return
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise MissingInputError("train.tensorboard=true needs the tensorboard package: "
                                        "pip install tensorboard") from None
            # TensorBoard hides every earlier event at a step >= purge_step: a resume from step k keeps
            # 1..k (the checkpoint's history, as train_log.jsonl does), a fresh start keeps none
            purge = int(start_step) + 1 if start_step > 0 else 0
            self._tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"), purge_step=purge)
        if wandb:
            try:
                import wandb as wandb_module
            except ImportError:
                raise MissingInputError("train.wandb=true needs the wandb package: "
                                        "pip install act-bench[wandb]") from None
            self._wandb = wandb_module
            self._run = wandb_module.init(
                project=os.environ.get("WANDB_PROJECT", "act-bench"), dir=str(self.run_dir), config=config,
                name=run_name, id=self._wandb_id(int(start_step)), resume="allow",
                mode=os.environ.get("WANDB_MODE") or None)

    def _wandb_id(self, start_step: int) -> str:
        """The stored id on a resume (same wandb run), a new one on a fresh start (a new history)."""
        path = self.run_dir / WANDB_ID_FILE
        if start_step > 0 and path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        run_id = uuid.uuid4().hex[:12]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(run_id + "\n")
        return run_id

    @property
    def active(self) -> bool:
        return self._tb is not None or self._run is not None

    def scalars(self, step: int, values: Mapping[str, Any]) -> None:
        """Log a train-log record's numeric values under their :func:`tag_for` tags at ``step``."""
        if not self.active:
            return
        tagged = {tag_for(k): v for k, v in _numeric(values).items()}
        if self._tb is not None:
            for tag, v in tagged.items():
                self._tb.add_scalar(tag, v, step)
        if self._run is not None:
            self._run.log(tagged, step=step)

    def images(self, step: int, tag: str, images: torch.Tensor) -> None:
        """Log ``images`` (N, C, H, W) in [-1, 1], C 1 or 3, as one grid of about sqrt(N) columns."""
        if not self.active:
            return
        from torchvision.utils import make_grid

        x = ((images.detach().float().cpu() + 1) / 2).clamp(0, 1)
        grid = make_grid(x, nrow=max(1, math.ceil(math.sqrt(x.shape[0]))), padding=2)  # (3, H', W')
        if self._tb is not None:
            self._tb.add_image(tag, grid, step)
            self._tb.flush()  # grids come at checkpoints: make them survive a kill
        if self._run is not None:
            self._run.log({tag: self._wandb.Image(grid.permute(1, 2, 0).numpy())}, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._run is not None:
            self._run.finish()
        self._tb = self._run = None

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

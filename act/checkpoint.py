"""Checkpoints: state dicts plus the resolved config, written atomically, loaded without pickled code."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Union

if TYPE_CHECKING:
    import torch

FORMAT = "act-bench/1"
_STEP_RE = re.compile(r"step-(\d+)\.pt$")


def save_checkpoint(path: Union[str, Path], state: Dict[str, Any]) -> None:
    """torch.save to ``path.tmp``, fsync, rename: a crash never leaves half a checkpoint."""
    import torch  # here, not at import: the report code reads checkpoint names without torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save({"format": FORMAT, **state}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> Dict[str, Any]:
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not an act-bench checkpoint (format {FORMAT})")
    return state


def checkpoint_path(run_dir: Union[str, Path], step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:07d}.pt"


def checkpoint_step(path: Union[str, Path]) -> Optional[int]:
    """The step in a ``step-XXXXXXX.pt`` file name, or None for any other name."""
    m = _STEP_RE.search(Path(path).name)
    return int(m.group(1)) if m else None


def latest_checkpoint(run_dir: Union[str, Path]) -> Optional[Path]:
    """The checkpoint with the highest step under ``run_dir/checkpoints``, or None."""
    folder = Path(run_dir) / "checkpoints"
    steps = {p: checkpoint_step(p) for p in (folder.glob("step-*.pt") if folder.is_dir() else [])}
    steps = {p: k for p, k in steps.items() if k is not None}
    return max(steps, key=steps.get) if steps else None

"""Resuming a training run: which checkpoint continues it, and what a resume must clean up.

A run continues only the history that wrote its checkpoints: the run's signature (its config, the
number of processes and the device type, which together decide every random draw) must match the
checkpoint's, except for keys that cannot change the trajectory.
Used by ``act.train``; rank 0 decides, and only rank 0 touches files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from act import io
from act.checkpoint import latest_checkpoint, load_checkpoint, planned_checkpoints, resume_checkpoints
from act.config import ExperimentConfig, drop_removed_keys, to_dict, trajectory_free_keys
from act.errors import ConfigError, InputError

# Config keys that do not change a run's trajectory (marked FREE in act.config): resuming across a change of
# these is safe. (train.device is free as a string, "auto" or "cuda"; the resolved device type and the number
# of processes, which decide the noise streams, are compared as run.device_type and run.world_size.)
RESUME_FREE_KEYS = trajectory_free_keys()
RESUME_MODES = ("auto", "same-config", "none")  # or a checkpoint path
_MISSING = "<unset>"  # a key that only one of two configs has


def _flatten(d: Any, prefix: str = "") -> Dict[str, Any]:
    if isinstance(d, dict):
        out: Dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def run_signature(cfg: ExperimentConfig, world_size: int, device_type: str) -> Dict[str, Any]:
    """What decides a run's trajectory: its config, the number of processes and the device type
    (each process draws its noise from its own generator on its device)."""
    return {**to_dict(cfg), "run": {"world_size": world_size, "device_type": device_type}}


def checkpoint_signature(state: Dict[str, Any]) -> Dict[str, Any]:
    """:func:`run_signature` of the run that wrote checkpoint ``state`` (keys removed since, holding the value that
    the code still follows, dropped: act.config.REMOVED_METHOD_KEYS)."""
    config = dict(state["config"])
    if isinstance(config.get("method"), dict):
        config["method"] = drop_removed_keys(config["method"], other="keep")
    return {**config, "run": {"world_size": state["world_size"], "device_type": state["device_type"]}}


def config_changes(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    """``key: old -> new`` for every value that differs and changes the training trajectory."""
    a, b = _flatten(old), _flatten(new)
    free = lambda k: any(k == f or k.startswith(f + ".") for f in RESUME_FREE_KEYS)  # noqa: E731
    return [f"{k}: {a.get(k, _MISSING)!r} -> {b.get(k, _MISSING)!r}" for k in sorted(set(a) | set(b))
            if not free(k) and a.get(k, _MISSING) != b.get(k, _MISSING)]


def choose_checkpoint(signature: Dict[str, Any], run_dir: Path,
                       resume: Optional[str]) -> Tuple[Optional[Path], Optional[Dict[str, Any]]]:
    """(checkpoint to continue from, its state loaded on the CPU), or (None, None) to start afresh.

    ``auto``: the newest in ``run_dir``, which must come from the same config (else an error);
    ``same-config``: the same, but a run folder of another config is started afresh; a path:
    that file, whatever its config (a deliberate choice: the changes are printed).
    """
    if resume is None or resume == "none":
        return None, None
    explicit = resume not in RESUME_MODES
    if explicit:
        path: Optional[Path] = Path(resume)
        if not path.is_file():
            raise InputError(f"resume={resume!r} is neither a mode {RESUME_MODES} nor a checkpoint file")
    else:
        path = latest_checkpoint(run_dir)
        if path is None:
            return None, None
    state = load_checkpoint(path)
    changes = config_changes(checkpoint_signature(state), signature)
    if not changes:
        return path, state
    if explicit:
        print(f"resuming from {path}, whose config differs: " + "; ".join(changes), flush=True)
        return path, state
    if resume == "same-config":
        print(f"{run_dir} holds checkpoints of another config ({'; '.join(changes)}): starting afresh", flush=True)
        return None, None
    raise ConfigError(f"{run_dir} holds checkpoints of another config ({'; '.join(changes)}); resuming would mix two "
                      f"runs. Start afresh there with --resume none (its checkpoints are removed), or use another --out.")


def clear_run(run_dir: Path, after_step: int = -1) -> None:
    """Remove what an earlier run left in ``run_dir`` beyond ``after_step`` (-1: everything): a fresh or
    resumed run must not leave checkpoints of another history for later jobs to pick up."""
    for p, step in {**planned_checkpoints(run_dir), **resume_checkpoints(run_dir)}.items():
        if step > after_step:
            p.unlink(missing_ok=True)
    (run_dir / "model.pt").unlink(missing_ok=True)
    if after_step < 0:
        (run_dir / "train_log.jsonl").unlink(missing_ok=True)


def truncate_log(log_path: Path, start: int) -> None:
    """Drop log records past the resumed step (written by the run that died after its last checkpoint)."""
    if not log_path.is_file():
        return
    keep = []
    for line in log_path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= start:
                keep.append(line)
        except (ValueError, KeyError, TypeError):  # a line cut short by the kill
            continue
    io.write_text(log_path, "".join(line + "\n" for line in keep))  # a kill leaves the old log or the new, never half

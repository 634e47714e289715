"""Checkpoints: state dicts plus the resolved config, written atomically, loaded without pickled code.

torch is imported inside the functions that need it, not at import: the report code reads
checkpoint names (``checkpoint_step``, ``latest_checkpoint``) without torch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, Union

from act import io

if TYPE_CHECKING:
    import torch

FORMAT = "act-bench/1"
NETWORKS = ("generator", "target", "eval_ema", "discriminator")  # every network a checkpoint can hold
_STEP_RE = re.compile(r"step-(\d+)\.pt$")
_RESUME_RE = re.compile(r"^resume-(\d+)\.pt$")


# The training state (``train_state``, ``restore_train_state``; read back by ``load_networks``), format FORMAT:
#   step                 steps done
#   config               the resolved ExperimentConfig (act.config.to_dict)
#   data_shape           one sample's shape; num_classes: the data's labels (0: none)
#   networks             {trained network: state_dict}, the method's phase order
#   network_configs      {trained network: its resolved config, preset and overrides applied}: what load_networks
#                        builds (checkpoints written before it existed build from the presets)
#   averaged             {averaged copy ("target", "eval_ema"): state_dict}; sampling_network: the sampled one's name
#   optimizers, scalers  {phase: state_dict}
#   method_state         {name: state_dict} of the method's other state (ACT-Aug's controller)
#   world_size, device_type   the processes and device that wrote it: together they decide the noise streams
#   log_accum            the train log's running sums since its last record (this process's): {"steps", "sums"}
EMPTY_LOG_ACCUM: Dict[str, Any] = {"steps": 0, "sums": {}}


def train_state(method: Any, optimizers: Dict[str, Any], scalers: Dict[str, Any], step: int, cfg: Any,
                dataset: Any, log_accum: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The training state of a run at ``step`` (the schema above)."""
    from act import distributed
    from act.config import to_dict

    return {
        "step": step,
        "config": to_dict(cfg),
        "data_shape": list(dataset[0][0].shape),
        "num_classes": int(getattr(dataset, "num_classes", 0)),
        "networks": {k: v.state_dict() for k, v in method.networks.items()},
        "network_configs": {k: dict(v.network_config) for k, v in method.networks.items()
                            if hasattr(v, "network_config")},
        "averaged": {k: v.state_dict() for k, v in method.averaged.items()},
        "sampling_network": method.sampling,
        "optimizers": {k: v.state_dict() for k, v in optimizers.items()},
        "scalers": {k: v.state_dict() for k, v in scalers.items()},
        "method_state": method.extra_state(),
        "world_size": distributed.world_size(),
        "device_type": next(next(iter(method.networks.values())).parameters()).device.type,
        "log_accum": log_accum or EMPTY_LOG_ACCUM,
    }


def restore_train_state(state: Dict[str, Any], method: Any, optimizers: Dict[str, Any],
                        scalers: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
    """Loads a training state into a method built from its config; returns (step, log_accum)."""
    for k, net in method.networks.items():
        net.load_state_dict(state["networks"][k])
    for k, net in method.averaged.items():
        net.load_state_dict(state["averaged"][k])
    for k, opt in optimizers.items():
        opt.load_state_dict(state["optimizers"][k])
    for k, sc in scalers.items():
        sc.load_state_dict(state["scalers"][k])
    method.load_extra_state(state.get("method_state", {}))
    return int(state["step"]), state.get("log_accum", EMPTY_LOG_ACCUM)


def save_checkpoint(path: Union[str, Path], state: Dict[str, Any]) -> None:
    """torch.save to a temporary file, fsync, rename: a crash never leaves half a checkpoint."""
    io.write_torch(path, {"format": FORMAT, **state}, fsync=True)


def load_checkpoint(path: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> Dict[str, Any]:
    import torch

    from act.errors import InputError, MissingInputError

    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"no checkpoint at {path}: pass a model.pt or checkpoints/step-*.pt written by act train")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001  a damaged file fails inside torch's unpickler in many ways
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"{path} is not a readable act-bench checkpoint ({type(e).__name__}: {first[:160]}); "
                         "pass a model.pt or checkpoints/step-*.pt written by act train (official ACT files: "
                         "act import-official)") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"{path} is not an act-bench checkpoint (format {FORMAT}); official ACT files: act import-official")
    return state


def checkpoint_path(run_dir: Union[str, Path], step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:07d}.pt"


def checkpoint_step(path: Union[str, Path]) -> Optional[int]:
    """The step in a ``step-XXXXXXX.pt`` file name, or None for any other name."""
    m = _STEP_RE.search(Path(path).name)
    return int(m.group(1)) if m else None


def resume_path(run_dir: Union[str, Path], step: int) -> Path:
    """A checkpoint written only to resume from (by wall time, or on a stop signal): not an evaluation point."""
    return Path(run_dir) / "checkpoints" / f"resume-{step:07d}.pt"


def resume_step(path: Union[str, Path]) -> Optional[int]:
    m = _RESUME_RE.search(Path(path).name)
    return int(m.group(1)) if m else None


def resume_checkpoints(run_dir: Union[str, Path]) -> Dict[Path, int]:
    """{resume-*.pt: step} under ``run_dir/checkpoints``."""
    folder = Path(run_dir) / "checkpoints"
    found = {p: resume_step(p) for p in (folder.glob("resume-*.pt") if folder.is_dir() else [])}
    return {p: k for p, k in found.items() if k is not None}


def planned_checkpoints(run_dir: Union[str, Path]) -> Dict[Path, int]:
    """{step-*.pt: step} under ``run_dir/checkpoints``: the evaluation points (``train.ckpt_every``)."""
    folder = Path(run_dir) / "checkpoints"
    found = {p: checkpoint_step(p) for p in (folder.glob("step-*.pt") if folder.is_dir() else [])}
    return {p: k for p, k in found.items() if k is not None}


def latest_checkpoint(run_dir: Union[str, Path]) -> Optional[Path]:
    """The checkpoint (planned or resume-only) with the highest step under ``run_dir/checkpoints``, or None;
    at equal steps the planned one."""
    steps = {**resume_checkpoints(run_dir), **planned_checkpoints(run_dir)}
    return max(steps, key=lambda p: (steps[p], p.name.startswith("step-"))) if steps else None


def prune_checkpoints(run_dir: Union[str, Path], keep_planned: int = 0) -> None:
    """Remove resume-only checkpoints older than the newest checkpoint, and (``keep_planned`` > 0) all but
    the newest ``keep_planned`` planned ones."""
    planned, resume = planned_checkpoints(run_dir), resume_checkpoints(run_dir)
    newest = max([*planned.values(), *resume.values()], default=None)
    for p, k in resume.items():
        if k != newest or newest in planned.values():
            p.unlink(missing_ok=True)
    if keep_planned > 0:
        for p in sorted(planned, key=planned.get)[:-keep_planned]:
            p.unlink(missing_ok=True)


def load_networks(path: Union[str, Path], which: Union[None, str, Sequence[str]] = None,
                  device: Union[str, torch.device] = "cpu") -> Tuple[Any, Any, Dict[str, Any]]:
    """Networks of a checkpoint, built from its config, in eval mode on ``device``: (network(s), config, state).

    ``which``: a name of :data:`NETWORKS` (the generator, its averaged copies ``target`` and
    ``eval_ema``, ACT's ``discriminator``), or None for the method's sampling network: that
    network (a KeyError if the checkpoint has none of the name); a sequence of names:
    ``{name: network}`` of those the checkpoint holds, in the sequence's order.
    """
    # here, not at import: act.checkpoint stays free of torch and of the method layer (see above)
    from act.adversarial import build_act_discriminator
    from act.config import generator_overrides, stored_config
    from act.networks import build_generator
    from act.networks.build import discriminator_from_config, generator_from_config

    state = load_checkpoint(path, map_location="cpu")
    cfg = stored_config(state["config"])
    weights = {"generator": state["networks"]["generator"], **state["averaged"]}
    if "discriminator" in state["networks"]:
        weights["discriminator"] = state["networks"]["discriminator"]

    stored = state.get("network_configs") or {}  # checkpoints written before they were stored: the presets

    def build(name: str) -> Any:
        if name == "discriminator":
            net = discriminator_from_config(stored[name]) if name in stored else build_act_discriminator(cfg.model, cfg.method)
        elif "generator" in stored:  # the averaged copies have the generator's shape
            net = generator_from_config(stored["generator"])
        else:
            net = build_generator(cfg.model.preset, **generator_overrides(cfg.model, cfg.noise))
        net.load_state_dict(weights[name])
        return net.to(device).eval()

    if which is None or isinstance(which, str):
        name = which or state["sampling_network"]
        if name not in weights:
            raise KeyError(f"{path} holds no network {name!r}; it has generator and {sorted(state['averaged'])}")
        return build(name), cfg, state
    return {name: build(name) for name in which if name in weights}, cfg, state

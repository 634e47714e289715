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


def save_checkpoint(path: Union[str, Path], state: Dict[str, Any]) -> None:
    """torch.save to a temporary file, fsync, rename: a crash never leaves half a checkpoint."""
    io.write_torch(path, {"format": FORMAT, **state}, fsync=True)


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
    from act.config import ExperimentConfig, from_dict, generator_overrides
    from act.networks import build_generator

    state = load_checkpoint(path, map_location="cpu")
    cfg = from_dict(ExperimentConfig, state["config"])
    weights = {"generator": state["networks"]["generator"], **state["averaged"]}
    if "discriminator" in state["networks"]:
        weights["discriminator"] = state["networks"]["discriminator"]

    def build(name: str) -> Any:
        net = build_act_discriminator(cfg) if name == "discriminator" else build_generator(
            cfg.model.preset, **generator_overrides(cfg))
        net.load_state_dict(weights[name])
        return net.to(device).eval()

    if which is None or isinstance(which, str):
        name = which or state["sampling_network"]
        if name not in weights:
            raise KeyError(f"{path} holds no network {name!r}; it has generator and {sorted(state['averaged'])}")
        return build(name), cfg, state
    return {name: build(name) for name in which if name in weights}, cfg, state

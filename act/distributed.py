"""Multi-process data parallelism for the training loop, without DistributedDataParallel.

Launch one process per GPU with torchrun; the loop reads the ``RANK`` / ``WORLD_SIZE`` /
``LOCAL_RANK`` environment it sets::

    torchrun --standalone --nproc_per_node=8 -m act.cli train -c config/cifar10_act.yaml -o runs/act8

``train.batch_size`` stays the global batch; each process takes its contiguous slice of the
step's indices. Gradients are averaged explicitly, one flattened all-reduce per phase, after
that phase's backward: DDP's reducer hooks into every backward and does not fit ACT's
per-phase ``requires_grad`` toggling or the double backward of R1. NCCL on CUDA, gloo on
the CPU (``torchrun ... -m act.cli train --set train.device=cpu`` runs anywhere).
Every helper is a no-op in a single process, so that path stays bit-identical.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

BACKENDS = {"cuda": "nccl", "cpu": "gloo"}


def launched() -> bool:
    """Whether a launcher (torchrun, SLURM wrappers) asked for a process group."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or "RANK" in os.environ


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Rank 0 writes logs, configs and checkpoints; the others only compute."""
    return rank() == 0


def backend() -> Optional[str]:
    return dist.get_backend() if is_distributed() else None


def init(device: torch.device) -> Tuple[torch.device, bool]:
    """Join the process group the launcher describes; returns this process's device and whether
    this call created the group (the caller then destroys it).

    A group that already exists is used as is. On CUDA each process takes ``cuda:LOCAL_RANK``.
    """
    if is_distributed():
        if device.type == "cuda":
            device = torch.device("cuda", torch.cuda.current_device())
        return device, False
    if not launched():
        return device, False
    if device.type not in BACKENDS:
        raise ValueError(f"no distributed backend for device type {device.type!r}; supported: {sorted(BACKENDS)}")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group(backend=BACKENDS[device.type])
    return device, True


def destroy() -> None:
    if is_distributed():
        dist.destroy_process_group()


def barrier() -> None:
    if not is_distributed():
        return
    if backend() == "nccl":
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


def _coalesced(tensors: Sequence[torch.Tensor], op: Callable[[torch.Tensor], None]) -> None:
    """Apply the in-place collective ``op`` to ``tensors`` as one flat buffer per (device, dtype)."""
    buckets: Dict[Tuple[torch.device, torch.dtype], List[torch.Tensor]] = {}
    for t in tensors:
        buckets.setdefault((t.device, t.dtype), []).append(t)
    for group in buckets.values():
        flat = _flatten_dense_tensors(group)
        op(flat)
        for t, synced in zip(group, _unflatten_dense_tensors(flat, group)):
            t.copy_(synced)


def all_reduce_gradients(params: Iterable[nn.Parameter]) -> None:
    """Average the gradients of ``params`` over all processes, in place (one all-reduce per dtype).

    Run it on the *scaled* gradients before ``GradScaler.step``: every process then unscales the
    same numbers and takes the same inf/NaN decision.
    """
    world = world_size()
    if world == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]

    def average(flat: torch.Tensor) -> None:
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(world)

    _coalesced(grads, average)


@torch.no_grad()
def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Overwrite ``module``'s parameters and buffers with those of process ``src``."""
    if world_size() == 1:
        return
    tensors = list(module.parameters()) + list(module.buffers())
    _coalesced(tensors, lambda flat: dist.broadcast(flat, src=src))


def all_reduce_mean(values: Sequence[float], device: torch.device) -> List[float]:
    """The mean over processes of each of ``values`` (every process passes the same number of them)."""
    world = world_size()
    if world == 1:
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)  # (n,)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return (t / world).tolist()


def broadcast_object(obj: object, src: int = 0) -> object:
    """``src``'s value of a small picklable object, on every process."""
    if world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]

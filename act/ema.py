"""Exponential moving averages of network weights (CT's target network, evaluation EMAs)."""

from __future__ import annotations

import copy
import weakref
from typing import List, Tuple

import torch
from torch import nn


def ema_copy(net: nn.Module) -> nn.Module:
    """A frozen copy of ``net`` to hold an average; it stays in train mode so dropout matches the student's."""
    avg = copy.deepcopy(net)
    avg.requires_grad_(False)
    return avg


def _averaged_tensors(net: nn.Module) -> List[torch.Tensor]:
    return [p for p in net.parameters()] + [b for b in net.buffers() if b.is_floating_point()]


# avg -> (net, avg's tensors, net's tensors), gathered once: walking the module tree every step
# costs more than the update itself for small nets. Rebuilt when the pair or a first tensor changes.
_PAIRS: "weakref.WeakKeyDictionary[nn.Module, Tuple[nn.Module, List[torch.Tensor], List[torch.Tensor]]]" = (
    weakref.WeakKeyDictionary())


def _tensor_lists(avg: nn.Module, net: nn.Module) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
    cached = _PAIRS.get(avg)
    if (cached is None or cached[0] is not net or not cached[1]
            or cached[1][0] is not next(avg.parameters()) or cached[2][0] is not next(net.parameters())):
        cached = (net, _averaged_tensors(avg), _averaged_tensors(net))
        if len(cached[1]) != len(cached[2]):
            raise ValueError(f"EMA of a network with {len(cached[1])} tensors from one with {len(cached[2])}")
        _PAIRS[avg] = cached
    return cached[1], cached[2]


@torch.no_grad()
def ema_update(avg: nn.Module, net: nn.Module, decay: float) -> None:
    """avg <- decay * avg + (1 - decay) * net, over parameters and floating buffers."""
    a, n = _tensor_lists(avg, net)
    if decay == 0.0:
        torch._foreach_copy_(a, n)
    else:
        torch._foreach_lerp_(a, n, 1.0 - decay)

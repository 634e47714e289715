"""Exponential moving averages of network weights (CT's target network, evaluation EMAs)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_copy(net: nn.Module) -> nn.Module:
    """A frozen copy of ``net`` to hold an average; it stays in train mode so dropout matches the student's."""
    avg = copy.deepcopy(net)
    avg.requires_grad_(False)
    return avg


@torch.no_grad()
def ema_update(avg: nn.Module, net: nn.Module, decay: float) -> None:
    """avg <- decay * avg + (1 - decay) * net, over parameters and floating buffers."""
    a = [p for p in avg.parameters()] + [b for b in avg.buffers() if b.is_floating_point()]
    n = [p for p in net.parameters()] + [b for b in net.buffers() if b.is_floating_point()]
    if decay == 0.0:
        torch._foreach_copy_(a, n)
    else:
        torch._foreach_lerp_(a, n, 1.0 - decay)

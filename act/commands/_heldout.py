"""Shared by ``act denoise`` and ``act inpaint``: a checkpoint plus a held-out batch of its dataset."""

from __future__ import annotations

import argparse
from typing import Any, Optional, Tuple

from act.checkpoint import load_networks
from act.errors import InputError


def add_heldout_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="model.pt or checkpoints/step-*.pt of a run")
    p.add_argument("--split", default="test", help="dataset split the images come from")
    p.add_argument("--seed", type=int, default=0, help="seed choosing the images (and the noise)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available, else the CPU), cpu, cuda, cuda:1, ...")
    p.add_argument("--network", default=None, help="generator, target or eval_ema (default: the sampling network)")


def load_heldout(args: argparse.Namespace, num: int) -> Tuple[Any, Any, dict, Any, Optional[Any], Any]:
    """(net, cfg, state, x0 on device, labels or None, device): ``num`` images drawn by ``args.seed``."""
    import torch

    from act.data import build_dataset
    from act.devices import resolve_device

    device = resolve_device(args.device)
    net, cfg, state = load_networks(args.checkpoint, args.network, device)
    if len(state["data_shape"]) != 3:
        raise InputError(f"{args.checkpoint} is not an image model")
    d = cfg.data
    ds = build_dataset(d.name, root=d.root, split=args.split, resolution=d.resolution, **d.options)
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(args.seed))[:num]
    x0, y = ds.get_batch(idx)
    labels = y.to(device) if getattr(net.backbone, "num_classes", None) else None
    return net, cfg, state, x0.to(device), labels, device

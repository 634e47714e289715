"""Which torch device a ``--device`` / ``train.device`` string names."""

from __future__ import annotations

import torch

from act.errors import ConfigError


def resolve_device(spec: str = "auto", strict: bool = True) -> torch.device:
    """``auto``: CUDA when available, else the CPU; anything else is passed to ``torch.device``.

    ``strict``: a CUDA device asked for where CUDA is missing is an error here (training), rather
    than later at the first tensor moved there (the metrics code, which passes ``strict=False``).
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"unknown device {spec!r}: use auto, cpu, cuda or cuda:<index>") from None
    if strict and device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {spec!r} requested but CUDA is not available here: use device auto or cpu")
    return device


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA), so that a wall-clock time measures it; no-op elsewhere."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)

"""Inception Score (Salimans et al. 2016) with torch-fidelity's 'inception-v3-compat' network.

IS needs the 1008-way logits of the TF 2015-12-05 Inception-v3, which no PyPI
package ships: torch-fidelity downloads ``weights-inception-2015-12-05-6726825d.pth``
from GitHub on first use. Here the file is looked up locally, in this order:
the given path, $ACT_INCEPTION_WEIGHTS, ``resources/weights/``, and the torch hub
cache where torch-fidelity leaves it (``<torch hub dir>/checkpoints/``). It is
downloaded only when ``allow_download=True``. Without it, the score is reported
as ``{"value": None, "missing": <reason>}``: evaluation never fails for want of IS.

Images are resized inside torch-fidelity's extractor (TF1 bilinear to 299 px),
exactly as ``torch_fidelity.calculate_metrics(isc=True)`` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch
from tqdm import tqdm

from act.devices import resolve_device
from act.metrics.inception import no_tf32, to_nchw_rgb
from act.metrics.scores import inception_score_from_logits

IS_NETWORK = "inception-v3-compat"  # torch-fidelity's registry name
IS_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
IS_WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{IS_WEIGHTS_FILE}"
IS_WEIGHTS_ENV = "ACT_INCEPTION_WEIGHTS"


def inception_weights_candidates(path: Optional[str] = None) -> list:
    """Where the IS weights are looked for, in order."""
    candidates = []
    if path:
        candidates.append(Path(path).expanduser())
    if os.environ.get(IS_WEIGHTS_ENV):
        candidates.append(Path(os.environ[IS_WEIGHTS_ENV]).expanduser())
    candidates.append(Path("resources/weights") / IS_WEIGHTS_FILE)
    candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / IS_WEIGHTS_FILE)
    return candidates


def find_inception_weights(path: Optional[str] = None) -> Optional[Path]:
    """The first existing file among :func:`inception_weights_candidates`, else None."""
    for c in inception_weights_candidates(path):
        if c.is_file():
            return c
    return None


def missing_reason(path: Optional[str] = None) -> str:
    """Why IS is not computed, and how to fix it, naming every place searched."""
    looked = ", ".join(str(c) for c in inception_weights_candidates(path))
    return (
        f"Inception Score needs the torch-fidelity Inception weights {IS_WEIGHTS_FILE} (1008-class logits), "
        f"not found (looked in: {looked}). Download {IS_WEIGHTS_URL} and pass --inception-weights PATH "
        f"or set {IS_WEIGHTS_ENV}, or put it in one of those places."
    )


def build_is_extractor(weights: Optional[Path], device: torch.device) -> torch.nn.Module:
    """torch-fidelity's Inception with 'logits_unbiased'; ``weights=None`` lets torch-fidelity download."""
    from torch_fidelity.utils import create_feature_extractor

    kwargs: Dict[str, Any] = {"verbose": False}
    if weights is not None:
        kwargs["feature_extractor_weights_path"] = str(weights)
    fx = create_feature_extractor(IS_NETWORK, ["logits_unbiased"], cuda=False, **kwargs)
    return fx.to(device)


@torch.inference_mode()
def inception_logits(images: np.ndarray, extractor: torch.nn.Module, batch_size: int = 64,
                     progress: bool = True) -> np.ndarray:
    """'logits_unbiased' (N, 1008) of uint8 images (N, H, W, C)."""
    device = next(extractor.parameters()).device
    out = []
    with no_tf32():
        for start in tqdm(range(0, len(images), batch_size), desc="inception logits", disable=not progress):
            x = to_nchw_rgb(images[start:start + batch_size]).contiguous().to(device)
            out.append(extractor(x)[0].to(torch.float64).cpu().numpy())
    return np.concatenate(out)


def inception_score(images: np.ndarray, weights_path: Optional[str] = None, *, allow_download: bool = False,
                    device: str = "auto", batch_size: int = 64, splits: int = 10,
                    progress: bool = True) -> Dict[str, Any]:
    """IS of uint8 images (N, H, W, C): ``{"value", "std", "splits", "weights"}`` or ``{"value": None, "missing"}``.

    Never raises for missing or unreadable weights (nor a failed download): the reason is returned instead.
    """
    if weights_path and not Path(weights_path).expanduser().is_file():
        return {"value": None, "missing": f"--inception-weights {weights_path} does not exist. " + missing_reason()}
    weights = find_inception_weights(weights_path)
    if weights is None and not allow_download:
        return {"value": None, "missing": missing_reason(weights_path)}
    try:
        extractor = build_is_extractor(weights, resolve_device(device, strict=False))
    except Exception as err:  # unreadable file, failed download: report, do not crash the evaluation
        where = str(weights) if weights is not None else IS_WEIGHTS_URL
        return {"value": None, "missing": f"could not load Inception weights from {where}: {err!r}. "
                                          + missing_reason(weights_path)}
    logits = inception_logits(images, extractor, batch_size, progress)
    out: Dict[str, Any] = inception_score_from_logits(logits, splits)
    out["weights"] = str(weights) if weights is not None else IS_WEIGHTS_URL
    return out

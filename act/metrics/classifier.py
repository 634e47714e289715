"""Dataset-specific classifier metrics, for data without ImageNet classes (Fashion-MNIST, toy).

Inception's ImageNet classes say little about Fashion-MNIST, so, as is common for
MNIST-like generators, a small classifier is trained on the dataset's own labels
and gives two scores whose names say where they come from:

- ``classifier_is``: the Inception Score formula (Salimans et al. 2016),
  exp(E_x KL(p(y|x) || p(y))), over this classifier's softmax;
- ``classifier_fd``: the Fréchet distance (Heusel et al. 2017) between its
  penultimate-layer features of samples and of reference images.

Neither is comparable with Inception IS/FID or across classifiers: report them
with the classifier file. Checkpoints are a state dict plus config, written atomically.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from act import io
from act.errors import UserError
from act.metrics import reference  # the module, not its functions: tests can substitute reference.open_dataset
from act.metrics.scores import fid_from_features, inception_score_from_logits

CHECKPOINT_FORMAT = "act-classifier/1"


@dataclass
class ClassifierConfig:
    dataset: str = "fashion_mnist"
    data_root: Optional[str] = None
    split: str = "train"
    channels: int = 1  # for point data: the dimension D
    resolution: Optional[int] = 32  # None: point data (an MLP instead of a CNN)
    data_resolution: Optional[int] = None  # the loader's resolution (None: its default); see act.data
    num_classes: int = 10
    width: int = 32  # channels of the first conv; x2 at each of the two downsamplings
    feature_dim: int = 128  # penultimate layer: what classifier_fd compares
    steps: int = 500  # about one Fashion-MNIST epoch at batch 128; the checkpoint's JSON records test accuracy
    batch_size: int = 128
    lr: float = 1e-3  # Adam's usual rate for a small net trained from scratch
    seed: int = 0


class SmallCNN(nn.Module):
    """Three conv stages (32 -> 16 -> 8 px at 32 px input), global average pool, feature layer, linear head."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        w = cfg.width

        def block(cin: int, cout: int, stride: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(8, cout), nn.SiLU())

        self.body = nn.Sequential(block(cfg.channels, w, 1), block(w, 2 * w, 2), block(2 * w, 4 * w, 2))
        self.feature = nn.Sequential(nn.Linear(4 * w, cfg.feature_dim), nn.SiLU())
        self.head = nn.Linear(cfg.feature_dim, cfg.num_classes)

    def features_and_logits(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x).mean(dim=(2, 3))  # (B, 4w)
        f = self.feature(h)  # (B, feature_dim)
        return f, self.head(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


class SmallMLP(nn.Module):
    """Two hidden layers for point data (toy2d); same interface as :class:`SmallCNN`."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(cfg.channels, 4 * cfg.width), nn.SiLU())
        self.feature = nn.Sequential(nn.Linear(4 * cfg.width, cfg.feature_dim), nn.SiLU())
        self.head = nn.Linear(cfg.feature_dim, cfg.num_classes)

    def features_and_logits(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        f = self.feature(self.body(x))
        return f, self.head(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


def build_classifier(cfg: ClassifierConfig) -> nn.Module:
    """A CNN for images, an MLP for points."""
    return SmallCNN(cfg) if cfg.resolution is not None else SmallMLP(cfg)


def _accuracy(net: nn.Module, ds: Any, device: torch.device, max_items: int = 2000, batch_size: int = 500) -> float:
    idx = torch.arange(min(len(ds), max_items))
    correct = 0
    with torch.inference_mode():
        for chunk in idx.split(batch_size):
            x, y = ds.get_batch(chunk)
            correct += int((net(x.to(device)).argmax(dim=1).cpu() == y).sum())
    return correct / max(1, len(idx))


def train_classifier(cfg: ClassifierConfig, device: str = "cpu", log_every: int = 50
                     ) -> Tuple[nn.Module, ClassifierConfig, Dict[str, Any]]:
    """Train on ``cfg.dataset``'s labels with Adam and cross-entropy; returns net, resolved config, metrics."""
    ds = reference.open_dataset(cfg.dataset, root=cfg.data_root, split=cfg.split, resolution=cfg.data_resolution)
    num_classes = int(getattr(ds, "num_classes", 0) or 0)
    if num_classes < 2:
        raise ValueError(f"{cfg.dataset} has no class labels (num_classes={num_classes}); nothing to classify")
    shape = tuple(ds.shape) if hasattr(ds, "shape") else tuple(ds[0][0].shape)
    cfg = dataclasses.replace(cfg, num_classes=num_classes, channels=int(shape[0]),
                              resolution=int(shape[-1]) if len(shape) == 3 else None)
    torch.manual_seed(cfg.seed)
    dev = torch.device(device)
    net = build_classifier(cfg).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)  # batch i depends only on (seed, i)
    log, t0 = [], time.perf_counter()
    net.train()
    for step in range(cfg.steps):
        idx = torch.randint(len(ds), (cfg.batch_size,), generator=gen)
        x, y = ds.get_batch(idx)
        logits = net(x.to(dev))
        loss = F.cross_entropy(logits, y.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % log_every == 0 or step + 1 == cfg.steps:
            acc = (logits.argmax(dim=1) == y.to(dev)).float().mean().item()
            log.append({"step": step + 1, "loss": loss.item(), "batch_accuracy": acc})
    net.eval()
    metrics: Dict[str, Any] = {"train_seconds": time.perf_counter() - t0, "log": log}
    try:
        test = reference.open_dataset(cfg.dataset, root=cfg.data_root, split="test", resolution=cfg.data_resolution)
        metrics["test_accuracy"] = _accuracy(net, test, dev)
    except (UserError, FileNotFoundError, ValueError, KeyError) as err:  # no test split: say so, keep the classifier
        metrics["test_accuracy"] = None
        metrics["test_accuracy_missing"] = repr(err)
    return net, cfg, metrics


def save_classifier(path: str, net: nn.Module, cfg: ClassifierConfig, metrics: Dict[str, Any]) -> Path:
    """State dict + config + training metrics (atomically), and the same minus weights as JSON beside it."""
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    io.write_torch(path, {"format": CHECKPOINT_FORMAT, "config": asdict(cfg), "state_dict": state, "metrics": metrics})
    io.write_json(Path(path).with_suffix(".json"), {"format": CHECKPOINT_FORMAT, "config": asdict(cfg), "metrics": metrics},
                  allow_nan=False)
    return Path(path)


def load_classifier(path: str, device: str = "cpu") -> Tuple[nn.Module, ClassifierConfig]:
    """Rebuild a classifier saved by :func:`save_classifier` (weights only: no pickled code)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an act classifier checkpoint (format {CHECKPOINT_FORMAT})")
    cfg = ClassifierConfig(**ckpt["config"])
    net = build_classifier(cfg)
    net.load_state_dict(ckpt["state_dict"])
    return net.to(torch.device(device)).eval(), cfg


def images_for_classifier(images: np.ndarray, cfg: ClassifierConfig) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float (N, cfg.channels, R, R) in [-1, 1], matching the classifier's input."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).to(torch.float32) / 127.5 - 1.0
    if x.shape[1] != cfg.channels:
        if cfg.channels == 1:
            x = x.mean(dim=1, keepdim=True)
        elif x.shape[1] == 1:
            x = x.expand(-1, cfg.channels, -1, -1)
        else:
            raise ValueError(f"cannot map {x.shape[1]} channels onto the classifier's {cfg.channels}")
    if cfg.resolution is not None and x.shape[-1] != cfg.resolution:
        x = F.interpolate(x, size=(cfg.resolution, cfg.resolution), mode="bilinear", antialias=True,
                          align_corners=False)
    return x


@torch.inference_mode()
def classifier_outputs(net: nn.Module, x: torch.Tensor, batch_size: int = 256) -> Tuple[np.ndarray, np.ndarray]:
    """Penultimate features (N, feature_dim) and logits (N, classes) of classifier inputs ``x``."""
    device = next(net.parameters()).device
    feats, logits = [], []
    for chunk in x.split(batch_size):
        f, lg = net.features_and_logits(chunk.to(device))
        feats.append(f.double().cpu().numpy())
        logits.append(lg.double().cpu().numpy())
    return np.concatenate(feats), np.concatenate(logits)


def moment_matched_gaussian(reference: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n uint8 images drawn from the Gaussian with ``reference``'s per-pixel mean and full pixel covariance,
    rounded and clipped to [0, 255] as generated samples are: the trivial generator a working model must beat
    (the image counterpart of act.metrics.toy's ``w1_gaussian``). Draws from ``torch.Generator(seed)``."""
    x = reference.reshape(len(reference), -1).astype(np.float64)
    mean, cov = x.mean(axis=0), np.cov(x, rowvar=False)
    # eigh, not Cholesky: the covariance of padded images is singular (constant border pixels); root root^T = cov
    w, v = np.linalg.eigh(cov)
    root = v * np.sqrt(np.clip(w, 0.0, None))
    z = torch.randn((n, x.shape[1]), generator=torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()
    draws = mean + z @ root.T
    return np.clip(np.rint(draws), 0, 255).astype(np.uint8).reshape((n,) + reference.shape[1:])


def classifier_metrics(net: nn.Module, cfg: ClassifierConfig, samples: np.ndarray, reference: np.ndarray,
                       splits: int = 10, gaussian_seed: Optional[int] = None,
                       moments_of: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """``classifier_is`` (+ std) of the samples and ``classifier_fd`` against the reference images; with
    ``gaussian_seed``, also ``classifier_fd_gaussian``: the moment-matched Gaussian's (as many images as samples),
    its moments fitted on ``moments_of`` (images disjoint from the reference: act.metrics.reference.moment_images;
    default: the reference itself, which favours the Gaussian a little)."""
    fs, ls = classifier_outputs(net, images_for_classifier(samples, cfg))
    fr, _ = classifier_outputs(net, images_for_classifier(reference, cfg))
    score = inception_score_from_logits(ls, splits)
    out = {"classifier_is": score["value"], "classifier_is_std": score["std"],
           "classifier_fd": fid_from_features(fs, fr), "classifier_dataset": cfg.dataset,
           "classifier_feature_dim": cfg.feature_dim}
    if gaussian_seed is not None:
        gauss = moment_matched_gaussian(reference if moments_of is None else moments_of, len(samples), gaussian_seed)
        fg, _ = classifier_outputs(net, images_for_classifier(gauss, cfg))
        out.update(classifier_fd_gaussian=fid_from_features(fg, fr), gaussian_seed=gaussian_seed)
    return out

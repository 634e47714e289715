"""Image grids and toy scatter plots written by the CLI."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch


def save_grid(images: torch.Tensor, path: Union[str, Path], nrow: Optional[int] = None, scale: int = 2,
              row_labels: Optional[Sequence[str]] = None) -> Path:
    """[-1, 1] images (B, C, H, W) -> one PNG grid, upscaled ``scale`` times (nearest) for legibility,
    with an optional label to the left of each row."""
    from PIL import Image, ImageDraw
    from torchvision.utils import make_grid

    nrow = nrow or max(1, int(math.ceil(math.sqrt(images.shape[0]))))
    grid = make_grid(images.float().clamp(-1, 1), nrow=nrow, padding=2, pad_value=1.0, normalize=True, value_range=(-1, 1))
    arr = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    img = Image.fromarray(arr if arr.shape[2] == 3 else arr[..., 0])
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    if row_labels:
        margin = 8 + 7 * max(len(t) for t in row_labels)
        white, black = ((255, 255, 255), (0, 0, 0)) if img.mode == "RGB" else (255, 0)
        canvas = Image.new(img.mode, (img.width + margin, img.height), white)
        canvas.paste(img, (margin, 0))
        draw = ImageDraw.Draw(canvas)
        row_h = img.height / len(row_labels)
        for i, text in enumerate(row_labels):
            draw.text((4, int((i + 0.5) * row_h) - 5), text, fill=black)
        img = canvas
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def save_scatter(points: torch.Tensor, path: Union[str, Path], reference: Optional[torch.Tensor] = None, title: str = "") -> Path:
    """2-D samples (and optionally data) as a scatter plot PNG."""
    import matplotlib  # here, at the first plot: matplotlib is slow to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=2, alpha=0.3, color="0.6", label="data")
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.6, color="C0", label="samples")
    ax.set_aspect("equal")
    lim = 2.0
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.legend(loc="upper right", markerscale=4, fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

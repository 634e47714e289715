"""``act inpaint``: zero-shot inpainting of held-out images (Consistency Models' Alg. 4)."""

from __future__ import annotations

import argparse

from act.commands._heldout import add_heldout_args, load_heldout
from act.provenance import provenance, write_json_atomic

DEFAULT_GRID_POINTS = 40  # sigmas are taken along a 40-point Karras grid, from sigma_max down
SHOWN = 16  # inpaint.png shows the first 16 images (a legible strip); the PSNRs cover all --num


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inpaint", help="zero-shot inpainting with a trained checkpoint",
                       description="Writes inpaint.png (rows: masked input, result, ground truth; the first "
                       f"{SHOWN} images) and inpaint.json (PSNR on the filled region, every image) into --out.")
    add_heldout_args(p)
    p.add_argument("--out", "-o", required=True, help="output folder")
    p.add_argument("--mask", default="center", choices=("center", "left", "strokes"),
                   help="region to fill: a centre box, the left half, or random strokes")
    p.add_argument("--num", type=int, default=8, help="number of test images")
    p.add_argument("--sigmas", type=float, nargs="+", default=None,
                   help="decreasing noise levels (default: 8 levels along a 40-point Karras grid)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import functools
    import json
    from pathlib import Path

    import torch

    from act.inpainting import make_mask, psnr_filled, sample_inpaint, trivial_fill
    from act.sampling import ImageNoise
    from act.schedules import karras_sigmas
    from act.viz import save_grid

    net, cfg, state, y, labels, device = load_heldout(args, args.num)
    if args.sigmas:
        sigmas = list(args.sigmas)
    else:
        grid = karras_sigmas(DEFAULT_GRID_POINTS, cfg.noise.sigma_min, cfg.noise.sigma_max, cfg.noise.rho).flip(0)
        sigmas = [float(grid[i]) for i in range(0, DEFAULT_GRID_POINTS, 5)]
    c, h, w = y.shape[1:]
    mask = make_mask(args.mask, y.shape[0], h, w, seed=args.seed).to(device)
    noise = ImageNoise(range(args.seed, args.seed + y.shape[0]), (c, h, w), device)
    sampler = functools.partial(sample_inpaint, known=y, mask=mask)
    result = sampler(net, float(sigmas[0]) * noise(0), sigmas, labels=labels, noise=noise)
    masked = mask * y + (1 - mask) * torch.full_like(y, -1.0)
    psnr = psnr_filled(result, y, mask)
    trivial = psnr_filled(trivial_fill(y, mask), y, mask)  # what knowing only the visible pixels gives
    out = Path(args.out)
    shown = min(SHOWN, y.shape[0])
    save_grid(torch.cat([masked[:shown], result[:shown], y[:shown]]).cpu(), out / "inpaint.png", nrow=shown,
              row_labels=["masked", "inpainted", "truth"])
    write_json_atomic(out / "inpaint.json", provenance({
        "checkpoint": str(args.checkpoint), "mask": args.mask, "sigmas": sigmas, "num": int(y.shape[0]),
        "psnr_filled_mean": float(psnr.mean()), "psnr_filled": psnr.tolist(),
        "psnr_trivial_mean": float(trivial.mean()), "psnr_trivial": trivial.tolist(),
        "trivial_fill": "each image's per-channel mean of its known pixels"}))
    print(json.dumps({"psnr_filled_mean": float(psnr.mean()), "psnr_trivial_mean": float(trivial.mean()),
                      "wrote": str(out / "inpaint.png")}))
    return 0

"""``act denoise``: f(x0 + sigma z, sigma) on held-out data at chosen noise levels, as a grid.

Shows what a consistency model has learnt before its one-step samples look like
data: rows are the clean images, then for each sigma the noisy input and the
model's output.
"""

from __future__ import annotations

import argparse

from act.commands._heldout import add_heldout_args, load_heldout


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("denoise", help="grid of f(x0 + sigma z, sigma) on held-out data",
                       description="Rows: clean test images; then, per sigma, the noisy input and the model's estimate of x0.")
    add_heldout_args(p)
    p.add_argument("--out", "-o", required=True, help="PNG path (a .json of the errors is written beside it)")
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.5, 1.0, 2.0, 5.0],
                   help="noise levels sigma, one row pair each (data units: images in [-1, 1])")
    p.add_argument("--num", type=int, default=10, help="images per row")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    from act.viz import save_grid

    net, _, _, x0, labels, device = load_heldout(args, args.num)
    g = torch.Generator().manual_seed(args.seed)
    rows, mse, labels_txt = [x0.cpu()], {}, ["clean x0"]
    for s in args.sigmas:
        z = torch.randn(x0.shape, generator=g).to(device)
        xs = x0 + s * z
        with torch.no_grad():
            est = net(xs, torch.full((x0.shape[0],), s, device=device), labels)
        rows += [xs.clamp(-1, 1).cpu(), est.clamp(-1, 1).cpu()]
        labels_txt += [f"x0+{s:g}z", f"f(., {s:g})"]
        mse[str(s)] = float(((est.clamp(-1, 1) - x0) ** 2).mean())
    save_grid(torch.cat(rows), args.out, nrow=args.num, row_labels=labels_txt)
    Path(args.out).with_suffix(".json").write_text(json.dumps({"sigmas": args.sigmas, "mse_to_clean": mse}, indent=2))
    print(json.dumps({"wrote": args.out, "mse_to_clean": mse}))
    return 0

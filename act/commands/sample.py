"""``act sample``: one-step or multistep samples of a checkpoint, as an .npz and a PNG grid."""

from __future__ import annotations

import argparse

from act.errors import InputError

from act.checkpoint import load_networks
from act.metrics.protocol import QUANTIZATIONS
from act.provenance import provenance, write_json_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained checkpoint",
        description="Writes samples.npz (images: uint8 (N, H, W, C), the same array as arr_0 for the ADM "
        "evaluator, and labels; or points: float (N, 2) for 2-D toy data), grid.png (or scatter.png) and "
        "sample.json into --out. Image i comes from seed + i whatever the batch size.",
    )
    p.add_argument("--checkpoint", required=True, help="model.pt or checkpoints/step-*.pt of a run")
    p.add_argument("--out", "-o", required=True, help="output folder")
    p.add_argument("--num", type=int, default=None, help="number of samples (default: the config's sample.num_samples)")
    p.add_argument("--steps", type=int, choices=(1, 2), default=None, help="1 (sigma_max) or 2 (sigma_max, then the config's second sigma)")
    p.add_argument("--sigmas", type=float, nargs="+", default=None, help="explicit decreasing noise levels, e.g. 80 0.661")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of image 0; image i uses seed + i (default: the config's sample.seed)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="images per forward pass; does not change the images (default: the config's sample.batch_size)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available, else the CPU), cpu, cuda, cuda:1, ...")
    p.add_argument("--network", default=None, help="which weights: generator, target or eval_ema (default: the method's sampling network)")
    p.add_argument("--quantize", choices=QUANTIZATIONS, default=None,
                   help="images to uint8: truncate (the official FID paths) or round (default: the config's sample.quantize)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


TWO_STEP_SIGMA = 0.661  # default second sigma when --steps 2 and the config names only one


def run(args: argparse.Namespace) -> int:
    from act.devices import resolve_device

    out = sample_to_dir(args.checkpoint, args.out, resolve_device(args.device), num=args.num, steps=args.steps,
                        sigmas=args.sigmas, seed=args.seed, batch_size=args.batch_size, network=args.network, quantize=args.quantize,
                        progress=not args.no_progress)
    print(f"wrote {out / 'samples.npz'}")
    return 0


def sampling_sigmas(config_sigmas, steps=None, sigmas=None) -> list:
    """The noise levels of a run: explicit ``sigmas``, else the config's cut or padded to ``steps``."""
    sigmas = list(sigmas or config_sigmas)
    if steps == 1:
        sigmas = sigmas[:1]
    elif steps == 2 and len(sigmas) < 2:
        sigmas = [sigmas[0], TWO_STEP_SIGMA]
    if any(a <= b for a, b in zip(sigmas, sigmas[1:])):
        raise InputError(f"--sigmas must decrease, got {sigmas}")
    return sigmas


def sample_to_dir(checkpoint, out, device, *, num=None, steps=None, sigmas=None, seed=None, batch_size=None,
                  network=None, quantize=None, progress=True, plot=True, loaded=None, eval_seed=None):
    """Samples of ``checkpoint`` into ``out``: samples.npz, sample.json and (``plot``) grid.png or scatter.png.

    ``loaded``: the (net, cfg, state) of :func:`act.checkpoint.load_networks`, when the caller has them.
    ``eval_seed``: recorded in sample.json beside ``seed`` (act score-run's, which chose ``seed``).
    """
    from pathlib import Path

    from act import io
    from act.config import to_dict
    from act.sampling import generate, to_uint8

    net, cfg, state = loaded or load_networks(checkpoint, network, device)
    sc = cfg.sample
    sigmas = sampling_sigmas(sc.sigmas, steps, sigmas)
    num = num or sc.num_samples
    seed = sc.seed if seed is None else seed
    quantize = quantize or sc.quantize
    shape = tuple(state["data_shape"])
    num_classes = int(getattr(net.backbone, "num_classes", 0) or 0)
    x, labels = generate(net, num, shape, sigmas, seed=seed, batch_size=batch_size or sc.batch_size,
                         device=device, num_classes=num_classes, progress=progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {"labels": labels.numpy()} if labels is not None else {}
    if x.ndim == 2:  # 2-D toy points
        io.write_npz(out / "samples.npz", points=x.numpy(), **arrays)
        if plot:
            from act.viz import save_scatter

            save_scatter(x[:5000], out / "scatter.png", title=f"{cfg.method.name}, {len(sigmas)}-step")
    else:
        images = to_uint8(x, quantize)
        # arr_0: the same images under the ADM evaluator's key, so its evaluator.py reads this file as it is
        io.write_npz(out / "samples.npz", images=images, arr_0=images, **arrays)
        if plot:
            from act.viz import save_grid

            save_grid(x[: sc.grid_size], out / "grid.png")
    write_json_atomic(out / "sample.json", provenance({
        "checkpoint": str(checkpoint), "step": state["step"], "network": network or state["sampling_network"],
        "num": num, "seed": seed, **({"eval_seed": eval_seed} if eval_seed is not None else {}), "sigmas": sigmas, "quantize": quantize if x.ndim == 4 else None,
        "config": to_dict(cfg)}))
    return out

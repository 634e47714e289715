"""``act theory``: Wasserstein-bound proxies of checkpoints on one fixed probe (docs/METHOD.md s.5).

The probe's seed is by default the first checkpoint's training seed: every checkpoint of a run
shares one probe, and each run has its own, so an interval over seeds includes the probe's noise.

Per checkpoint ``<stem>.csv`` (one row per timestep), ``<stem>.json`` (one-step distances,
Lipschitz estimate, eps term, N, step) and ``<stem>.png``; with several checkpoints also
``over_training.csv`` and ``over_training.png``. The probe is written to ``probe.pt`` in
the output folder and reused by later runs into the same folder.
"""

from __future__ import annotations

import argparse

from act.errors import InputError

from act.checkpoint import load_checkpoint
from act.metrics.protocol import IMAGE_DISTANCES
from act.provenance import provenance, write_json_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "theory", help="CT-loss Wasserstein bound against measured distances, per checkpoint",
        description="Measures per-timestep l2 CT losses l_n on a fixed probe of (x0, z), the cumulative bound "
        "B_k = sum_{n<k} l_n + eps E||z||, and the distance of f(x0 + sigma_k z, sigma_k) to the probe's own x0 "
        "(bounded by B_k) and to independent data: exact W1 (2-D toy data and, by default, images; --image-distance).")
    p.add_argument("--checkpoint", action="extend", nargs="+", required=True,
                   help="model.pt or checkpoints/step-*.pt; several after one flag or with the flag repeated")
    p.add_argument("--out", "-o", required=True, help="output folder")
    p.add_argument("--num-probe", type=int, default=512, help="probe pairs (x0, z)")
    p.add_argument("--num-scales", type=int, default=None, help="Karras grid points N (default: the method's s1, else 150)")
    p.add_argument("--seed", type=int, default=None,
                   help="probe seed (data subset and z; default: the first checkpoint's training seed, train.seed, "
                        "so each run is measured on a probe of its own)")
    p.add_argument("--probe", default=None, help="probe file to reuse or create (default: OUT/probe.pt)")
    p.add_argument("--network", default=None, help="measured network: generator, target, eval_ema (default: the sampling network)")
    p.add_argument("--batch-size", type=int, default=256, help="probe samples per forward pass")
    p.add_argument("--lipschitz-points", type=int, default=16,
                   help="probe points x0 + T z where the Lipschitz constant of f is estimated")
    p.add_argument("--lipschitz-iters", type=int, default=30,
                   help="power-iteration steps of that estimate (Jacobian spectral norm)")
    p.add_argument("--image-distance", default="w1", choices=IMAGE_DISTANCES,
                   help="images: w1 (exact W1 between the flattened images: what B_k bounds), sliced_w1 "
                        "(a lower bound of W1, also bounded) or sliced_w2 (a proxy B_k does not bound)")
    p.add_argument("--projections", type=int, default=256, help="images: sliced-W projections (fixed seed 0)")
    p.add_argument("--plots", choices=("all", "final", "none"), default="all",
                   help="which checkpoints get their bound-vs-distance PNG (the last given is the final one)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available, else the CPU), cpu, cuda, cuda:1, ...")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _stems(paths):
    from pathlib import Path

    stems = [Path(c).stem for c in paths]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise InputError(f"checkpoints share file stems {dupes}; run them into separate --out folders")
    return stems


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from tqdm.auto import tqdm

    from act.config import stored_config
    from act.devices import resolve_device
    from act.theory import TheoryOptions, analyse_checkpoint, build_probe, load_probe, plot_bound, save_probe, write_table
    from act.theory.report import OVER_TRAINING_COLUMNS, over_training_rows, plot_over_training, write_rows

    out = Path(args.out)
    stems = _stems(args.checkpoint)
    device = resolve_device(args.device)
    for c in args.checkpoint[1:]:
        if not Path(c).is_file():
            load_checkpoint(c)  # the one-line error of a missing file
    first = stored_config(load_checkpoint(args.checkpoint[0])["config"])
    seed = first.train.seed if args.seed is None else args.seed
    out.mkdir(parents=True, exist_ok=True)
    probe_path = Path(args.probe) if args.probe else out / "probe.pt"
    if probe_path.is_file():
        probe = load_probe(probe_path)
        want = {"num": args.num_probe, "seed": seed}
        if {k: probe.meta.get(k) for k in want} != want:
            raise InputError(f"{probe_path} holds a probe of {probe.meta.get('num')} pairs, seed {probe.meta.get('seed')}; "
                             f"asked for {args.num_probe}, seed {seed}: use another --out or --probe")
        print(f"reusing probe {probe_path}", file=sys.stderr)
    else:
        probe = build_probe(first.data, args.num_probe, seed)
        save_probe(probe, probe_path)
    opts = TheoryOptions(num_scales=args.num_scales, network=args.network, batch_size=args.batch_size,
                         lipschitz_points=args.lipschitz_points, lipschitz_iters=args.lipschitz_iters,
                         image_distance=args.image_distance, projections=args.projections, progress=not args.no_progress)
    results = []
    last = len(args.checkpoint) - 1
    for i, (ckpt, stem) in enumerate(zip(tqdm(args.checkpoint, desc="checkpoints", disable=args.no_progress or len(args.checkpoint) < 2), stems)):
        res = analyse_checkpoint(ckpt, probe, device, opts)
        res.summary["probe_file"] = str(probe_path)
        write_table(res, out / f"{stem}.csv")
        write_json_atomic(out / f"{stem}.json", provenance(res.summary))
        if args.plots == "all" or (args.plots == "final" and i == last):
            plot_bound(res, out / f"{stem}.png")
        results.append(res)
        s = res.summary
        print(json.dumps({k: s[k] for k in ("step", "final_bound_online", "w_coupled_T", "one_step_w_independent",
                                              "lipschitz_max", "bound_holds")}), file=sys.stderr)
        if not s["bound_holds"]:
            print(f"WARNING: {ckpt}: coupled distance above the bound B_k; see {stem}.csv", file=sys.stderr)
    if len(results) > 1:
        rows = over_training_rows(results)
        write_rows(out / "over_training.csv", OVER_TRAINING_COLUMNS, rows)
        plot_over_training(rows, out / "over_training.png", results[-1].summary)
    print(f"wrote {len(results)} report(s) into {out}", file=sys.stderr)
    return 0

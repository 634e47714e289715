"""``act aggregate``: the summary of an experiment folder (a row per run, checkpoint and NFE) and its per-sigma part."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "aggregate", help="collect an experiment's metrics, costs, logs and theory numbers into one CSV",
        description="Reads the run outputs given with --inputs (the workflow passes its rule's inputs), or, without "
        "--inputs, every run folder under results/{exp}/{runs,samples,metrics,theory,inpaint}; costs, budget.json "
        "and the run configs come from --experiment-dir. One row per (dataset, method, batch, seed, ckpt_step, nfe); "
        "missing pieces are empty (NaN). Beside it, act theory's timestep tables, one row per (run, ckpt_step, "
        "sigma), what act figures draws over sigma. The released checkpoints (--released) go to the summary's "
        "released part, a row per scored point, which act tables shows beside the runs; with --released-out and "
        "no --out, only that part is written (the workflow's released_summary job).")
    p.add_argument("--experiment-dir", default=None, help="results/{exp} (needed with --out)")
    p.add_argument("--inputs", nargs="+", default=None, metavar="PATH",
                   help="run outputs under the experiment folder: runs/{run}/model.pt, samples/{run}, metrics/{run}, "
                        "theory/{run}, inpaint/{run}/inpaint.json ({run} = {dataset}/{method}/b{batch}/s{seed}); "
                        "only these runs and stages are read")
    p.add_argument("--out", "-o", default=None, help="summary CSV (results/{exp}/summary.csv)")
    p.add_argument("--sigma-out", default=None,
                   help="the per-sigma part (default: OUT's folder, {stem}_sigma.csv: results/{exp}/summary_sigma.csv)")
    p.add_argument("--released", nargs="*", default=[], metavar="DIR",
                   help="released checkpoints' folders ({exp}/released/{dataset}/{name}: import.json and metrics/ of "
                        "act import-official --record and act score-run), for the summary's released part")
    p.add_argument("--released-out", default=None,
                   help="the released part (default with --released: OUT's folder, {stem}_released.csv)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from act.errors import InputError, require_dir
    from act.io import write_csv
    from act.plan.layout import summary_part_path
    from act.report.aggregate import released_summary, write_summary

    if args.out is None and args.released_out is None:
        raise InputError("give --out (the summary) or --released-out (the released checkpoints' part)")
    if args.out is not None:
        require_dir(args.experiment_dir, "experiment folder", "pass results/<experiment> (the workflow's results_dir/name)")
    released_out = args.released_out or (summary_part_path(args.out, "released") if args.released else None)
    released = released_summary(args.released) if released_out else None  # read before anything is written
    if args.out is not None:
        df, sigma = write_summary(args.experiment_dir, args.out, args.inputs, args.sigma_out)
        print(f"wrote {len(df)} rows ({df['dataset'].nunique()} datasets) to {args.out}, and {len(sigma)} per-sigma "
              "rows beside it", file=sys.stderr)
    if released_out:
        write_csv(released_out, released, index=False)
        print(f"wrote {len(released)} rows of released checkpoints to {released_out}", file=sys.stderr)
    return 0

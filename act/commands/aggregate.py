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
        "sigma), what act figures draws over sigma; and the released checkpoints (--released), a row per scored "
        "point, which act tables shows beside the runs.")
    p.add_argument("--experiment-dir", required=True, help="results/{exp}")
    p.add_argument("--inputs", nargs="+", default=None, metavar="PATH",
                   help="run outputs under the experiment folder: runs/{run}/model.pt, samples/{run}, metrics/{run}, "
                        "theory/{run}, inpaint/{run}/inpaint.json ({run} = {dataset}/{method}/b{batch}/s{seed}); "
                        "only these runs and stages are read")
    p.add_argument("--out", "-o", required=True, help="summary CSV (results/{exp}/summary.csv)")
    p.add_argument("--sigma-out", default=None,
                   help="the per-sigma part (default: OUT's folder, {stem}_sigma.csv: results/{exp}/summary_sigma.csv)")
    p.add_argument("--released", nargs="*", default=[], metavar="DIR",
                   help="released checkpoints' folders ({exp}/released/{dataset}/{name}: import.json and metrics/ of "
                        "act import-official --record and act score-run), for the summary's released part")
    p.add_argument("--released-out", default=None,
                   help="the released part (default: OUT's folder, {stem}_released.csv)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from act.errors import require_dir
    from act.report.aggregate import write_summary

    require_dir(args.experiment_dir, "experiment folder", "pass results/<experiment> (the workflow's results_dir/name)")
    df, sigma, released = write_summary(args.experiment_dir, args.out, args.inputs, args.sigma_out, args.released,
                                        args.released_out)
    print(f"wrote {len(df)} rows ({df['dataset'].nunique()} datasets) to {args.out}, and beside it {len(sigma)} "
          f"per-sigma rows and {len(released)} of released checkpoints", file=sys.stderr)
    return 0

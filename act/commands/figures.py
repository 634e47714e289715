"""``act figures``: the report figures of an experiment (PNG and PDF); missing inputs skip a figure with a note."""

from __future__ import annotations

import argparse

from act.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "figures", help="sample grids, quality vs step/batch/compute, theory bounds, lambda schedule, inpainting",
        description="Writes OUT_DIR/{samples,quality_vs_step,quality_vs_batch,quality_vs_compute,theory_bound,"
        "inpainting}_{dataset}.{png,pdf}, lambda_schedule.{png,pdf} and figures.json (written, skipped, errors). "
        "Exits 1 when a figure failed for another reason than missing inputs.")
    p.add_argument("--summary", required=True, help="act aggregate CSV")
    p.add_argument("--experiment-dir", default=None, help="results/{exp} (sample grids, theory CSVs, inpainting)")
    p.add_argument("--inputs", nargs="+", default=None, metavar="PATH",
                   help="the run outputs under --experiment-dir to draw from, as act aggregate's --inputs "
                        "(default: every run folder there)")
    p.add_argument("--out", "-o", dest="out_dir", required=True, metavar="OUT_DIR",
                   help="folder of the figures, e.g. results/{exp}/figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from act.report.aggregate import read_summary
    from act.report.figures import make_figures

    if args.inputs and not args.experiment_dir:
        raise InputError("--inputs needs --experiment-dir")
    index = make_figures(read_summary(args.summary), args.experiment_dir, args.out_dir, args.inputs)
    print(f"wrote {len(index['written'])} files, skipped {len(index['skipped'])} figures, "
          f"{len(index['errors'])} errors, in {args.out_dir}", file=sys.stderr)
    return 1 if index["errors"] else 0

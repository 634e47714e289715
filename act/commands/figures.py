"""``act figures``: the report figures of an experiment (PNG and PDF); missing inputs skip a figure with a note."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "figures", help="sample grids, quality vs step/batch/compute, theory bounds, lambda schedule, inpainting",
        description="Writes OUT_DIR/{samples,quality_vs_step,quality_vs_batch,quality_vs_compute,theory_bound,"
        "inpainting}_{dataset}.{png,pdf}, lambda_schedule.{png,pdf} and figures.json (written, skipped, errors). "
        "Reads the summary and its per-sigma part only, and the image files the summary names (sample sets, "
        "inpainting grids). Exits 1 when a figure failed for another reason than missing inputs.")
    p.add_argument("--summary", required=True, help="act aggregate CSV")
    p.add_argument("--sigma", default=None,
                   help="act aggregate's per-sigma CSV (default: summary_sigma.csv beside --summary; without it the "
                        "figures over sigma are skipped)")
    p.add_argument("--out", "-o", dest="out_dir", required=True, metavar="OUT_DIR",
                   help="folder of the figures, e.g. results/{exp}/figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from act.report.aggregate import part_beside, read_summary
    from act.report.figures import make_figures

    index = make_figures(read_summary(args.summary), part_beside(args.summary, "sigma", args.sigma), args.out_dir,
                         base=Path(args.summary).parent)
    print(f"wrote {len(index['written'])} files, skipped {len(index['skipped'])} figures, "
          f"{len(index['errors'])} errors, in {args.out_dir}", file=sys.stderr)
    return 1 if index["errors"] else 0

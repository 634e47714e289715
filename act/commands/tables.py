"""``act tables``: per-dataset result tables (Markdown, LaTeX, CSV), measured beside reported."""

from __future__ import annotations

import argparse

from act.errors import InputError

from act.report.style import REFERENCE_DIR  # a light module: no pandas at `act --help`


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tables", help="per-dataset tables of the final checkpoints, with the papers' numbers",
        description="One table per dataset of the summary: measured rows per method and batch size (mean ± std over "
        "seeds, final evaluated checkpoint) and the papers' rows where the dataset is a reported one "
        "(cifar10, imagenet64, lsun_cat256). Writes OUT_DIR/{dataset}.md, .tex and .csv.")
    p.add_argument("--summary", required=True, help="act aggregate CSV")
    p.add_argument("--reported", default=None, help=f"reported numbers (default: {REFERENCE_DIR}/reported_results.csv)")
    p.add_argument("--reported-settings", default=None,
                   help=f"reported training settings (default: {REFERENCE_DIR}/reported_settings.csv)")
    p.add_argument("--reported-as", action="append", default=[], metavar="DATASET=REPORTED",
                   help="compare an experiment dataset key with a reported dataset (e.g. cifar10_small=cifar10); "
                        "DATASET= for none")
    p.add_argument("--released", default=None, metavar="CSV",
                   help="the summary's released part (act aggregate --released; default: summary_released.csv beside "
                        "--summary, when it is there): a row per released checkpoint beside the measured rows")
    p.add_argument("--out", "-o", dest="out_dir", required=True, metavar="OUT_DIR",
                   help="folder of the tables, e.g. results/{exp}/tables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from act.report.aggregate import part_beside, read_summary
    from act.report.tables import read_reference_csv, reference_file, write_tables

    mapping = parse_reported_as(args.reported_as)
    released = part_beside(args.summary, "released", args.released)
    tables = write_tables(read_summary(args.summary), read_reference_csv(args.reported or reference_file("reported_results.csv")),
                          read_reference_csv(args.reported_settings or reference_file("reported_settings.csv")),
                          args.out_dir, mapping, released)
    print(f"wrote tables of {sorted(tables)} to {args.out_dir}", file=sys.stderr)
    return 0


def parse_reported_as(texts, option: str = "--reported-as") -> dict:
    """``--reported-as DATASET=REPORTED`` options (or another ``option``'s KEY=VALUE) -> {DATASET: REPORTED}."""
    mapping = {}
    for text in texts:
        if "=" not in text:
            raise InputError(f"{option} {text!r}: expected DATASET=" + ("REPORTED" if option == "--reported-as"
                                                                          else "VALUE"))
        k, v = text.split("=", 1)
        mapping[k] = v
    return mapping

"""``act claims``: one row per claim of the ACT paper with its test, evidence and verdict at this scale."""

from __future__ import annotations

import argparse

from act.commands.tables import REFERENCE_DIR, parse_reported_as


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "claims", help="does each claim of the ACT paper hold at this experiment's scale?",
        description="Reads act aggregate's summary (final models, their evaluation draws' trivial references and act "
        "theory's numbers) and writes OUT_DIR/claims.md, claims.csv, claims.json and claims.png: per row the paper's "
        "words, the kind of statement, the test, per group mean/std/per-seed values, the difference in the stated "
        "direction with a 95% Welch interval, df, p and Holm-adjusted p, and a verdict (holds / does not hold / "
        "inconclusive / undecidable (n < 2) / against a failed baseline / not run at this scale; by recipe for the "
        "rows decided from the papers' settings). The rules are in act/report/claims*.py and act/report/verdicts.py.")
    p.add_argument("--summary", required=True, help="act aggregate CSV")
    p.add_argument("--reported", default=None, help=f"reported numbers (default: {REFERENCE_DIR}/reported_results.csv)")
    p.add_argument("--reported-settings", default=None,
                   help=f"the papers' recipes for the by-recipe rows (default: {REFERENCE_DIR}/reported_settings.csv)")
    p.add_argument("--reported-as", action="append", default=[], metavar="DATASET=REPORTED",
                   help="compare an experiment dataset key with a reported dataset (e.g. cifar10_ct=cifar10)")
    p.add_argument("--metric", action="append", default=[], metavar="DATASET=COLUMN",
                   help="the quality column a dataset's rows compare (default: w1 on 2-D toy data, else fid); e.g. "
                        "fashion_mnist=classifier_fd, whose S1 rows then use the moment-matched Gaussian's "
                        "classifier_fd_gaussian")
    p.add_argument("--title", default="", help="experiment name for the Markdown heading")
    p.add_argument("--out", "-o", dest="out_dir", required=True, metavar="OUT_DIR",
                   help="folder of claims.{md,csv,json,png}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from act.report.aggregate import read_summary
    from act.report.claims_output import write_claims
    from act.report.tables import read_reference_csv, reference_file

    mapping = parse_reported_as(args.reported_as)
    reported = read_reference_csv(args.reported or reference_file("reported_results.csv"))
    settings = read_reference_csv(args.reported_settings or reference_file("reported_settings.csv"))
    metrics = parse_reported_as(args.metric, "--metric")
    paths = write_claims(read_summary(args.summary), args.out_dir, reported, mapping, settings, args.title, metrics)
    print(open(paths["md"]).read(), file=sys.stderr)
    return 0

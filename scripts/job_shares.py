#!/usr/bin/env python
"""Where an experiment's time went, from Snakemake's benchmark files: jobs, wall and CPU seconds per rule.

    python scripts/job_shares.py results/default [--total-cpu SECONDS]

--total-cpu is the CPU time of the whole `snakemake` command (user + system of `/usr/bin/time`),
so the shares include Snakemake's own bookkeeping; without it they are of the jobs' sum.

Read the wall-time shares: each job's wall time is exact, its CPU time is not. Snakemake samples a
job's CPU every 0.5 s for its first 30 s and every 30 s after, so a long job's last seconds of CPU
(up to 30) go uncounted; in the 2-core toy runs that is most of the gap between the jobs' CPU and
the command's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def shares(exp: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted((exp / "benchmarks").rglob("*.tsv")):
        stage = tsv.relative_to(exp / "benchmarks").parts[0]
        b = pd.read_csv(tsv, sep="\t")
        if len(b):
            rows.append({"rule": stage, "wall_s": float(b["s"].iloc[-1]), "cpu_s": float(b["cpu_time"].iloc[-1])})
    if not rows:
        raise SystemExit(f"no benchmark files under {exp / 'benchmarks'}")
    df = pd.DataFrame(rows)
    return df.groupby("rule").agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment_dir", type=Path, help="results/<experiment>")
    p.add_argument("--total-cpu", type=float, default=None, help="CPU seconds of the whole snakemake command")
    args = p.parse_args()
    df = shares(args.experiment_dir).sort_values("cpu_s", ascending=False)
    total = args.total_cpu or float(df["cpu_s"].sum())
    df["cpu_share"] = df["cpu_s"] / total
    df["wall_per_job_s"] = df["wall_s"] / df["jobs"]
    df["wall_share"] = df["wall_s"] / df["wall_s"].sum()
    out = df.reset_index()
    print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}" if v < 1 else f"{v:.1f}"))
    print(f"jobs {int(df['jobs'].sum())}, job CPU {df['cpu_s'].sum():.0f} s of {total:.0f} s "
          f"({'the command' if args.total_cpu else 'the jobs'}); training {df.loc['train', 'cpu_s'] / total:.1%} "
          f"of the CPU, {df.loc['train', 'wall_share']:.1%} of the jobs' wall time"
          if "train" in df.index else "", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

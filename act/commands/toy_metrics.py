"""``act toy-metrics``: exact W1 of a 2-D toy sample set to held-out data (what FID is for images)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "toy-metrics", help="exact W1 of toy samples to held-out data",
        description="Reads an `act sample` npz of 2-D points ('points') and writes JSON with w1 (exact W1 to as many "
        "fresh points of the same distribution, held-out seeds) and, against the same points, w1_data_floor (a second "
        "fresh set), w1_gaussian (a Gaussian with the data's mean and covariance) and w1_pointmass (the data mean).")
    p.add_argument("--samples", required=True, help="samples.npz of act sample (sample.json beside it names the toy kind)")
    p.add_argument("--out", "-o", required=True, help="metrics JSON")
    p.add_argument("--kind", default=None, help="toy distribution (default: from sample.json)")
    p.add_argument("--num", type=int, default=None, help="first N samples (default: all; exact W1 is O(N^3))")
    p.add_argument("--seed", type=int, default=0,
                   help="eval seed: which held-out reference set (act score-run passes the run's training seed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from act.provenance import provenance, write_json_atomic
    from act.metrics.toy import toy_w1

    result = toy_w1(args.samples, kind=args.kind, num=args.num, seed=args.seed)
    write_json_atomic(args.out, {**result, "provenance": provenance()})
    print(json.dumps({k: result[k] for k in ("w1", "w1_data_floor", "w1_gaussian", "w1_pointmass", "num_samples")}),
          file=sys.stderr)
    return 0

"""``act cost``: FLOPs and wall time of one training step of a config's method."""

from __future__ import annotations

import argparse

from act.provenance import provenance, write_json_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cost", help="measure FLOPs and seconds per training step",
                       description="FLOPs (torch.utils.flop_counter, one full step: every phase's forward and "
                       "backward, R1 amortised over its interval) and mean seconds per step after warm-up. "
                       "Writes JSON to --out (and prints it).")
    p.add_argument("--config", "-c", help="YAML training config (default: built-in defaults)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set train.batch_size=64 (repeatable)")
    p.add_argument("--out", "-o", default=None, help="JSON to write (default: only print it)")
    p.add_argument("--steps", type=int, default=10, help="timed training steps (seconds per step: their mean)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before the timed ones")
    p.add_argument("--synthetic", action="store_true", help="random images of the preset's shape instead of the dataset")
    p.add_argument("--device", default=None, help="override train.device")
    p.add_argument("--max-batch", type=int, default=None,
                   help="measure at most this batch and scale FLOPs and seconds linearly to train.batch_size "
                   "(a multi-GPU recipe's global batch on one device; ACT holds 2x this many images; peak memory "
                   "and warm-up time are those of the measured batch)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from act.config import load_config, to_dict
    from act.compute.cost import measure_cost

    cfg = load_config(args.config, tuple(args.overrides))
    result = measure_cost(cfg, steps=args.steps, warmup=args.warmup, synthetic=args.synthetic, device=args.device,
                          max_batch=args.max_batch)
    print(json.dumps(result, indent=2))
    if args.out:
        write_json_atomic(args.out, {**result, "provenance": provenance({"config": to_dict(cfg)})})
    return 0

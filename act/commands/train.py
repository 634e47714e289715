"""``act train``: train one method on one dataset into an output folder."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train CT, iCT or ACT from a YAML config",
        description="Train a one-step generator. Writes config.yaml (resolved), run.json (git commit, "
        "package versions), train_log.jsonl, checkpoints/step-*.pt and model.pt into --out. "
        "Re-running the same command resumes from the newest checkpoint (never from one of another config). "
        "SIGTERM or SIGUSR1 (a scheduler's time limit or preemption) finishes the current step, writes a checkpoint "
        "and exits with status 75; a non-finite loss, gradient or weight exits with status 3, naming the step, "
        "the term and the last good checkpoint; bad input exits with status 2.",
    )
    p.add_argument("--config", "-c", help="YAML experiment config (default: built-in defaults)")
    p.add_argument("--out", "-o", required=True, help="output folder of this run")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set train.steps=200 --set method.name=ict (repeatable)")
    p.add_argument("--resume", default="auto",
                   help="'auto': continue from the newest checkpoint in --out, which must come from the same "
                   "config (else an error); 'same-config': likewise, but start afresh if the config changed (what the "
                   "workflow uses); 'none': start afresh, removing earlier checkpoints; or a checkpoint path")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to train_log.jsonl)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from act.config import load_config
    from act.stopping import EXIT_DIVERGED, EXIT_PREEMPTED, Diverged, Preempted

    cfg = load_config(args.config, tuple(args.overrides))  # before torch: a bad config costs no start-up
    from act.train import train

    resume = None if args.resume == "none" else args.resume
    try:
        path = train(cfg, args.out, resume=resume, progress=not args.no_progress)
    except Preempted as e:
        print(f"act train: {e}", file=sys.stderr)
        return EXIT_PREEMPTED
    except Diverged as e:
        print(f"act train: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    print(f"wrote {path}")
    return 0

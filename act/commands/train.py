"""``act train``: train one method on one dataset into an output folder."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train CT, iCT or ACT from a YAML config",
        description="Train a one-step generator. Writes config.yaml (resolved), run.json (git commit, "
        "package versions), train_log.jsonl, checkpoints/step-*.pt and model.pt into --out. "
        "Re-running the same command resumes from the newest checkpoint (never from one of another config).",
    )
    p.add_argument("--config", "-c", help="YAML experiment config (default: built-in defaults)")
    p.add_argument("--out", "-o", required=True, help="output folder of this run")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set train.steps=200 --set method.name=ict (repeatable)")
    p.add_argument("--resume", default="auto",
                   help="'auto' (default): continue from the newest checkpoint in --out, which must come from the same "
                   "config (else an error); 'same-config': likewise, but start afresh if the config changed (what the "
                   "workflow uses); 'none': start afresh, removing earlier checkpoints; or a checkpoint path")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to train_log.jsonl)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from act.config import load_config
    from act.train import train

    cfg = load_config(args.config, tuple(args.overrides))
    resume = None if args.resume == "none" else args.resume
    path = train(cfg, args.out, resume=resume, progress=not args.no_progress)
    print(f"wrote {path}")
    return 0

"""``act train-classifier``: the small dataset classifier behind ``classifier_is`` / ``classifier_fd``.

Writes a state dict + config checkpoint (``-o/--out``) and its JSON summary beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train-classifier", help="train the dataset classifier used by classifier_is / classifier_fd",
        description="Train a small CNN on a dataset's labels (a few minutes on CPU).")
    p.add_argument("--dataset", required=True, help="act.data dataset name (needs class labels)")
    p.add_argument("--data-root", default=None, help="dataset root (default: the loader's search path)")
    p.add_argument("--split", default="train",
                   help="dataset split trained on (test accuracy: on the test split, where there is one)")
    p.add_argument("--out", "-o", required=True, help="checkpoint path (.pt); a .json summary is written beside it")
    p.add_argument("--resolution", type=int, default=None,
                   help="image resolution of the loader (default: the dataset's; give the experiment's data.resolution)")
    p.add_argument("--steps", type=int, default=500,
                   help="optimiser steps (500: about one Fashion-MNIST epoch at batch 128)")
    p.add_argument("--batch-size", type=int, default=128, help="images per step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--width", type=int, default=32, help="first conv channels (a multiple of 8; x2 at each downsampling)")
    p.add_argument("--feature-dim", type=int, default=128, help="penultimate layer width: the classifier_fd features")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the batches")
    p.add_argument("--device", default="cpu", help="auto (CUDA if available, else the CPU), cpu, cuda, cuda:1, ...")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from act.devices import resolve_device
    from act.metrics.classifier import ClassifierConfig, save_classifier, train_classifier

    cfg = ClassifierConfig(dataset=args.dataset, data_root=args.data_root, split=args.split, data_resolution=args.resolution,
                           steps=args.steps,
                           batch_size=args.batch_size, lr=args.lr, width=args.width,
                           feature_dim=args.feature_dim, seed=args.seed)
    net, cfg, metrics = train_classifier(cfg, device=str(resolve_device(args.device, strict=False)))
    save_classifier(args.out, net, cfg, metrics)
    print(json.dumps({"out": args.out, "test_accuracy": metrics.get("test_accuracy"),
                      "final": metrics["log"][-1] if metrics["log"] else None}), file=sys.stderr)
    return 0

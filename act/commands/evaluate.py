"""``act evaluate``: FID, KID, precision/recall, IS (and classifier scores) of one sample set.

Writes one JSON file (``-o/--out``); see :func:`act.metrics.evaluation.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from act import io
from act.errors import UserError
from act.metrics.protocol import BACKENDS, DEFAULT_BACKEND, DEFAULT_CACHE_DIR, DEFAULT_RESIZE_MODE, RESIZE_MODES


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate", help="FID/KID/precision/recall/IS of a sample set against a dataset",
        description="Evaluate a sample set against a dataset's reference images (--dataset) or a reference file "
        "(--reference). Sample sets and references: an act sample npz ('images'), an ADM reference batch ('arr_0', "
        "with 'mu'/'sigma'), a zip or a folder of images; references also: EDM / clean-fid statistics npz "
        "('mu', 'sigma': FID only).")
    p.add_argument("--samples", required=True, help="act sample npz, ADM batch npz, zip or folder of images (uint8)")
    ref = p.add_mutually_exclusive_group(required=True)
    ref.add_argument("--dataset", help="act.data dataset name of the reference images")
    ref.add_argument("--reference", help="reference file: an ADM batch, an EDM / clean-fid statistics npz, a zip or "
                     "a folder of images (must come from the same pool3 network and a compatible resize)")
    p.add_argument("--data-root", default=None, help="dataset root (default: the loader's search path)")
    p.add_argument("--split", default="train", help="dataset split of the reference images (paper protocol: train)")
    p.add_argument("--num-ref", type=int, default=None, help="reference images (default: the whole split)")
    p.add_argument("--ref-seed", type=int, default=0, help="seed of the reference subset (used with --num-ref)")
    p.add_argument("--num-samples", type=int, default=None, help="first N samples (default: all)")
    p.add_argument("--resolution", type=int, default=None, help="reference resolution (default: the samples')")
    p.add_argument("--resize-mode", default=DEFAULT_RESIZE_MODE, choices=RESIZE_MODES,
                   help="resize to 299 px: tf_bilinear (torch-fidelity/ADM/official ACT), clean (clean-fid), "
                        "torch_bilinear (pytorch-fid legacy)")
    p.add_argument("--inception-backend", default=DEFAULT_BACKEND, choices=BACKENDS,
                   help="how the FID network runs: eager (torch-fidelity's module with the TorchScript's weights, "
                        "batch norms folded, channels-last; faster) or torchscript; features agree to float rounding")
    p.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="folder of the cached reference features")
    p.add_argument("--device", default="auto", help="auto (CUDA if available, else the CPU), cpu, cuda, cuda:1, ...")
    p.add_argument("--batch-size", type=int, default=64, help="images per Inception forward pass")
    p.add_argument("--inception-weights", default=None,
                   help="torch-fidelity weights-inception-2015-12-05-6726825d.pth for IS "
                        "(else $ACT_INCEPTION_WEIGHTS, resources/weights/, the torch hub cache)")
    p.add_argument("--allow-download", action="store_true", help="let torch-fidelity download the IS weights")
    p.add_argument("--classifier", default=None, help="act train-classifier checkpoint (adds classifier_is/fd)")
    p.add_argument("--inception-num", type=int, default=None, metavar="N",
                   help="Inception metrics (FID, KID, precision/recall, IS) on the first N samples only (0: none; "
                        "default: all); the classifier scores see every sample")
    p.add_argument("--eval-seed", type=int, default=None, metavar="E",
                   help="with --classifier: also classifier_fd_gaussian, the moment-matched Gaussian of the reference "
                        "images drawn from seed 3,000,000 + E (act score-run passes the run's seed)")
    p.add_argument("--kid-subsets", type=int, default=100, help="KID: number of random subsets averaged")
    p.add_argument("--kid-subset-size", type=int, default=1000,
                   help="KID: images per subset (capped at the set sizes)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--out", "-o", required=True, help="metrics JSON to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from act.metrics.evaluation import EvalOptions, evaluate

    opts = EvalOptions(
        samples=args.samples, dataset=args.dataset, reference=args.reference, data_root=args.data_root, split=args.split,
        num_ref=args.num_ref, ref_seed=args.ref_seed, num_samples=args.num_samples, resolution=args.resolution,
        resize_mode=args.resize_mode, cache_dir=args.cache_dir, device=args.device, batch_size=args.batch_size,
        inception_backend=args.inception_backend, inception_weights=args.inception_weights,
        allow_download=args.allow_download, classifier=args.classifier,
        kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size, progress=not args.no_progress,
        inception_num=args.inception_num, eval_seed=args.eval_seed,
    )
    if args.inception_num is not None and args.inception_num < 0:
        print(f"act evaluate: --inception-num {args.inception_num}: give 0 (no Inception metrics) or a positive "
              "number of samples", file=sys.stderr)
        return 2
    if args.eval_seed is not None and not args.classifier:  # it seeds the classifier-FD Gaussian only
        print("act evaluate: --eval-seed draws classifier_fd_gaussian, which needs --classifier: add one "
              "(act train-classifier) or drop --eval-seed", file=sys.stderr)
        return 2
    from act.metrics.formats import read_image_set

    try:  # the user's files, before any network is built: one line and exit 2 if they are not readable
        read_image_set(args.samples, 1)
        if args.reference:
            read_image_set(args.reference, 1)
    except (UserError, FileNotFoundError, ValueError) as e:
        print(f"act evaluate: {e}", file=sys.stderr)
        return 2
    result = evaluate(opts)
    io.write_json(args.out, result, allow_nan=False)
    summary = {k: result.get(k) for k in ("fid", "kid_mean", "precision", "recall", "classifier_is", "classifier_fd",
                                           "classifier_fd_gaussian")}
    summary["inception_score"] = (result["inception_score"] or {}).get("value")
    print(json.dumps(summary), file=sys.stderr)
    return 0

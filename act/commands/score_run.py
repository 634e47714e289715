"""``act score-run``: sample every given checkpoint of one run at every NFE and score each set, in one process.

What ``act sample`` followed by ``act evaluate`` (images) or ``act toy-metrics`` (2-D toy data)
write, for each (checkpoint, NFE): ``SAMPLES_DIR/step{k}_nfe{n}/`` (samples.npz, sample.json and,
at the final checkpoint, the grid or scatter plot) and ``METRICS_DIR/step{k}_nfe{n}.json``. One
job per training run instead of two per point: the start-up (torch, the networks, the Inception
network) is paid once.

Each run's evaluation draws come from its eval seed E (``--eval-seed``, by default the training
seed): image i of every set from seed ``base + E * act.rng.EVAL_SEED_STRIDE + i``, and on 2-D toy
data the held-out reference set of ``act.metrics.toy.toy_w1`` (seed E). An interval over training
seeds then includes the evaluation's noise. Images are scored against the whole split or the
``--num-ref`` subset of ``act evaluate``'s default subset seed, the same for every run.
"""

from __future__ import annotations

import argparse

from act.checkpoint import checkpoint_step, load_networks
from act.commands.sample import sample_to_dir
from act.metrics.protocol import DEFAULT_CACHE_DIR, DEFAULT_RESIZE_MODE, RESIZE_MODES
from act.provenance import provenance, write_json_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score-run", help="sample and score every checkpoint of a run (sample + evaluate / toy-metrics)",
        description="For each --checkpoint and each --nfe: samples into SAMPLES_DIR/step{k}_nfe{n}/ and metrics into "
        "METRICS_DIR/step{k}_nfe{n}.json (exact W1 for 2-D toy data; FID, KID, precision/recall, IS for images). "
        "-o OUT sets SAMPLES_DIR to OUT/samples and METRICS_DIR to OUT/metrics; without it give both folders.")
    p.add_argument("--checkpoint", nargs="+", required=True, help="checkpoints of one run (checkpoints/step-*.pt)")
    p.add_argument("--nfe", type=int, nargs="+", choices=(1, 2), default=[1, 2],
                   help="sampling steps (network evaluations) per sample set: 1, 2 or both")
    p.add_argument("--num", type=int, default=None, help="samples per set (default: the config's sample.num_samples)")
    p.add_argument("--batch-size", type=int, default=None, help="sampling batch (default: the config's)")
    p.add_argument("--seed", type=int, default=None,
                   help="base image seed (default: the config's sample.seed); image i of a set uses "
                        "base + E * act.rng.EVAL_SEED_STRIDE + i, E the eval seed")
    p.add_argument("--eval-seed", type=int, default=None, metavar="E",
                   help="the run's evaluation draws: its sampling seeds and, on 2-D toy data, its held-out reference "
                        "set (default: the checkpoint's training seed, train.seed, so intervals over seeds include "
                        "the evaluation's noise)")
    p.add_argument("--plots", choices=("final", "all", "none"), default="final",
                   help="which checkpoints get a grid/scatter PNG")
    p.add_argument("--out", "-o", default=None, metavar="OUT",
                   help="output folder: sample sets in OUT/samples, metrics in OUT/metrics")
    p.add_argument("--samples-dir", default=None,
                   help="folder of the sample sets (default: OUT/samples; required without --out)")
    p.add_argument("--metrics-dir", default=None,
                   help="folder of the metrics JSON files (default: OUT/metrics; required without --out)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available, else the CPU), cpu, cuda, cuda:1, ...")
    g = p.add_argument_group("image evaluation (as act evaluate; ignored for 2-D toy data)")
    g.add_argument("--dataset", default=None, help="act.data name of the reference images (default: the run's data)")
    g.add_argument("--data-root", default=None, help="dataset root (default: the loader's search path)")
    g.add_argument("--split", default="train", help="reference split (paper protocol: train)")
    g.add_argument("--num-ref", type=int, default=None, help="reference images (default: the whole split)")
    g.add_argument("--resize-mode", default=DEFAULT_RESIZE_MODE, choices=RESIZE_MODES, help="resize to 299 px")
    g.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="reference feature cache")
    g.add_argument("--eval-batch-size", type=int, default=64, help="images per Inception forward pass")
    g.add_argument("--inception-weights", default=None, help="torch-fidelity IS weights file")
    g.add_argument("--classifier", default=None, help="act train-classifier checkpoint (classifier_is/fd)")
    g.add_argument("--inception-num", type=int, default=None, metavar="N",
                   help="Inception metrics (FID, KID, precision/recall, IS) on the first N samples of a set only "
                        "(0: none; default: all); the classifier scores see every sample")
    g.add_argument("--inception-at", choices=("final", "all"), default="all",
                   help="checkpoints whose sets get Inception metrics: the final one (latest step) or every one")
    g.add_argument("--kid-subsets", type=int, default=100, help="KID: number of random subsets averaged")
    g.add_argument("--kid-subset-size", type=int, default=1000, help="KID: images per subset")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from act.devices import resolve_device
    from act.errors import ConfigError, InputError, MissingInputError
    from act.rng import eval_sample_seed

    if args.out is None and (args.samples_dir is None or args.metrics_dir is None):
        raise ConfigError("give -o/--out OUT (samples into OUT/samples, metrics into OUT/metrics), "
                          "or both --samples-dir and --metrics-dir")
    if args.inception_num is not None and args.inception_num < 0:
        raise ConfigError(f"--inception-num {args.inception_num}: give 0 (no Inception metrics) or a positive number "
                          "of samples")
    missing = [c for c in args.checkpoint if not Path(c).is_file()]
    if missing:
        raise MissingInputError(f"no checkpoint file {missing[0]}: pass existing checkpoints/step-*.pt files")
    device = resolve_device(args.device)
    samples_dir = Path(args.samples_dir) if args.samples_dir else Path(args.out) / "samples"
    metrics_dir = Path(args.metrics_dir) if args.metrics_dir else Path(args.out) / "metrics"
    # One network in memory at a time (16 ImageNet-64 checkpoints would not fit on a GPU together);
    # the plots go to the latest step by file name, else the last file given.
    steps = [checkpoint_step(Path(c).name) for c in args.checkpoint]
    final_index = steps.index(max(steps)) if None not in steps else len(steps) - 1
    for i, ckpt in enumerate(args.checkpoint):
        net, cfg, state = load_networks(ckpt, device=device)
        if args.dataset and cfg.data.name != "toy2d" and args.dataset != cfg.data.name:
            raise InputError(f"{ckpt} generates {cfg.data.name!r} images, but --dataset is {args.dataset!r}: "
                             f"score it against its own data (--dataset {cfg.data.name})")
        eval_seed = cfg.train.seed if args.eval_seed is None else args.eval_seed
        base = cfg.sample.seed if args.seed is None else args.seed
        seed = eval_sample_seed(base, eval_seed, args.num or cfg.sample.num_samples)
        drawn = {"eval_seed": eval_seed, "sample_seed": seed}
        metrics_dir.mkdir(parents=True, exist_ok=True)
        step = int(state["step"])
        for nfe in args.nfe:
            point = f"step{step}_nfe{nfe}"
            plot = args.plots == "all" or (args.plots == "final" and i == final_index)
            out = sample_to_dir(ckpt, samples_dir / point, device, num=args.num, steps=nfe, seed=seed,
                                batch_size=args.batch_size, progress=not args.no_progress, plot=plot,
                                loaded=(net, cfg, state), eval_seed=eval_seed)
            if cfg.data.name == "toy2d":
                from act.metrics.toy import toy_w1

                result = {**toy_w1(out / "samples.npz", seed=eval_seed), **drawn}
                write_json_atomic(metrics_dir / f"{point}.json", {**result, "provenance": provenance()})
                shown = {k: result[k] for k in ("w1", "w1_data_floor", "w1_gaussian", "w1_pointmass")}
            else:
                inception = args.inception_num if args.inception_at == "all" or i == final_index else 0
                result = {**_evaluate(args, cfg, out / "samples.npz", inception, eval_seed), **drawn}
                write_json_atomic(metrics_dir / f"{point}.json", result)
                shown = {k: result.get(k) for k in ("fid", "kid_mean", "precision", "recall", "classifier_fd",
                                                    "classifier_fd_gaussian")}
            print(json.dumps({"point": point, **drawn, **shown}), file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace, cfg, samples, inception_num, eval_seed: int) -> dict:
    from act.metrics.evaluation import EvalOptions, evaluate

    opts = EvalOptions(
        samples=str(samples), dataset=args.dataset or cfg.data.name, data_root=args.data_root or cfg.data.root,
        split=args.split, num_ref=args.num_ref, resize_mode=args.resize_mode, cache_dir=args.cache_dir,
        device=args.device, batch_size=args.eval_batch_size, inception_weights=args.inception_weights,
        classifier=args.classifier, kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size,
        inception_num=inception_num, eval_seed=eval_seed,
        progress=not args.no_progress)
    return evaluate(opts)

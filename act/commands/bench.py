"""``act bench``: step time, FLOPs, utilisation and memory of every method beside the bare UNet and the
device's matmul peak; sampling speed; each workflow rule's start-up beside ``import torch``."""

from __future__ import annotations

import argparse

# act.config's METHOD_NAMES and PRECISIONS, written out: `act --help` imports no yaml (tests/test_cli.py checks them)
METHOD_NAMES = ("ct", "ict", "act")
PRECISIONS = ("fp32", "bf16", "fp16")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="measure step cost against the device's peak and the bare UNet (JSON + Markdown)",
        description="One run on the current device, synthetic images of the preset's shape: the dense matmul peak; "
        "per method the training step's FLOPs (torch.utils.flop_counter), seconds, utilisation of the peak and peak "
        "memory; the bare diffusers UNet2DModel step beside them; ACT's time ratio over CT's beside its FLOP ratio; "
        "one-step sampling images/s; each workflow rule's process start-up beside `import torch`. The switches apply "
        "to every row: run twice to see one's effect.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", default="cifar10", help="network preset: tiny, cifar10, imagenet64, lsun256")
    p.add_argument("--batch", type=int, default=16, help="generator batch per step (ACT loads 2x)")
    p.add_argument("--methods", nargs="+", default=list(METHOD_NAMES), choices=METHOD_NAMES,
                   help="methods to time")
    p.add_argument("--steps", type=int, default=3, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps before each measurement")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS, help="autocast precision")
    p.add_argument("--compile", action="store_true", help="torch.compile the trained networks (train.compile)")
    p.add_argument("--channels-last", action="store_true", help="NHWC weights and batches (train.channels_last)")
    p.add_argument("--compile-optimizer", action="store_true",
                   help="torch.compile each RAdam step, torch's fused path for RAdam (train.compile_optimizer)")
    p.add_argument("--tf32", action="store_true", help="TF32 matmuls and convolutions on Ampere+ GPUs (train.tf32)")
    p.add_argument("--sync", default="step", choices=("step", "log"),
                   help="host synchronisations: finiteness checked every phase, or only at log steps (train.sync)")
    p.add_argument("--eval-images", type=int, default=200,
                   help="images of the evaluation timing, as many reference images (0: skip it)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--no-startup", action="store_true", help="skip the start-up timings (fresh interpreters)")
    p.add_argument("--out", "-o", default="bench.json", help="JSON results; the Markdown table goes beside it (.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from act.errors import ConfigError

    if args.batch < 2 or args.batch % 2 or args.steps < 1 or args.warmup < 0 or args.eval_images in (1, 2, 3):
        raise ConfigError(f"--batch must be even and >= 2, --steps >= 1, --warmup >= 0, --eval-images 0 or >= 4 "
                          f"(got {args.batch}, {args.steps}, {args.warmup}, {args.eval_images})")
    import torch

    from act import io
    from act.compute.bench import BenchOptions, markdown, run_bench
    from act.networks.build import image_presets

    if args.preset not in image_presets():
        raise ConfigError(f"unknown --preset {args.preset!r}; choose from {list(image_presets())}")
    if args.threads:
        torch.set_num_threads(args.threads)
    opts = BenchOptions(preset=args.preset, batch=args.batch, steps=args.steps, warmup=args.warmup,
                        methods=tuple(args.methods), device=args.device, precision=args.precision,
                        compile=args.compile, channels_last=args.channels_last,
                        compile_optimizer=args.compile_optimizer, tf32=args.tf32, sync=args.sync,
                        eval_images=max(0, args.eval_images), startup=not args.no_startup)
    res = run_bench(opts, progress=lambda s: print(f"act bench: {s}", file=sys.stderr, flush=True))
    out = Path(args.out)
    io.write_json(out, res, default=str)
    io.write_text(out.with_suffix(".md"), markdown(res))
    print(markdown(res))
    return 0

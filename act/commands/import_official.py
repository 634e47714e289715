"""``act import-official``: a released official ACT checkpoint (Lightning ``.ckpt``) as an act-bench checkpoint.

The written file holds the official EMA generator (the sampling network, ``target``), the
online generator and the discriminator under this project's presets, so ``act sample``,
``act evaluate``, ``act theory`` and ``act inpaint`` run on it as on a trained run's
``model.pt``. Layout and mapping: :mod:`act.official`.
"""

from __future__ import annotations

import argparse

from act.official import SPECS

PRESETS = tuple(SPECS)  # act.official imports no torch: free at `act --help`


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-official", help="convert a released official ACT checkpoint into an act-bench checkpoint",
        description="Reads an official ACT checkpoint (kong13661/ACT README: cifar10_fid_6_0.ckpt, "
        "imagenet_fid_10_6.ckpt, lsun256_fid_13_0.ckpt) and writes OUT in this project's format: "
        "model_ema.unet -> the sampling network (target), model.unet -> generator, model._discriminator -> "
        "discriminator (its never-called to_logit_fx dropped). Every tensor is checked against the preset; "
        "a missing, unknown or misshapen key stops it with exit status 2 before anything is written.")
    p.add_argument("checkpoint", help="official .ckpt (PyTorch Lightning) or a bare state dict in its key layout")
    p.add_argument("--out", "-o", required=True, help="act-bench checkpoint to write (e.g. model.pt)")
    p.add_argument("--preset", choices=PRESETS, default=None,
                   help="network preset (default: detected from the EMA generator's shapes); tiny: this "
                        "suite's CPU-sized nets in the official layout, for tests")
    p.add_argument("--sha256", default=None,
                   help="the digest the file must have (checked before it is read; e.g. the workflow's `released:` entry)")
    p.add_argument("--record", default=None,
                   help="also write the import record (source digest, step, parameters, what was dropped) as JSON here")
    p.add_argument("--unsafe-load", action="store_true",
                   help="unpickle with torch.load(weights_only=False) when the safe loader refuses the file: "
                        "only for files you trust")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from act.official import import_official
    from act.provenance import write_json_atomic

    # an OfficialImportError is an input error: act.cli prints its one line, exit status 2
    record = import_official(args.checkpoint, args.out, args.preset, unsafe_load=args.unsafe_load, sha256=args.sha256)
    if args.record:
        write_json_atomic(args.record, {"checkpoint": str(args.out), **record})
    print(json.dumps({"wrote": str(args.out), "preset": record["preset"], "step": record["step"],
                      "networks": record["networks"],
                      "dropped": {k: v["tensors"] for k, v in record["dropped"].items()},
                      "ignored": {k: v["tensors"] for k, v in record["ignored"].items()}}), file=sys.stderr)
    return 0

"""``act estimate``: the bill of an experiment before the run, GPU-hours and images per second per run."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "estimate", help="GPU-hours and images/s of every run of an experiment, before running it",
        description="Per (dataset, method, batch) of an experiment config, seeds multiplying: steps (the budget, as act "
        "budget plans it) x FLOPs per step / (the GPU's dense peak at the run's precision x utilisation), or x the "
        "seconds per step of a cost file measured on that GPU type. FLOPs per step from act cost files "
        "(--cost-dir DIR: DIR/{dataset}/{method}_b{batch}.json, i.e. results/{exp}/cost) or counted here on the CPU "
        "(--measure: batch 2, synthetic data, scaled to the run's batch; cached by config hash). Prints a Markdown "
        "table with its assumptions; --out writes .md, .csv or .json.")
    p.add_argument("--config", "-c", required=True, help="experiment YAML, e.g. config/paper/cifar10.yaml")
    p.add_argument("--gpu", required=True, metavar="GPU", help="a100, h100 or h200 (SXM, dense peaks)")
    p.add_argument("--cost-dir", default=None, metavar="DIR",
                   help="act cost JSONs: DIR/{dataset}/{method}_b{batch}.json (results/{exp}/cost; results/{exp} works too)")
    p.add_argument("--measure", action="store_true",
                   help="count FLOPs here (CPU, batch 2) for every run without a cost file in --cost-dir")
    p.add_argument("--utilization", type=float, default=None, metavar="U",
                   help="fraction of the dense peak assumed where no cost file measured on this GPU type gives "
                   "seconds per step (default 0.35)")
    p.add_argument("--out", "-o", default=None, help="also write the table: .md, .csv or .json by suffix")
    p.add_argument("--cache", default=None, metavar="JSON",
                   help="--measure's FLOPs cache (default $ACT_ESTIMATE_CACHE, else ~/.cache/act-bench/estimate-flops.json)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for --measure")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:  # an EstimateError is an input error: act.cli prints its one line
    import sys
    import tempfile
    import time
    from pathlib import Path

    from act.compute import estimate as E
    from act import io
    from act.compute import bill as B

    from act.errors import UserError, require_file

    gpu = E.gpu_spec(str(args.gpu).lower())
    B.check_out(args.out)
    require_file(args.config, "experiment config", "pass an experiment YAML such as config/paper/cifar10.yaml")
    if args.utilization is not None and not 0 < args.utilization <= 1:
        raise E.EstimateError(f"--utilization {args.utilization}: give a fraction of the peak in (0, 1], e.g. 0.35")
    if not args.cost_dir and not args.measure:
        raise E.EstimateError("no FLOPs per step: give --cost-dir DIR (act cost JSONs, results/{exp}/cost) "
                              "or --measure (count them here on the CPU)")
    exp = E.load_experiment(args.config)
    keys = E.flop_keys(exp)
    costs, missing = {}, list(keys)
    if args.cost_dir:
        cost_dir = Path(args.cost_dir)
        if not cost_dir.is_dir():
            raise E.EstimateError(f"--cost-dir {cost_dir} is not a folder: pass the folder act cost wrote "
                                  "(results/{exp}/cost), or --measure")
        if (cost_dir / "cost").is_dir() and not any((cost_dir / ds).is_dir() for ds in exp.datasets):
            cost_dir = cost_dir / "cost"  # the experiment folder itself
        costs, missing = E.read_cost_dir(cost_dir, keys)  # each with its "_file": E.estimate names it as the source
        if missing and not args.measure:
            ds, m, b = missing[0]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise E.EstimateError(f"no cost file {E.cost_file(cost_dir, missing[0])} for {ds}/{m} at batch {b}{more}: "
                                  "run the workflow's cost rule (act cost) for it, or pass --measure to count FLOPs here")
    if missing:
        import torch

        torch.set_num_threads(max(1, args.threads))
        cache_path = Path(args.cache) if args.cache else E.default_cache_path()
        cache = E.read_cache(cache_path)
        with tempfile.TemporaryDirectory(prefix="act-estimate-") as scratch:
            for key in missing:
                cfg = E.run_config(exp, *key)
                t0 = time.perf_counter()
                try:
                    entry = E.measure_flops(cfg, cache=cache, scratch=scratch)
                except (UserError, ValueError, FileNotFoundError) as e:
                    raise E.EstimateError(f"cannot measure {key[0]}/{key[1]} at batch {key[2]}: {e}") from None
                took = time.perf_counter() - t0
                if not entry["cached"]:
                    io.write_json(cache_path, {"version": E.CACHE_VERSION, "entries": cache})
                print(f"{key[0]}/{key[1]} b{key[2]}: {entry['flops_per_step'] / 1e9:,.4g} GFLOP/step "
                      + ("(cached)" if entry["cached"] else f"(measured in {took:.1f} s)"), file=sys.stderr)
                costs[key] = {**entry, "_source": "measured on cpu" + (" (cached)" if entry["cached"] else "")}
    result = E.estimate(exp, gpu, costs, args.utilization)
    print(B.to_markdown(result), end="")
    if args.out:
        B.write_result(result, args.out)
    return 0

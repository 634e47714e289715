"""``act budget``: matched compute, steps per (method, batch) from one FLOP budget, and every run's config."""

from __future__ import annotations

import argparse

from act.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "budget", help="plan matched-compute runs: steps per method and batch, resolved run configs",
        description="Per dataset of the experiment config, steps = floor(budget FLOPs / FLOPs per step) of each "
        "(arm, batch) (an arm: a method or a variant of one, under its own budget or the dataset's), FLOPs per step "
        "from `act cost` files named {dataset}/{arm}_b{batch}.json. Writes the "
        "plan (--out, JSON) and one resolved config per run: CONFIGS_DIR/{dataset}/{arm}/b{batch}/s{seed}.yaml. "
        "With --cost-configs: writes only CONFIGS_DIR/{dataset}/{arm}/b{batch}/cost.yaml for `act cost`.")
    p.add_argument("--experiment-config", "-e", required=True,
                   help="experiment YAML (see act.plan.experiment), or a JSON file such as the workflow's results/<name>/plan/budget.json")
    p.add_argument("--costs", nargs="+", action="extend", default=[], metavar="JSON",
                   help="act cost outputs, results/{exp}/cost/{dataset}/{method}_b{batch}.json")
    p.add_argument("--out", "-o", default=None, help="budget JSON (results/{exp}/budget.json)")
    p.add_argument("--configs-dir", default=None, help="folder for the resolved run configs (results/{exp}/configs)")
    p.add_argument("--cost-configs", action="store_true", help="only write the configs `act cost` needs, then stop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from act.errors import require_file
    from act.compute.budget import plan_budget, write_cost_configs

    require_file(args.experiment_config, "experiment config", "pass an experiment YAML (config/default.yaml, config/paper/...)")
    for c in args.costs or []:
        require_file(c, "cost file", "pass the JSON files act cost wrote (results/<experiment>/cost/...)")
    if args.cost_configs:
        if not args.configs_dir:
            raise InputError("--cost-configs needs --configs-dir")
        for path in write_cost_configs(args.experiment_config, args.configs_dir):
            print(path)
        return 0
    if not args.costs:
        raise InputError("give the act cost files with --costs (or --cost-configs to write the configs they need)")
    plan = plan_budget(args.experiment_config, args.costs, out=args.out, configs_dir=args.configs_dir)
    for r in plan["runs"]:
        print(f"{r['dataset']:>16} {r['method']:>8} b{r['batch']:<5} {r['steps']:>9,} steps  "
              f"{r['flops_per_step']:.3g} FLOP/step  ~{r['estimated_wall_seconds']:.3g} s per seed", file=sys.stderr)
    return 0

"""Matched compute: a FLOP budget per dataset (or per arm), divided by each (arm, batch)'s FLOPs per step.

``steps = max(1, floor(budget_flops / flops_per_step(arm, batch)))``, with
``flops_per_step`` from ``act cost`` (every phase's forward and backward, R1 amortised),
so ACT, whose step also trains a discriminator on 2B images, gets fewer steps than CT
at the same batch. A ``reference`` budget without a batch is matched per batch: a run at
batch b gets the FLOPs of ``steps`` steps of the reference arm at b. Each run's resolved
config is written next to the plan.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from act.errors import InputError
from act.plan.experiment import Budget, Experiment, cost_jobs, parse_experiment, resolve_run_config
from act.plan.layout import config_path, cost_config_path, parse_cost_path

PathLike = Union[str, Path]
CostKey = Tuple[str, str, int]  # (dataset, arm, batch)
LOGS_PER_CHECKPOINT = 4  # at least this many log lines between checkpoints of a short run


def read_costs(paths: Iterable[PathLike]) -> Dict[CostKey, Dict[str, Any]]:
    """``{dataset}/{arm}_b{batch}.json`` files of ``act cost`` -> {(dataset, arm, batch): JSON}."""
    from act.config import METHOD_NAMES

    costs: Dict[CostKey, Dict[str, Any]] = {}
    for p in paths:
        key = parse_cost_path(p)
        data = json.loads(Path(p).read_text())
        # act cost writes the config's method.name: an arm named for a method holds that one; any other
        # arm's method is known from the experiment only (check_cost_methods)
        named = key[1] if key[1] in METHOD_NAMES else data.get("method")
        if data.get("method") != named or int(data.get("batch_size", -1)) != key[2]:
            raise InputError(f"{p}: holds method {data.get('method')!r} at batch {data.get('batch_size')}, "
                             f"but its name says {key[1]!r} at batch {key[2]}")
        if not data.get("flops_per_step", 0) > 0:
            raise InputError(f"{p}: flops_per_step must be positive, got {data.get('flops_per_step')!r}")
        if key in costs:
            raise InputError(f"two cost files for {key}: {costs[key]['_file']} and {p}")
        costs[key] = {**data, "_file": str(p)}
    return costs


def check_cost_methods(exp: Experiment, costs: Mapping[CostKey, Mapping[str, Any]]) -> None:
    """Each arm's cost files hold the method the arm trains (``method``, where a cost records one)."""
    for ds, plan in exp.datasets.items():
        trains = {arm: resolve_run_config(exp, ds, arm, plan.batches(arm)[0]).method.name for arm in plan.methods}
        for (d, arm, batch), c in costs.items():
            if d == ds and arm in trains and c.get("method") not in (None, trains[arm]):
                raise InputError(f"{c.get('_file') or f'{d}/{arm}_b{batch}.json'}: holds method {c['method']!r}, but arm "
                                 f"{arm!r} of {ds} trains {trains[arm]!r}: rerun act cost for it")


def steps_for(budget_flops: float, flops_per_step: float) -> int:
    """floor(budget / flops per step), at least 1; the reference itself gets exactly its steps back."""
    return max(1, math.floor(budget_flops / flops_per_step * (1 + 1e-12)))


def checkpoint_schedule(steps: int, checkpoints: int, log_every: int) -> Tuple[int, int, List[int]]:
    """(ckpt_every, log_every, checkpoint steps) leaving about ``checkpoints`` checkpoints, the last at ``steps``.

    ckpt_every is a multiple of log_every, so the training log has a line (wall time,
    images seen) at every checkpoint; log_every shrinks for short runs.
    """
    log_every = max(1, min(log_every, steps // (LOGS_PER_CHECKPOINT * checkpoints)))
    ckpt_every = log_every * math.ceil(steps / (checkpoints * log_every))
    periodic = list(range(ckpt_every, steps, ckpt_every)) if ckpt_every < steps else []  # act train skips done == steps
    return ckpt_every, log_every, periodic + [steps]


def budget_flops(exp: Experiment, dataset: str, flops: Mapping[CostKey, float], arm: Optional[str] = None,
                 batch: Optional[int] = None) -> Optional[float]:
    """The FLOPs of a run of ``arm`` at ``batch`` under its budget (the dataset's when ``arm`` is None; None: a fixed
    ``steps`` budget), from FLOPs per step by (dataset, arm, batch)."""
    plan = exp.datasets[dataset]
    b = plan.budget if arm is None else plan.budget_of(arm)
    if b.kind == "flops":
        return float(b.flops)
    elif b.kind == "reference":
        ref_batch = batch if b.batch is None else b.batch
        if ref_batch is None:
            raise ValueError(f"the budget of {dataset} has no reference batch: it is matched at each run's own batch")
        key = (dataset, b.method, ref_batch)
        if key not in flops:
            raise KeyError(f"budget of {dataset} refers to {b.method} at batch {ref_batch}: no cost file "
                           f"{dataset}/{b.method}_b{ref_batch}.json among --costs")
        return b.steps * float(flops[key])
    elif b.kind == "steps":
        return None  # not matched: every run trains b.steps
    else:
        raise ValueError(f"unknown budget kind {b.kind!r}")


def budget_record(b: Budget, batch: Optional[int] = None) -> Dict[str, Any]:
    """A budget as budget.json records it: its kind, the reference used (``batch``: a run's, where the budget gives
    none) and the fixed steps."""
    ref = {"method": b.method, "batch": b.batch if b.batch is not None else batch, "steps": b.steps}
    return {"budget_kind": b.kind, "reference": ref if b.kind == "reference" else None,
            "fixed_steps": b.steps if b.kind == "steps" else None}


def _write_config(cfg: Any, path: Path) -> Path:
    from act.config import save_config
    from act.io import atomic_write

    return atomic_write(path, lambda tmp: save_config(cfg, tmp))


def plan_budget(experiment: Union[PathLike, Mapping[str, Any], Experiment], costs: Union[Iterable[PathLike], Mapping[CostKey, Dict[str, Any]]],
                out: Optional[PathLike] = None, configs_dir: Optional[PathLike] = None) -> Dict[str, Any]:
    """Steps per (dataset, arm, batch) under each arm's budget; writes ``out`` (JSON) and per-seed configs."""
    exp = parse_experiment(experiment)
    costs = dict(costs) if isinstance(costs, Mapping) else read_costs(costs)
    check_cost_methods(exp, costs)
    flops = {k: c["flops_per_step"] for k, c in costs.items()}
    runs, datasets, warnings = [], {}, []
    for ds, plan in exp.datasets.items():
        total_s, total_flops, devices = 0.0, 0.0, set()
        for arm, batch in plan.pairs():
            key = (ds, arm, batch)
            if key not in costs:
                raise KeyError(f"no cost file for {ds}/{arm} at batch {batch}: expected {ds}/{arm}_b{batch}.json among --costs")
            c = costs[key]
            fps, sps = float(c["flops_per_step"]), float(c["seconds_per_step"])
            budget = budget_flops(exp, ds, flops, arm, batch)
            steps = steps_for(budget, fps) if budget is not None else int(plan.budget_of(arm).steps)
            base = resolve_run_config(exp, ds, arm, batch)
            ckpt_every, log_every, ckpts = checkpoint_schedule(steps, plan.checkpoints, base.train.log_every)
            train = {"steps": steps, "ckpt_every": ckpt_every, "log_every": log_every}
            configs = {}
            for seed in plan.seeds:
                cfg = resolve_run_config(exp, ds, arm, batch, seed, train)
                if configs_dir is not None:
                    configs[str(seed)] = str(_write_config(cfg, config_path(configs_dir, ds, arm, batch, seed)))
            images_per_step = int(c.get("images_per_step") or batch)
            devices.add(c.get("device_name"))
            record = budget_record(plan.budget_of(arm), batch)
            # "method": the arm, as its folders and cost file are named (readers key runs by it); "method_name": what it trains
            runs.append({
                "dataset": ds, "method": arm, "batch": batch, "method_name": base.method.name, "seeds": list(plan.seeds),
                "steps": steps, "flops_per_step": fps, "seconds_per_step": sps, "images_per_step": images_per_step,
                "images_seen": steps * images_per_step, "train_flops": steps * fps, "budget_kind": record["budget_kind"],
                "budget_flops": budget, "budget_reference": record["reference"],
                "budget_used": steps * fps / budget if budget else None,
                "estimated_wall_seconds": steps * sps, "ckpt_every": ckpt_every, "log_every": log_every,
                "checkpoint_steps": ckpts, "params": c.get("params"), "cost_file": c.get("_file"),
                "cost_device_name": c.get("device_name"), "configs": configs,
            })
            total_s += steps * sps * len(plan.seeds)
            total_flops += steps * fps * len(plan.seeds)
        if len(devices) > 1:
            warnings.append(f"{ds}: cost files measured on different devices {sorted(map(str, devices))}; "
                            "their seconds per step (estimated wall times) are not comparable")
        datasets[ds] = dataset_summary(exp, ds, flops, total_s, total_flops)
    result = {"experiment": exp.name, "experiment_config": str(exp.path) if exp.path else None,
              "configs_dir": str(configs_dir) if configs_dir is not None else None,
              "datasets": datasets, "runs": runs, "warnings": warnings}
    for w in warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if out is not None:
        from act.provenance import provenance, write_json_atomic

        write_json_atomic(out, {**result, "provenance": provenance()})
    return result


def dataset_summary(exp: Experiment, ds: str, flops: Mapping[CostKey, float], total_s: float,
                    total_flops: float) -> Dict[str, Any]:
    """budget.json's entry of dataset ``ds``: the dataset's budget (``budget_flops`` None where it is not one number:
    fixed steps, or a reference matched at each run's batch), the kinds its arms' runs use, and each arm's batch
    sizes and budget."""
    plan = exp.datasets[ds]
    # one number when a flops budget, or a reference at its own batch, that some arm uses (else no cost file for it)
    one = plan.budget.kind == "flops" or plan.budget.kind == "reference" and plan.budget.batch is not None
    one = one and any(arm not in plan.arm_budgets for arm in plan.methods)
    arms = {arm: {"batch_sizes": plan.batches(arm), "own_batch_sizes": arm in plan.arm_batch_sizes,
                  "own_budget": arm in plan.arm_budgets, **budget_record(plan.budget_of(arm))} for arm in plan.methods}
    return {**budget_record(plan.budget), "budget_flops": budget_flops(exp, ds, flops) if one else None,
            "budget_kinds": sorted({a["budget_kind"] for a in arms.values()}), "arms": arms,
            "runs": len(plan.pairs()) * len(plan.seeds),
            "estimated_wall_seconds_total": total_s, "train_flops_total": total_flops}


def write_cost_configs(experiment: Union[PathLike, Mapping[str, Any], Experiment], configs_dir: PathLike) -> List[Path]:
    """``{configs_dir}/{dataset}/{arm}/b{batch}/cost.yaml`` for every ``act cost`` the budget needs (the
    experiment's seeds may be left out: they change no cost)."""
    exp = parse_experiment(experiment, seeds=False)
    return [_write_config(resolve_run_config(exp, j["dataset"], j["method"], j["batch"]),
                          cost_config_path(configs_dir, j["dataset"], j["method"], j["batch"])) for j in cost_jobs(exp)]

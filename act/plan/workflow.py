"""What the workflow derives from its validated config, as plain functions of that config.

``workflow/rules/common.smk`` wires these to Snakemake (wildcards, checkpoints, paths); here they can be
tested and read without it. ``config`` is the workflow's config after the schema filled in its defaults;
``experiment`` the :class:`act.plan.experiment.Experiment` parsed from it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from act.config import deep_update
from act.errors import ConfigError
from act.plan.experiment import Experiment, resolve_run_config, resource_request

# What act budget (and act cost's configs) depend on: a change re-plans, and so retrains. Workflow-only
# settings (sample, evaluate, theory, ...) only redo their own stages. An arm's own batch_sizes and budget
# live in its `methods` entry: an edit to them re-plans too.
BUDGET_KEYS = ("config", "methods", "overrides", "batch_sizes", "seeds", "budget", "checkpoints")
COST_KEYS = ("config", "methods", "overrides", "batch_sizes", "budget")
EVALUATE_OPTIONS = {"split": "--split", "resize_mode": "--resize-mode", "batch_size": "--eval-batch-size",
                    "kid_subsets": "--kid-subsets", "kid_subset_size": "--kid-subset-size"}  # always given
THEORY_OPTIONS = ("num_probe", "batch_size", "projections", "lipschitz_points", "lipschitz_iters", "num_scales")


def plan_params(config: Mapping[str, Any], keys: Tuple[str, ...]) -> str:
    """The part of the experiment that ``keys`` of each dataset hold, as a canonical JSON string (a rule's
    params: Snakemake reruns the rule when it changes)."""
    plan = {d: {k: v for k, v in deep_update(config["defaults"], spec).items() if k in keys}
            for d, spec in config["datasets"].items()}
    return json.dumps(plan, sort_keys=True)


def dataset_settings(config: Mapping[str, Any], experiment: Experiment) -> Dict[str, Dict[str, Any]]:
    """Workflow settings of each dataset: the config's ``defaults:`` (the schema's defaults filled in), then the
    dataset's own section, the order act budget merges its keys in. (The schema cannot fill the datasets'
    sections themselves: their defaults would then override ``defaults:``.)"""
    return {d: deep_update(config["defaults"], config["datasets"][d]) for d in experiment.datasets}


def dataset_data(experiment: Experiment) -> Dict[str, Any]:
    """Each dataset's data section (every arm shares it), from each arm's config at its first batch size: a
    config act budget could not resolve (an arm naming no method, a missing file) fails here, in one line."""
    out = {}
    for d, plan in experiment.datasets.items():
        configs = [resolve_run_config(experiment, d, arm, plan.batches(arm)[0]) for arm in plan.methods]
        out[d] = configs[0].data
    return out


def claims_metric_problem(dataset: str, settings: Mapping[str, Any], toy: bool) -> Optional[str]:
    """Why the claims metric of a dataset cannot be measured by this experiment (None: it can): found now,
    not after every run has trained."""
    metric = settings["claims"]["metric"]
    why = None
    if metric == "w1" and not toy:
        why = "w1 is measured on 2-D toy data only; images: fid, classifier_fd or kid_mean"
    elif metric in ("fid", "kid_mean", "classifier_fd") and toy:
        why = f"{metric} is an image metric; 2-D toy data: w1 (or leave it null)"
    elif metric == "classifier_fd" and not settings["classifier"]["enabled"]:
        why = "classifier_fd needs the classifier: set `classifier: {enabled: true}`"
    elif metric in ("fid", "kid_mean") and settings["evaluate"]["inception_num"] == 0:
        why = f"{metric} needs Inception features, but `evaluate.inception_num` is 0"
    return f"datasets.{dataset}.claims.metric is {metric}: {why}" if why else None


def released_entries(settings: Mapping[str, Mapping[str, Any]], toy: List[str]) -> Dict[Tuple[str, str], Dict[str, Any]]:
    """{(dataset, name): entry} of the released checkpoints to import and score (image datasets only)."""
    released = {(d, r["name"]): r for d, st in settings.items() for r in st.get("released", [])}
    bad = sorted({d for d, _ in released if d in toy})
    if bad:
        raise ConfigError(f"released checkpoints are image generators: {bad} is 2-D toy data; move the `released:` "
                          "entries to an image dataset")
    return released


def plan_runs(experiment: Experiment) -> List[Tuple[str, str, int, int]]:
    """(dataset, arm, batch, seed) of every training run, each arm at its own batch sizes, in the plan's order
    (the arms in the reports' method order)."""
    from act.report.style import method_rank

    return [(d, m, b, s) for d, plan in experiment.datasets.items() for m in sorted(plan.methods, key=method_rank)
            for b in plan.batches(m) for s in plan.seeds]


def reported_as(settings: Mapping[str, Mapping[str, Any]]) -> str:
    """act tables / act claims options: the papers' numbers each dataset sits beside."""
    return " ".join(f"--reported-as {d}={st['reported_as']}" for d, st in settings.items() if st.get("reported_as"))


def requested(config: Mapping[str, Any], experiment: Experiment, rule: str, field: str) -> Dict[str, Any]:
    """{dataset: what its jobs of ``rule`` ask for}: act.plan.experiment.resource_request, as act estimate reads
    it (the dataset's ``resources:``, else the experiment's, whose schema defaults are filled in)."""
    return {d: resource_request(config, d, rule, field) for d in experiment.datasets}


def job_request(config: Mapping[str, Any], experiment: Experiment, rule: str, field: str) -> Any:
    """What a job of ``rule`` asks for: one value, or {dataset: value} where some dataset sets its own; no GPU
    when ``device: cpu`` (a CPU experiment asks no scheduler for GPUs, whatever its resources say)."""
    if field == "gpu" and config["device"] == "cpu":
        return 0
    per_dataset = requested(config, experiment, rule, field)
    default = config["resources"][rule][field]
    return default if all(v == default for v in per_dataset.values()) else per_dataset


def score_options(evaluate: Mapping[str, Any], data: Any, reference_cache: str, classifier: Optional[str]) -> str:
    """act score-run's evaluation options of an image dataset (its ``evaluate`` settings and data section)."""
    root = evaluate["data_root"] or data.root
    opts = [f"--dataset {data.name}"]
    opts += [f"{option} {evaluate[k]}" for k, option in EVALUATE_OPTIONS.items()]
    opts += [f"--cache-dir {reference_cache}"]
    opts += [f"--num-ref {evaluate['num_ref']}"] if evaluate["num_ref"] else []
    opts += [f"--inception-num {evaluate['inception_num']}"] if evaluate["inception_num"] is not None else []
    opts += [f"--inception-at {evaluate['inception_at']}"]
    opts += [f"--data-root {root}"] if root else []
    opts += [f"--classifier {classifier}"] if classifier else []
    return " ".join(opts)


def theory_options(theory: Mapping[str, Any]) -> str:
    """act theory's options from a dataset's ``theory`` settings (num_scales null: each method's own grid)."""
    return " ".join(f"--{k.replace('_', '-')} {theory[k]}" for k in THEORY_OPTIONS if theory[k] is not None)

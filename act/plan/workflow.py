"""What the workflow derives from its config, as plain functions of that config.

:func:`plan_workflow` checks the config and derives, once, what the rules need: the experiment, each
dataset's settings and kind, the training runs, and the plan, whose parts (results/<name>/plan/<part>.json)
hold what each act command of the workflow reads (``act <command> --plan FILE``; the rules pass paths
only). ``workflow/rules/common.smk`` wires these to Snakemake (wildcards, checkpoints, paths); here they
can be tested and read without it. ``config`` is the workflow's config after the schema filled in its
defaults; ``experiment`` the :class:`act.plan.experiment.Experiment` parsed from it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from act.config import deep_update
from act.errors import ConfigError
from act.plan import layout as L
from act.plan.experiment import (EXPERIMENT_KEYS, Experiment, config_problem, parse_experiment, resolve_run_config,
                                 resource_request)

# What act budget (and act cost's configs) depend on: a change re-plans, and so retrains. Workflow-only
# settings (sample, evaluate, theory, ...) only redo their own stages. An arm's own batch_sizes and budget
# live in its `methods` entry: an edit to them re-plans too.
BUDGET_KEYS = ("config", "methods", "overrides", "batch_sizes", "seeds", "budget", "checkpoints")
COST_KEYS = ("config", "methods", "overrides", "batch_sizes", "budget")
# act score-run's options from a dataset's `evaluate` settings, always given
EVALUATE_OPTIONS = {"split": "split", "resize_mode": "resize-mode", "batch_size": "eval-batch-size",
                    "kid_subsets": "kid-subsets", "kid_subset_size": "kid-subset-size"}
THEORY_OPTIONS = ("num_probe", "batch_size", "projections", "lipschitz_points", "lipschitz_iters", "num_scales")
# The act command reading each part of the plan with --plan (a part's first segment: "score/cifar10" is read by
# act score-run); act budget reads "budget" and "cost_configs" with --experiment-config; no job reads "experiment".
PLAN_COMMANDS = {"cost": "cost", "tables": "tables", "claims": "claims", "score": "score-run", "theory": "theory",
                 "inpaint": "inpaint", "classifier": "train-classifier", "released": "import-official"}
Plan = Dict[str, Any]  # a stage plan: {long option name: value}, what `act <command> --plan` reads


def experiment_slice(name: str, settings: Mapping[str, Mapping[str, Any]], keys: Tuple[str, ...]) -> Plan:
    """The part of the experiment that ``keys`` of each dataset hold (its settings: ``defaults:`` merged in), as
    act budget reads it: a stage plan of its own, so that only a change of these keys re-plans."""
    return {"name": name, "datasets": {d: {k: v for k, v in st.items() if k in keys} for d, st in settings.items()}}


@dataclass
class WorkflowPlan:
    """What the workflow derives from its validated config, once, when the Snakefile is parsed."""

    experiment: Experiment  # datasets, arms, batches, seeds, budgets: what act budget plans from
    dir: str  # results/<name>: every output of the workflow lives under it
    settings: Dict[str, Dict[str, Any]]  # each dataset's workflow settings (dataset_settings)
    images: List[str]  # the image datasets (the others are 2-D toy data: exact W1, no images)
    released: Dict[Tuple[str, str], Dict[str, Any]]  # {(dataset, name): released checkpoint to import and score}
    parts: Dict[str, Plan]  # {part: what act <command> --plan results/<name>/plan/<part>.json reads}
    runs: List[Tuple[str, str, int, int]]  # (dataset, arm, batch, seed) of every training run (plan_runs)


def plan_workflow(config: Dict[str, Any], schema_path: str) -> WorkflowPlan:
    """Check the workflow's config and derive its plan. The schema fills in ``config``'s defaults (in place, as
    Snakemake's validate does); what the schema cannot see (an arm naming no method, an arm config act budget
    could not resolve, a claims metric the experiment does not measure) is a ConfigError, one line."""
    from snakemake.utils import validate

    problem = config_problem(config, schema_path)  # one line naming the key, before Snakemake's longer report
    if problem:
        raise ConfigError(problem)
    validate(config, schema_path)
    experiment = parse_experiment(config)
    settings = dataset_settings(config, experiment)
    data = dataset_data(experiment)
    toy = [d for d in experiment.datasets if data[d].name == "toy2d"]
    problems = [p for p in (claims_metric_problem(d, settings[d], d in toy) for d in experiment.datasets) if p]
    if problems:
        raise ConfigError(problems[0])
    exp_dir = str(L.experiment_dir(config["results_dir"], config["name"]))
    released = released_entries(settings, toy)
    parts = stage_plans(config, settings, data, toy, released, lambda d: str(L.classifier_path(exp_dir, d)))
    return WorkflowPlan(experiment, exp_dir, settings, [d for d in experiment.datasets if d not in toy], released,
                        parts, plan_runs(experiment))


def run_outputs(plan: WorkflowPlan, d: str, m: str, b: int, s: int) -> List[str]:
    """Everything measured on one run: act aggregate's input."""
    out = [L.model_path(plan.dir, d, m, b, s), L.stage_dir(plan.dir, "samples", d, m, b, s),
           L.stage_dir(plan.dir, "metrics", d, m, b, s)]
    if plan.settings[d]["theory"]["enabled"]:
        out.append(L.stage_dir(plan.dir, "theory", d, m, b, s))
    if plan.settings[d]["inpaint"]["enabled"] and d in plan.images:
        out.append(L.inpaint_path(plan.dir, d, m, b, s))
    return [str(p) for p in out]


def checkpoint_files(plan: WorkflowPlan, budget_file: str, run: Tuple[str, str, int, int], which: str) -> List[str]:
    """A run's checkpoint files from the budget's plan (budget.json): its final one, or (``all``) every one."""
    from act.checkpoint import checkpoint_path

    d, arm, batch, seed = run
    with open(budget_file) as f:
        entry = next(r for r in json.load(f)["runs"] if (r["dataset"], r["method"], int(r["batch"])) == (d, arm, int(batch)))
    steps = [int(entry["steps"])] if which == "final" else [int(s) for s in entry["checkpoint_steps"]]
    return [str(checkpoint_path(L.stage_dir(plan.dir, "runs", d, arm, batch, seed), k)) for k in steps]


def one_of(names) -> str:
    """A wildcard regex matching exactly these names (or nothing)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


def launcher(gpus: int) -> str:
    """How a training job starts `act`: itself, or one process per GPU under torchrun when it asks for several."""
    return f"torchrun --standalone --nproc_per_node={gpus} -m act.cli" if gpus > 1 else "act"


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


def reported_as(settings: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """act tables / act claims ``--reported-as`` values: the papers' numbers each dataset sits beside."""
    return [f"{d}={st['reported_as']}" for d, st in settings.items() if st.get("reported_as")]


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


def score_plan(settings: Mapping[str, Any], data: Any, toy: bool, device: str, reference_cache: str,
               classifier: Optional[str]) -> Plan:
    """act score-run's options for a dataset (its ``sample`` and ``evaluate`` settings and data section); 2-D toy
    sets get exact W1 and no evaluation options."""
    sample = settings["sample"]
    plan: Plan = {"nfe": list(sample["nfe"]), "num": sample["num"], "batch-size": sample["batch_size"],
                  "device": device, "no-progress": True}
    if toy:
        return plan
    evaluate = settings["evaluate"]
    root = evaluate["data_root"] or data.root
    plan["dataset"] = data.name
    plan.update({option: evaluate[k] for k, option in EVALUATE_OPTIONS.items()})
    plan["cache-dir"] = reference_cache
    if evaluate["num_ref"]:
        plan["num-ref"] = evaluate["num_ref"]
    if evaluate["inception_num"] is not None:
        plan["inception-num"] = evaluate["inception_num"]
    plan["inception-at"] = evaluate["inception_at"]
    if root:
        plan["data-root"] = str(root)
    if classifier:
        plan["classifier"] = classifier
    return plan


def theory_plan(theory: Mapping[str, Any], device: str) -> Plan:
    """act theory's options from a dataset's ``theory`` settings (num_scales null: each method's own grid)."""
    plan: Plan = {k.replace("_", "-"): theory[k] for k in THEORY_OPTIONS if theory[k] is not None}
    return {**plan, "plots": "final", "device": device, "no-progress": True}


def classifier_plan(classifier: Mapping[str, Any], data: Any) -> Plan:
    """act train-classifier's options (on the CPU: a few hundred steps of a small network)."""
    plan: Plan = {"dataset": data.name, "steps": classifier["steps"], "batch-size": classifier["batch_size"],
                  "width": classifier["width"], "device": "cpu"}
    if data.root:
        plan["data-root"] = str(data.root)
    if data.resolution:
        plan["resolution"] = data.resolution
    return plan


def cost_plan(cost: Mapping[str, Any]) -> Plan:
    """act cost's options (the workflow's ``cost`` section)."""
    plan: Plan = {"steps": cost["steps"], "warmup": cost["warmup"], "synthetic": bool(cost["synthetic"])}
    if cost["max_batch"]:
        plan["max-batch"] = cost["max_batch"]
    return plan


def stage_plans(config: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]], data: Mapping[str, Any],
                toy: List[str], released: Mapping[Tuple[str, str], Mapping[str, Any]],
                classifier: Callable[[str], str]) -> Dict[str, Plan]:
    """{part: plan} of an experiment (files results/<name>/plan/<part>.json): ``experiment``, the validated
    experiment itself (the schema's defaults filled in, every --configfile and --config value merged; a
    record, which no job reads); every other part, what one act command of the workflow reads (``act
    <command> --plan FILE``), per dataset where datasets differ. ``classifier(dataset)``: a classifier's path."""
    plans: Dict[str, Plan] = {
        "experiment": {k: config[k] for k in EXPERIMENT_KEYS if k in config},
        "budget": experiment_slice(config["name"], settings, BUDGET_KEYS),
        "cost_configs": experiment_slice(config["name"], settings, COST_KEYS),
        "cost": cost_plan(config["cost"]),
        "tables": {"reported-as": reported_as(settings)},
        "claims": {"reported-as": reported_as(settings), "title": config["name"],
                   "metric": [f"{d}={st['claims']['metric']}" for d, st in settings.items() if st["claims"]["metric"]]},
    }
    device = config["device"]
    for d, st in settings.items():
        image = d not in toy
        with_classifier = image and st["classifier"]["enabled"]
        plans[f"score/{d}"] = score_plan(st, data[d], not image, device, config["reference_cache"],
                                         classifier(d) if with_classifier else None)
        if st["theory"]["enabled"]:
            plans[f"theory/{d}"] = theory_plan(st["theory"], device)
        if image and st["inpaint"]["enabled"]:
            plans[f"inpaint/{d}"] = {"num": st["inpaint"]["num"], "mask": st["inpaint"]["mask"], "device": device}
        if with_classifier:
            plans[f"classifier/{d}"] = classifier_plan(st["classifier"], data[d])
    for (d, name), entry in released.items():
        plans[f"released/{d}/{name}"] = {k: entry[k] for k in ("sha256", "preset") if k in entry}
    return plans


def plan_text(plan: Plan) -> str:
    """A stage plan as the file holds it: canonical JSON (the plan rule's params: Snakemake reruns it, and so the
    jobs reading it, when the text changes)."""
    return json.dumps(plan, indent=1, sort_keys=True) + "\n"


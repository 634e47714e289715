# Shared by every stage: config validation, the experiment plan, paths, and the
# functions that turn the budget (a checkpoint) into the list of jobs.
import json
import os
from pathlib import Path
from types import SimpleNamespace

import yaml

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from act.checkpoint import checkpoint_path
from act.config import deep_update
from act.report.experiment import cost_jobs, parse_experiment, resolve_run_config
from act.report.layout import config_path, cost_config_path, cost_path
from act.report.style import method_rank

validate(config, schema="../schemas/config.schema.yaml")

# One experiment, one folder: every output of the workflow lives under R.
EXP = config["name"]
R = f"{config['results_dir']}/{EXP}"
# Every rule's software: the project's environment, whose pip section installs this checkout.
# Only with --software-deployment-method conda (built once, shared by all rules); otherwise the
# rules call the `act` of the environment Snakemake runs in (the README's .venv). Relative to
# the rule files, which all live in workflow/rules/.
ENV = "../../environment.yml"

PLAN = parse_experiment(config)  # what act budget will read: datasets, methods, batches, seeds, budget

# act budget reads the experiment from its file: the keys it reads must not be changed
# with --config (the workflow's own keys, results_dir and the like, may be).
EXPERIMENT_KEYS = ("name", "defaults", "datasets")
# Relative to the working directory, as typed or not: `--configfile config/x.yaml` arrives
# absolute, `configfile:` relative, and the path is a parameter of the rules that read it.
EXPERIMENT_FILE = os.path.relpath(workflow.configfiles[-1])
with open(EXPERIMENT_FILE) as f:
    _in_file = yaml.safe_load(f) or {}
if any(_in_file.get(k) != config.get(k) for k in EXPERIMENT_KEYS):
    raise WorkflowError(
        f"act budget reads the experiment from {EXPERIMENT_FILE}, but the workflow's config differs from it in "
        f"{[k for k in EXPERIMENT_KEYS if _in_file.get(k) != config.get(k)]}: change experiment settings "
        "in one config file (--configfile), not with --config or several config files"
    )

# What act budget (and act cost's configs) depend on: a change re-plans, and so retrains.
# Workflow-only settings (sample, evaluate, theory, ...) only redo their own stages.
ACT_KEYS = ("config", "methods", "overrides", "batch_sizes", "seeds", "budget", "checkpoints")
COST_KEYS = ("config", "methods", "overrides", "batch_sizes", "budget")


def plan_params(keys):
    """The part of the experiment that `keys` of each dataset hold, as a canonical JSON string."""
    defaults = config.get("defaults") or {}
    plan = {
        d: {k: v for k, v in deep_update(defaults, spec).items() if k in keys}
        for d, spec in config["datasets"].items()
    }
    return json.dumps(plan, sort_keys=True)


def train_config_files():
    """Config files the plan names (edits to them re-plan, as edits to the plan do)."""
    specs = [p.config for p in PLAN.datasets.values()]
    specs += [s for p in PLAN.datasets.values() for s in p.methods.values()]
    return sorted({s for s in specs if isinstance(s, str)})


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    method="[A-Za-z0-9]+",
    batch=r"\d+",
    seed=r"\d+",

# Workflow settings of a dataset: these defaults, then the config's `defaults:`, then the
# dataset's own section (the order act budget merges its keys in). Sizes for a CPU.
DATASET_DEFAULTS = {
    "sample": {"num": 1000, "batch_size": 250, "nfe": [1, 2], "at": "final"},
    "evaluate": {"num_ref": None, "split": "train", "data_root": None, "resize_mode": "tf_bilinear",
                 "batch_size": 64, "kid_subset_size": 1000, "kid_subsets": 100},
    "classifier": {"enabled": False, "steps": 500, "batch_size": 128, "width": 32},
    "theory": {"enabled": True, "at": "all", "num_probe": 512, "num_scales": None, "batch_size": 256,
               "projections": 256, "lipschitz_points": 16, "lipschitz_iters": 30},
    "inpaint": {"enabled": True, "num": 8, "mask": "center"},
}
SETTINGS = {
    d: deep_update(deep_update(DATASET_DEFAULTS, config.get("defaults") or {}), config["datasets"][d])
    for d in PLAN.datasets
}

# Scheduler requests per rule: threads, memory (MB), runtime (minutes), GPUs. The config's
# `resources:` section overrides these per field; cluster settings (partition, account)
# belong in the profile, never here.
JOB_DEFAULTS = {
    "train_classifier": {"threads": 2, "mem_mb": 4000, "runtime": 60, "gpu": 0},
    "cost": {"threads": 1, "mem_mb": 8000, "runtime": 30, "gpu": 1},
    "budget": {"threads": 1, "mem_mb": 2000, "runtime": 10, "gpu": 0},
    "train": {"threads": 1, "mem_mb": 8000, "runtime": 60, "gpu": 1},
    "score": {"threads": 1, "mem_mb": 8000, "runtime": 60, "gpu": 1},
    "theory": {"threads": 1, "mem_mb": 8000, "runtime": 60, "gpu": 1},
    "inpaint": {"threads": 1, "mem_mb": 4000, "runtime": 30, "gpu": 1},
    "aggregate": {"threads": 1, "mem_mb": 2000, "runtime": 10, "gpu": 0},
    "tables": {"threads": 1, "mem_mb": 2000, "runtime": 10, "gpu": 0},
    "figures": {"threads": 1, "mem_mb": 2000, "runtime": 10, "gpu": 0},
    "claims": {"threads": 1, "mem_mb": 2000, "runtime": 10, "gpu": 0},
}
JOBS = {rule: {**spec, **(config.get("resources") or {}).get(rule, {})} for rule, spec in JOB_DEFAULTS.items()}


def _first_config(dataset):
    plan = PLAN.datasets[dataset]
    return resolve_run_config(PLAN, dataset, next(iter(plan.methods)), plan.batch_sizes[0])


def job(rule, field):
    """What a job of `rule` asks for: the dataset's `resources:` entry, else the experiment's, else
    the default above (a function of the wildcards only where some dataset sets its own)."""
    per_dataset = {
        d: SETTINGS[d].get("resources", {}).get(rule, {}).get(field) for d in PLAN.datasets
    }
    if all(v is None for v in per_dataset.values()):
        return JOBS[rule][field]
    return lambda wildcards: value_for(per_dataset.get(wildcards.dataset), JOBS[rule][field])


def value_for(value, default):
    return default if value is None else value


def gpus(rule, wildcards):
    request = job(rule, "gpu")
    return request(wildcards) if callable(request) else request


DATA = {d: _first_config(d).data for d in PLAN.datasets}  # every method of a dataset shares its data section
TOY = [d for d in PLAN.datasets if DATA[d].name == "toy2d"]
IMAGES = [d for d in PLAN.datasets if d not in TOY]


def one_of(names):
    """Wildcard regex matching exactly these names (or nothing)."""
    return "|".join(names) if names else "(?!)"


# --- Paths --------------------------------------------------------------------------

RUN = "{dataset}/{method}/b{batch}/s{seed}"


def logs(stage, pattern):
    return f"{R}/logs/{stage}/{pattern}.log"


def bench(stage, pattern):
    return f"{R}/benchmarks/{stage}/{pattern}.tsv"


def configs_dir(config_file):
    """{R}/configs from one of the config files act budget writes below it."""
    path = Path(config_file)
    while path.name != "configs":
        path = path.parent
    return str(path)


def classifier_path(dataset):
    return f"{R}/reference/{dataset}/classifier.pt"


def runs():
    """(dataset, method, batch, seed) of every training run, in the plan's order."""
    return [
        (d, m, b, s)
        for d, plan in PLAN.datasets.items()
        for m in sorted(plan.methods, key=method_rank)
        for b in plan.batch_sizes
        for s in plan.seeds
    ]


def cost_files():
    return [str(cost_path(R, j["dataset"], j["method"], j["batch"])) for j in cost_jobs(PLAN)]


def cost_config_files():
    return [str(cost_config_path(f"{R}/configs", j["dataset"], j["method"], j["batch"])) for j in cost_jobs(PLAN)]


def config_files():
    return [str(config_path(f"{R}/configs", d, m, b, s)) for d, m, b, s in runs()]


# --- After the budget (a checkpoint): checkpoint steps of each run --------------------


def budget_runs():
    """{(dataset, method, batch): budget.json entry}; waits for (re-evaluates after) the budget."""
    path = checkpoints.budget.get().output.budget
    with open(path) as f:
        return {(r["dataset"], r["method"], int(r["batch"])): r for r in json.load(f)["runs"]}


def run_steps(wc, which):
    """Checkpoint steps of run ``wc``: the final one, or all of them."""
    entry = budget_runs()[(wc.dataset, wc.method, int(wc.batch))]
    return [int(entry["steps"])] if which == "final" else [int(s) for s in entry["checkpoint_steps"]]


def run_config(wc):
    """The run's resolved config, written by the budget: a checkpoint, waited for here."""
    checkpoints.budget.get()
    return str(config_path(f"{R}/configs", wc.dataset, wc.method, wc.batch, wc.seed))


def checkpoint_file(wc, step):
    return str(checkpoint_path(f"{R}/runs/{wc.dataset}/{wc.method}/b{wc.batch}/s{wc.seed}", int(step)))


def first_run(dataset):
    """The run whose scoring fills the dataset's reference-feature cache; the others wait for it."""
    d, m, b, s = next(r for r in runs() if r[0] == dataset)
    return f"{d}/{m}/b{b}/s{s}"


def run_outputs(d, m, b, s):
    """Everything measured on one run, as aggregate's input."""
    run = f"{d}/{m}/b{b}/s{s}"
    out = [f"{R}/runs/{run}/model.pt", f"{R}/samples/{run}", f"{R}/metrics/{run}"]
    st = SETTINGS[d]
    if st["theory"]["enabled"]:
        out.append(f"{R}/theory/{run}")
    if st["inpaint"]["enabled"] and d in IMAGES:
        out.append(f"{R}/inpaint/{run}/inpaint.json")
    return out


def aggregate_inputs(wildcards):
    budget_runs()  # the checkpoint: nothing below is known before the budget exists
    return [f for r in runs() for f in run_outputs(*r)]


# --- Inputs and options of single rules -----------------------------------------------


def launcher(wildcards):
    """`act`, or one process per GPU under torchrun when a training job asks for several."""
    n = gpus("train", wildcards)
    return f"torchrun --standalone --nproc_per_node={n} -m act.cli" if n > 1 else "act"


def score_inputs(wc):
    run = f"{wc.dataset}/{wc.method}/b{wc.batch}/s{wc.seed}"
    inputs = {"model": f"{R}/runs/{run}/model.pt", "config": run_config(wc)}  # after the budget: its checkpoints
    if wc.dataset in IMAGES:
        if SETTINGS[wc.dataset]["classifier"]["enabled"]:
            inputs["classifier"] = classifier_path(wc.dataset)
        # Reference Inception features are computed once per dataset: the first run's scoring
        # fills the cache, the others wait for it instead of extracting them again. Only the
        # order: ancient(), so redoing that job redoes no other.
        first = first_run(wc.dataset)
        if run != first:
            inputs["reference_cache"] = ancient(f"{R}/metrics/{first}")
    return inputs


def score_options(wc, input):
    """act score-run's evaluation options (images only: 2-D toy sets get exact W1 and need none)."""
    if wc.dataset in TOY:
        return ""
    st = SETTINGS[wc.dataset]["evaluate"]
    root = st["data_root"] or DATA[wc.dataset].root
    opts = [f"--dataset {DATA[wc.dataset].name}", f"--split {st['split']}", f"--resize-mode {st['resize_mode']}",
            f"--eval-batch-size {st['batch_size']}", f"--kid-subsets {st['kid_subsets']}",
            f"--kid-subset-size {st['kid_subset_size']}", f"--cache-dir {config['reference_cache']}"]
    opts += [f"--num-ref {st['num_ref']}"] if st["num_ref"] else []
    opts += [f"--data-root {root}"] if root else []
    opts += [f"--classifier {input.classifier}"] if "classifier" in input.keys() else []
    return " ".join(opts)


def theory_checkpoints(wc):
    return [checkpoint_file(wc, k) for k in run_steps(wc, SETTINGS[wc.dataset]["theory"]["at"])]


def theory_options(wc):
    st = SETTINGS[wc.dataset]["theory"]
    opts = [f"--num-probe {st['num_probe']}", f"--batch-size {st['batch_size']}", f"--projections {st['projections']}",
            f"--lipschitz-points {st['lipschitz_points']}", f"--lipschitz-iters {st['lipschitz_iters']}"]
    opts += [f"--num-scales {st['num_scales']}"] if st["num_scales"] else []
    return " ".join(opts)

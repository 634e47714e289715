# Shared by every stage: config validation (the schema fills in the defaults), the experiment plan,
# its settings, paths (all from act/plan/layout.py), the functions that turn the budget (a
# checkpoint) into the list of jobs, and the rules' input functions (snakemake --lint wants every
# function here, none beside the rules).
import json
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from act.checkpoint import checkpoint_path
from act.config import deep_update
from act.errors import UserError
from act.plan.experiment import (
    config_files,
    config_problem,
    cost_jobs,
    parse_experiment,
    resolve_run_config,
    resource_request,
    write_plan,
)
from act.plan.slurm import read_sinfo, rule_partition, runtime_problems
from act.plan.layout import (
    RunKey,
    benchmark_path,
    budget_path,
    claims_path,
    classifier_path,
    config_path,
    configs_dir,
    cost_config_path,
    cost_path,
    experiment_dir,
    figures_dir,
    inpaint_path,
    log_path,
    model_path,
    plan_path,
    released_dir,
    stage_dir,
    summary_path,
    tables_dir,
)
from act.report.style import method_rank

# workflow.basedir: the folder of the Snakefile (workflow/)
SCHEMA = os.path.join(workflow.basedir, "schemas", "config.schema.yaml")
# One line naming the key, before Snakemake's own (longer) report
_bad = config_problem(config, SCHEMA)
if _bad:
    raise WorkflowError(f"act-bench config: {_bad}")
# Also fills in the schema's defaults.
validate(config, schema="../schemas/config.schema.yaml")

# One experiment, one folder: every output of the workflow lives under R.
EXP = config["name"]
R = str(experiment_dir(config["results_dir"], EXP))
# Every rule's software with --software-deployment-method conda: the jobs' environment (runtime
# dependencies, pinned torch), built once and shared by all rules; its post-deploy script installs
# this checkout, which it finds through ACT_BENCH_ROOT (set here, so --directory elsewhere works).
# Without --sdm the rules call the `act` of the environment Snakemake runs in (the README's .venv).
# Relative to the rule files, which all live in workflow/rules/.
ENV = "../envs/act.yaml"
os.environ.setdefault("ACT_BENCH_ROOT", os.path.dirname(os.path.abspath(workflow.basedir)))

# What act budget will read: datasets, arms, batches, seeds, budgets. Its one-line errors are what the
# schema cannot see (an arm naming no method, a budget referring to no arm).
try:
    PLAN = parse_experiment(config)
except UserError as e:
    raise WorkflowError(f"act-bench config: {e}")

# What act budget (and act cost's configs) depend on: a change re-plans, and so retrains.
# Workflow-only settings (sample, evaluate, theory, ...) only redo their own stages. An arm's own
# batch_sizes and budget live in its `methods` entry: an edit to them re-plans too.
ACT_KEYS = (
    "config",
    "methods",
    "overrides",
    "batch_sizes",
    "seeds",
    "budget",
    "checkpoints",
)
COST_KEYS = ("config", "methods", "overrides", "batch_sizes", "budget")


def plan_params(keys):
    """The part of the experiment that `keys` of each dataset hold, as a canonical JSON string."""
    plan = {
        d: {k: v for k, v in deep_update(config["defaults"], spec).items() if k in keys}
        for d, spec in config["datasets"].items()
    }
    return json.dumps(plan, sort_keys=True)


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    method="[A-Za-z0-9]+",
    batch=r"\d+",
    seed=r"\d+",


# Workflow settings of a dataset: the config's `defaults:` (the schema's defaults filled in), then
# the dataset's own section, the order act budget merges its keys in. The schema cannot fill the
# datasets' sections themselves: their defaults would then override `defaults:`.
SETTINGS = {d: deep_update(config["defaults"], config["datasets"][d]) for d in PLAN.datasets}


def _check_claims_metric(dataset, st, toy):
    """A claims metric the experiment will not measure fails now, not after every run has trained."""
    metric = st["claims"]["metric"]
    why = None
    if metric == "w1" and not toy:
        why = "w1 is measured on 2-D toy data only; images: fid, classifier_fd or kid_mean"
    elif metric in ("fid", "kid_mean", "classifier_fd") and toy:
        why = f"{metric} is an image metric; 2-D toy data: w1 (or leave it null)"
    elif metric == "classifier_fd" and not st["classifier"]["enabled"]:
        why = "classifier_fd needs the classifier: set `classifier: {enabled: true}`"
    elif metric in ("fid", "kid_mean") and st["evaluate"]["inception_num"] == 0:
        why = f"{metric} needs Inception features, but `evaluate.inception_num` is 0"
    if why:
        raise WorkflowError(f"datasets.{dataset}.claims.metric is {metric}: {why}")


# The papers' numbers each dataset's tables and claims sit beside (act tables / act claims).
REPORTED_AS = " ".join(
    f"--reported-as {d}={SETTINGS[d]['reported_as']}" for d in PLAN.datasets if SETTINGS[d].get("reported_as")
)


def requested(rule, field):
    """{dataset: what its jobs of `rule` ask for}: act.plan.experiment.resource_request, as act estimate reads
    it (the dataset's `resources:`, else the experiment's, whose schema defaults are filled in)."""
    return {d: resource_request(config, d, rule, field) for d in PLAN.datasets}


def job(rule, field):
    """What a job of `rule` asks for (act.plan.experiment.resource_request, as act estimate reads it; the
    schema's defaults filled in; no GPU when `device: cpu`): a function of the wildcards only where some
    dataset sets its own.
    """
    if field == "gpu" and config["device"] == "cpu":
        return 0  # a CPU experiment asks no scheduler for GPUs, whatever its resources say
    per_dataset = requested(rule, field)
    default = config["resources"][rule][field]
    if all(v == default for v in per_dataset.values()):
        return default
    return lambda wildcards: per_dataset.get(wildcards.dataset, default)


def retries(rule):
    """`resources.<rule>.retries` (the largest over the datasets; None: Snakemake's --retries). None inside a
    cluster job (--mode remote), where a retry would rerun the job in its own allocation, after the SIGTERM
    that says the allocation is ending."""
    given = [v for v in requested(rule, "retries").values() if v is not None]
    return None if workflow.remote_exec or not given else max(given)


def _arm_configs(dataset):
    """Each arm's config at its first batch size: a config act budget could not resolve (an arm naming no
    method, a missing file) stops the workflow here, in one line, rather than in a job."""
    plan = PLAN.datasets[dataset]
    try:
        return [resolve_run_config(PLAN, dataset, arm, plan.batches(arm)[0]) for arm in plan.methods]
    except UserError as e:
        raise WorkflowError(f"act-bench config: {e}")


# Every arm of a dataset shares its data section.
DATA = {d: _arm_configs(d)[0].data for d in PLAN.datasets}
TOY = [d for d in PLAN.datasets if DATA[d].name == "toy2d"]
IMAGES = [d for d in PLAN.datasets if d not in TOY]
for _d in PLAN.datasets:
    _check_claims_metric(_d, SETTINGS[_d], _d in TOY)


def check_slurm_time_limits():
    """On SLURM, before anything is submitted (the workflow's onstart; the executor is known only then): a
    submitted rule's time request above its partition's limit would be accepted by sbatch and then pend for
    ever (PartitionTimeLimit)."""
    if getattr(workflow.executor_plugin, "name", None) != "slurm":
        return
    problems = runtime_problems(
        [
            (r, minutes, rule_partition(workflow.resource_settings, r))
            for r in config["resources"]
            if not workflow.is_local(workflow.get_rule(r))  # the bookkeeping runs where Snakemake runs
            for minutes in set(requested(r, "runtime").values())
        ],
        read_sinfo(),
    )
    if problems:
        raise WorkflowError(f"act-bench config: {problems[0]}")


def one_of(names):
    """Wildcard regex matching exactly these names (or nothing)."""
    return "|".join(names) if names else "(?!)"


# --- Paths (act/plan/layout.py), with wildcards in rules ---------------------------------

WC = ("{dataset}", "{method}", "{batch}", "{seed}")  # a run's wildcards
# {dataset}/{method}/b{batch}/s{seed}: the run's log and benchmark names
RUN = str(RunKey(*WC).rel())
CONFIGS = str(configs_dir(R))


def path(layout_fn, *args):
    """A layout path under R, as the string a rule takes."""
    return str(layout_fn(R, *args))


def logs(stage, name):
    return path(log_path, stage, name)


def bench(stage, name):
    return path(benchmark_path, stage, name)


def runs():
    """(dataset, arm, batch, seed) of every training run, each arm at its own batch sizes, in the plan's order."""
    return [
        (d, m, b, s)
        for d, plan in PLAN.datasets.items()
        for m in sorted(plan.methods, key=method_rank)
        for b in plan.batches(m)
        for s in plan.seeds
    ]


# --- After the budget (a checkpoint): checkpoint steps of each run --------------------


def budget_runs():
    """{(dataset, method, batch): budget.json entry}; waits for (re-evaluates after) the budget."""
    with open(checkpoints.budget.get().output.budget) as f:
        return {(r["dataset"], r["method"], int(r["batch"])): r for r in json.load(f)["runs"]}


def run_steps(wc, which):
    """Checkpoint steps of run ``wc``: the final one, or all of them."""
    entry = budget_runs()[(wc.dataset, wc.method, int(wc.batch))]
    return [int(entry["steps"])] if which == "final" else [int(s) for s in entry["checkpoint_steps"]]


def run_config(wc):
    """The run's resolved config, written by the budget: a checkpoint, waited for here."""
    checkpoints.budget.get()
    return str(config_path(CONFIGS, wc.dataset, wc.method, wc.batch, wc.seed))


def checkpoint_file(wc, step):
    return str(checkpoint_path(stage_dir(R, "runs", wc.dataset, wc.method, wc.batch, wc.seed), int(step)))


# --- Inputs and options of single rules -----------------------------------------------


def run_outputs(d, m, b, s):
    """Everything measured on one run: aggregate's input, and what the figures draw from."""
    out = [
        path(model_path, d, m, b, s),
        path(stage_dir, "samples", d, m, b, s),
        path(stage_dir, "metrics", d, m, b, s),
    ]
    st = SETTINGS[d]
    if st["theory"]["enabled"]:
        out.append(path(stage_dir, "theory", d, m, b, s))
    if st["inpaint"]["enabled"] and d in IMAGES:
        out.append(path(inpaint_path, d, m, b, s))
    return out


def aggregate_inputs(wildcards):
    budget_runs()  # the checkpoint: nothing below is known before the budget exists
    return [f for r in runs() for f in run_outputs(*r)]


def launcher(wildcards):
    """`act`, or one process per GPU under torchrun when a training job asks for several."""
    n = job("train", "gpu")
    n = n(wildcards) if callable(n) else n
    return f"torchrun --standalone --nproc_per_node={n} -m act.cli" if n > 1 else "act"


def image_scoring_inputs(dataset, run=None):
    """What scoring images of ``dataset`` waits for besides its model: the classifier (when enabled) and the
    dataset's first run's scoring, which fills the reference feature cache (``run``: the run scored, None
    for a released checkpoint). Only the order: ancient(), so redoing that job redoes no other.
    """
    inputs = {}
    if SETTINGS[dataset]["classifier"]["enabled"]:
        inputs["classifier"] = path(classifier_path, dataset)
    first = next((r for r in runs() if r[0] == dataset), None)
    if first is not None and run != first:
        inputs["reference_cache"] = ancient(path(stage_dir, "metrics", *first))
    return inputs


def score_inputs(wc):
    run = (wc.dataset, wc.method, int(wc.batch), int(wc.seed))
    # After the budget: its checkpoints.
    inputs = {"model": path(model_path, *run), "config": run_config(wc)}
    if wc.dataset in IMAGES:
        inputs.update(image_scoring_inputs(wc.dataset, run))
    return inputs


def score_checkpoints(wc, input):
    """The checkpoints a scoring job samples: the run's (``sample.at``: final or all), or a released file's model."""
    if "name" in wc.keys():  # score_released
        return input.model
    return [checkpoint_file(wc, k) for k in run_steps(wc, SETTINGS[wc.dataset]["sample"]["at"])]


def score_options(wc, input):
    """act score-run's evaluation options (images only: 2-D toy sets get exact W1 and need none)."""
    if wc.dataset in TOY:
        return ""
    st = SETTINGS[wc.dataset]["evaluate"]
    root = st["data_root"] or DATA[wc.dataset].root
    opts = [
        f"--dataset {DATA[wc.dataset].name}",
        f"--split {st['split']}",
        f"--resize-mode {st['resize_mode']}",
        f"--eval-batch-size {st['batch_size']}",
        f"--kid-subsets {st['kid_subsets']}",
        f"--kid-subset-size {st['kid_subset_size']}",
        f"--cache-dir {config['reference_cache']}",
    ]
    opts += [f"--num-ref {st['num_ref']}"] if st["num_ref"] else []
    opts += [f"--inception-num {st['inception_num']}"] if st["inception_num"] is not None else []
    opts += [f"--inception-at {st['inception_at']}"]
    opts += [f"--data-root {root}"] if root else []
    opts += [f"--classifier {input.classifier}"] if "classifier" in input.keys() else []
    return " ".join(opts)


# Released (official) checkpoints, per image dataset: imported, then scored as its runs are (released.smk).
RELEASED = {(d, r["name"]): r for d in PLAN.datasets for r in SETTINGS[d].get("released", [])}
if any(d in TOY for d, _ in RELEASED):
    raise WorkflowError(
        f"released checkpoints are image generators: {sorted({d for d, _ in RELEASED if d in TOY})} "
        "is 2-D toy data; move the `released:` entries to an image dataset"
    )
REL = path(released_dir, "{dataset}", "{name}")


def released_inputs(wc):
    """score_released's inputs: the imported model, and what scoring the dataset's images waits for."""
    return {
        "model": os.path.join(REL.format(**wc), "model.pt"),
        **image_scoring_inputs(wc.dataset),
    }


def theory_options(wc):
    # num_scales null: each method's own grid (no option)
    st = SETTINGS[wc.dataset]["theory"]
    keys = (
        "num_probe",
        "batch_size",
        "projections",
        "lipschitz_points",
        "lipschitz_iters",
        "num_scales",
    )
    return " ".join(f"--{k.replace('_', '-')} {st[k]}" for k in keys if st[k] is not None)


# Last, once every check above has passed (a config error writes nothing): the experiment as validated
# here (the schema's defaults, --config values included) is what act budget plans from, one experiment
# whatever files and --config values made it.
PLAN_FILE = str(write_plan(config, plan_path(R)))

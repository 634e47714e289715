# Shared by every stage: config validation (the schema fills in the defaults), the experiment plan,
# its settings, paths (all from act/plan/layout.py), the functions that turn the budget (a
# checkpoint) into the list of jobs, and the rules' input functions (snakemake --lint wants every
# function here, none beside the rules). What is a function of the config alone lives in
# act/plan/workflow.py, where it is tested without Snakemake.
import json
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from act.checkpoint import checkpoint_path
from act.errors import UserError
from act.plan.experiment import (
    config_files,
    config_problem,
    cost_jobs,
    parse_experiment,
    write_plan,
)
from act.plan.slurm import workflow_time_limit_problems
from act.plan import layout as L
from act.plan import workflow as wf

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
R = str(L.experiment_dir(config["results_dir"], EXP))
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


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    method="[A-Za-z0-9]+",
    batch=r"\d+",
    seed=r"\d+",


# Each dataset's settings (`defaults:`, then its own section), data section, and kind; the checks the schema
# cannot make, each one line (an arm config act budget could not resolve, a claims metric not measured).
SETTINGS = wf.dataset_settings(config, PLAN)
try:
    DATA = wf.dataset_data(PLAN)
    TOY = [d for d in PLAN.datasets if DATA[d].name == "toy2d"]
    IMAGES = [d for d in PLAN.datasets if d not in TOY]
    # Released (official) checkpoints, per image dataset: imported, then scored as runs are (released.smk).
    RELEASED = wf.released_entries(SETTINGS, TOY)
except UserError as e:
    raise WorkflowError(f"act-bench config: {e}")
_claims = [wf.claims_metric_problem(d, SETTINGS[d], d in TOY) for d in PLAN.datasets]
if any(_claims):
    raise WorkflowError(next(p for p in _claims if p))
# The papers' numbers each dataset's tables and claims sit beside (act tables / act claims).
REPORTED_AS = wf.reported_as(SETTINGS)


def job(rule, field):
    """What a job of `rule` asks for (act.plan.workflow.job_request): a function of the wildcards only where
    some dataset sets its own."""
    value = wf.job_request(config, PLAN, rule, field)
    if not isinstance(value, dict):
        return value
    return lambda wildcards: value.get(wildcards.dataset, config["resources"][rule][field])


def retries(rule):
    """`resources.<rule>.retries` (the largest over the datasets; None: Snakemake's --retries). None inside a
    cluster job (--mode remote), where a retry would rerun the job in its own allocation, after the SIGTERM
    that says the allocation is ending."""
    given = [v for v in wf.requested(config, PLAN, rule, "retries").values() if v is not None]
    return None if workflow.remote_exec or not given else max(given)


def check_slurm_time_limits():
    """The workflow's onstart: on SLURM, a submitted rule asking more time than its partition allows stops
    the workflow before anything is submitted (act.plan.slurm.workflow_time_limit_problems)."""
    runtimes = lambda r: wf.requested(config, PLAN, r, "runtime").values()
    problems = workflow_time_limit_problems(workflow, config["resources"], runtimes)
    if problems:
        raise WorkflowError(f"act-bench config: {problems[0]}")


def one_of(names):
    """Wildcard regex matching exactly these names (or nothing)."""
    return "|".join(names) if names else "(?!)"


# --- Paths (act/plan/layout.py), with wildcards in rules ---------------------------------

WC = ("{dataset}", "{method}", "{batch}", "{seed}")  # a run's wildcards
# {dataset}/{method}/b{batch}/s{seed}: the run's log and benchmark names
RUN = str(L.RunKey(*WC).rel())
CONFIGS = str(L.configs_dir(R))


def path(layout_fn, *args):
    """A layout path under R, as the string a rule takes."""
    return str(layout_fn(R, *args))


def logs(stage, name):
    return path(L.log_path, stage, name)


def bench(stage, name):
    return path(L.benchmark_path, stage, name)


def runs():
    """(dataset, arm, batch, seed) of every training run, in the plan's order (act.plan.workflow.plan_runs)."""
    return wf.plan_runs(PLAN)


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
    return str(L.config_path(CONFIGS, wc.dataset, wc.method, wc.batch, wc.seed))


def checkpoint_file(wc, step):
    return str(checkpoint_path(L.stage_dir(R, "runs", wc.dataset, wc.method, wc.batch, wc.seed), int(step)))


# --- Inputs and options of single rules -----------------------------------------------


def run_outputs(d, m, b, s):
    """Everything measured on one run: aggregate's input, and what the figures draw from."""
    out = [
        path(L.model_path, d, m, b, s),
        path(L.stage_dir, "samples", d, m, b, s),
        path(L.stage_dir, "metrics", d, m, b, s),
    ]
    st = SETTINGS[d]
    if st["theory"]["enabled"]:
        out.append(path(L.stage_dir, "theory", d, m, b, s))
    if st["inpaint"]["enabled"] and d in IMAGES:
        out.append(path(L.inpaint_path, d, m, b, s))
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
        inputs["classifier"] = path(L.classifier_path, dataset)
    first = next((r for r in runs() if r[0] == dataset), None)
    if first is not None and run != first:
        inputs["reference_cache"] = ancient(path(L.stage_dir, "metrics", *first))
    return inputs


def score_inputs(wc):
    run = (wc.dataset, wc.method, int(wc.batch), int(wc.seed))
    # After the budget: its checkpoints.
    inputs = {"model": path(L.model_path, *run), "config": run_config(wc)}
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
    classifier = input.classifier if "classifier" in input.keys() else None
    evaluate = SETTINGS[wc.dataset]["evaluate"]
    return wf.score_options(evaluate, DATA[wc.dataset], config["reference_cache"], classifier)


REL = path(L.released_dir, "{dataset}", "{name}")


def released_inputs(wc):
    """score_released's inputs: the imported model, and what scoring the dataset's images waits for."""
    return {
        "model": os.path.join(REL.format(**wc), "model.pt"),
        **image_scoring_inputs(wc.dataset),
    }


def theory_options(wc):
    return wf.theory_options(SETTINGS[wc.dataset]["theory"])


# The experiment as validated here (the schema's defaults, --config values included) is what act budget
# plans from, one experiment whatever files and --config values made it. Written when a run starts
# (onstart; rewritten only when it changed), after the checks: a dry run, --lint or a failed check
# writes nothing. Not a rule's input: the budget's params say when a change re-plans.
PLAN_FILE = path(L.plan_path)


def update_plan():
    write_plan(config, PLAN_FILE)

# Shared by every stage: the checked config and what the workflow derives from it (act/plan/workflow.py,
# tested there without Snakemake), paths (act/plan/layout.py), the jobs' requests and the rules' input
# functions (snakemake --lint wants every function here, none beside the rules).
import os

from snakemake.exceptions import WorkflowError

from act.errors import UserError
from act.plan.experiment import config_files, cost_jobs
from act.plan.slurm import workflow_time_limit_problems
from act.plan import layout as L
from act.plan import workflow as wf

# Every rule's software with --sdm conda (relative to workflow/rules/): one environment for all rules; its
# post-deploy script installs this checkout, found through ACT_BENCH_ROOT (set here: --directory elsewhere
# works). Without --sdm the rules call the `act` of the environment Snakemake runs in (the README's .venv).
ENV = "../envs/act.yaml"
os.environ.setdefault("ACT_BENCH_ROOT", os.path.dirname(os.path.abspath(workflow.basedir)))

# The config checked (the schema fills in its defaults; what it cannot see is one line too) and what the
# workflow derives from it (act.plan.workflow.plan_workflow): the experiment act budget plans from, each
# dataset's settings, the image datasets, the released checkpoints, the plan's parts (plan.smk).
try:
    W = wf.plan_workflow(config, os.path.join(workflow.basedir, "schemas", "config.schema.yaml"))
except UserError as e:
    raise WorkflowError(f"act-bench config: {e}")
PLAN, SETTINGS, IMAGES, RELEASED = W.experiment, W.settings, W.images, W.released
R = W.dir  # one experiment, one folder: every output of the workflow lives under R


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    method="[A-Za-z0-9]+",
    batch=r"\d+",
    seed=r"\d+",


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


# Paths (act/plan/layout.py), with wildcards in rules: a run's, and its log and benchmark names
WC = ("{dataset}", "{method}", "{batch}", "{seed}")
RUN = str(L.RunKey(*WC).rel())  # {dataset}/{method}/b{batch}/s{seed}
CONFIGS = str(L.configs_dir(R))


def path(layout_fn, *args):
    """A layout path under R, as the string a rule takes."""
    return str(layout_fn(R, *args))


def plan_file(part, dataset_part=False):
    """A part of the plan (plan.smk); ``dataset_part``: the dataset's own part of stage ``part``, a function of
    the wildcards."""
    if dataset_part:
        return lambda wc: path(L.plan_path, f"{part}/{wc.dataset}")
    return path(L.plan_path, part)


def logs(stage, name):
    return path(L.log_path, stage, name)


def bench(stage, name):
    return path(L.benchmark_path, stage, name)


def run_checkpoints(wc, which):
    """Checkpoint files of run ``wc``, the final one or all of them: known once the budget (a checkpoint) ran."""
    budget = checkpoints.budget.get().output.budget
    return wf.checkpoint_files(W, budget, (wc.dataset, wc.method, wc.batch, wc.seed), which)


def run_config(wc):
    """The run's resolved config, written by the budget: a checkpoint, waited for here."""
    checkpoints.budget.get()
    return str(L.config_path(CONFIGS, wc.dataset, wc.method, wc.batch, wc.seed))


def aggregate_inputs(wildcards):
    checkpoints.budget.get()  # nothing below is known before the budget exists
    return [f for r in W.runs for f in wf.run_outputs(W, *r)]


def launcher(wildcards):
    gpus = job("train", "gpu")
    return wf.launcher(gpus(wildcards) if callable(gpus) else gpus)


def image_scoring_inputs(dataset, run=None):
    """What scoring images of ``dataset`` (``run``; None: a released checkpoint) waits for besides its model: the
    classifier and the first run's scoring, which fills the reference feature cache (ancient(): only the order)."""
    inputs = {}
    if SETTINGS[dataset]["classifier"]["enabled"]:
        inputs["classifier"] = path(L.classifier_path, dataset)
    first = next((r for r in W.runs if r[0] == dataset), None)
    if first is not None and run != first:
        inputs["reference_cache"] = ancient(path(L.stage_dir, "metrics", *first))
    return inputs


def score_inputs(wc):
    run = (wc.dataset, wc.method, int(wc.batch), int(wc.seed))
    inputs = {"model": path(L.model_path, *run), "config": run_config(wc)}
    if wc.dataset in IMAGES:
        inputs.update(image_scoring_inputs(wc.dataset, run))
    return inputs


def score_checkpoints(wc, input):
    """The checkpoints a scoring job samples: the run's (``sample.at``: final or all), or a released file's model."""
    if "name" in wc.keys():  # score_released
        return input.model
    return run_checkpoints(wc, SETTINGS[wc.dataset]["sample"]["at"])


REL = path(L.released_dir, "{dataset}", "{name}")
RELEASED_DIRS = [REL.format(dataset=d, name=n) for d, n in RELEASED]  # one folder per released checkpoint


def released_inputs(wc):
    """score_released's inputs: the imported model, and what scoring the dataset's images waits for."""
    return {
        "model": os.path.join(REL.format(**wc), "model.pt"),
        "plan": plan_file(f"score/{wc.dataset}"),
        **image_scoring_inputs(wc.dataset),
    }

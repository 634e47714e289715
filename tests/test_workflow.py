"""The Snakemake workflow: every config plans, lints, submits to SLURM as intended and, on the
CI config, runs end to end into a temporary results folder."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from act.io import file_digest
from act.plan.experiment import cost_jobs, parse_experiment

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(str(p.relative_to(REPO)) for p in [*REPO.glob("config/*.yaml"), *REPO.glob("config/paper/*.yaml")])
METHODS = {"ACT", "CT", "iCT"}

pytestmark = pytest.mark.skipif(shutil.which("snakemake", path=str(Path(sys.executable).parent)) is None,
                                reason="snakemake is not installed (pip install -e .[workflow])")


def snakemake(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run snakemake of this interpreter's environment in the repository root."""
    bin_dir = str(Path(sys.executable).parent)  # the rules call `act`: this environment's, activated or not
    env = dict(os.environ if env is None else env)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    # --nolock: the tests run workflows side by side in one working directory (their results folders differ);
    # snakemake's locks there race (one run's clean-up removed .snakemake/locks under another's feet)
    return subprocess.run([bin_dir + "/snakemake", "--nolock", *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=timeout)


def jobs_of(dry_run_output: str) -> dict:
    """The 'Job stats' table of a dry run: rule -> count."""
    stats = dry_run_output.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m[1] != "total"}


NO_NETWORK = """
import os
import socket

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _blocked(self, address, *args):
    if self.family == getattr(socket, "AF_UNIX", None):
        return (_connect if not args else _connect_ex)(self, address)
    with open(os.environ["ACT_TEST_NO_NETWORK_LOG"], "a") as f:
        f.write(f"pid {os.getpid()}: connect to {address!r}\\n")
    raise OSError("network access blocked by the no-network test")


socket.socket.connect = lambda self, address: _blocked(self, address)
socket.socket.connect_ex = lambda self, address: _blocked(self, address, True)
"""


def write_official_tiny(path: Path) -> Path:
    """A released-checkpoint stand-in: the tiny preset's networks in the official (Lightning) key layout."""
    import torch

    from act.networks import build_discriminator, build_generator
    from act.official import to_official_key

    torch.manual_seed(0)
    nets = {"generator": build_generator("tiny"), "target": build_generator("tiny"), "discriminator": build_discriminator("tiny")}
    sd = {to_official_key(n, k): t.clone() for n, net in nets.items() for k, t in net.state_dict().items()}
    torch.save({"global_step": 20, "pytorch-lightning_version": "2.1.2", "state_dict": sd}, path)
    return path


def config_of(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


def test_configs_found():
    assert {"config/default.yaml", "config/ci.yaml", "config/paper/cifar10.yaml", "config/paper/imagenet64.yaml",
            "config/paper/lsun_cat256.yaml"} <= set(CONFIGS)


@pytest.mark.parametrize("configfile", CONFIGS)
def test_dry_run(configfile, tmp_path):
    """Every config validates against the schema and plans its costs and budget (the rest follows the
    budget). The default runs without --configfile (it is embedded); any other replaces it, not merged."""
    chosen = [] if configfile == "config/default.yaml" else ["--configfile", configfile]
    res = snakemake("-n", "-p", *chosen, "--config", f"results_dir={tmp_path}")
    assert res.returncode == 0, res.stderr + res.stdout
    cfg = config_of(configfile)
    for part in ("cost_configs", "budget"):  # the parts of the experiment each one depends on
        assert f"--experiment-config {tmp_path}/{cfg['name']}/plan/{part}.json " in res.stdout
    jobs = jobs_of(res.stdout)
    assert jobs["cost_configs"] == 1 and jobs["budget"] == 1
    # each arm at its batch sizes, and the budget's reference where no run measures it
    assert jobs["cost"] == len(cost_jobs(parse_experiment(REPO / configfile)))
    assert f"{tmp_path}/{cfg['name']}/budget.json" in res.stdout
    foreign = set(config_of("config/default.yaml")["datasets"]) - set(cfg["datasets"])
    assert not any(f"/cost/{d}/" in res.stdout for d in foreign)


ACT_SMALL = {"method": {"name": "act", "distance": "l2"}, "model": {"discriminator": "toy2d_small"}}
ARMS = {  # variants of CT and ACT on the toy data, some with their own batch sizes or budget
    "name": "arms",
    "defaults": {"seeds": [0, 1], "checkpoints": 2},
    "datasets": {"toy2d": {
        "config": "config/train/ct_toy2d.yaml",
        "methods": {
            "ct": {"batch_sizes": [16, 256]},
            "act": ACT_SMALL,
            "actsteps": {**ACT_SMALL, "budget": {"steps": 20000}},
            "actnoadv": {"method": {"name": "act", "distance": "l2", "lambda_max": 0.0}, "model": {"discriminator": "toy2d_small"}},
            "ctonline": {"method": {"name": "ct", "target": "online"}},
            "actbig": {**ACT_SMALL, "batch_sizes": [64]},  # a batch CT does not run at
        },
        "overrides": {"model": {"preset": "toy2d_small"}},
        "batch_sizes": [16],
        "budget": {"reference": {"method": "ct", "steps": 20000}},  # each run: CT's FLOPs at its own batch
    }},
}


def test_arms_dry_run(tmp_path):
    """Each arm runs at its own batch sizes, under its own folders; the batch-less reference budget has CT's cost
    measured at every batch a run is matched at (b64 too, where CT itself does not run)."""
    cfg = tmp_path / "arms.yaml"
    cfg.write_text(yaml.safe_dump(ARMS))
    res = snakemake("-n", "-p", "--configfile", str(cfg), "--config", f"results_dir={tmp_path}")
    assert res.returncode == 0, res.stderr + res.stdout
    jobs = jobs_of(res.stdout)
    assert (jobs["cost"], jobs["budget"], jobs["train"], jobs["theory"]) == (8, 1, 14, 14)
    exp = f"{tmp_path}/arms"
    costs = set(re.findall(rf"{exp}/cost/toy2d/(\w+)\.json", res.stdout))
    assert costs == {"ct_b16", "ct_b256", "ct_b64", "act_b16", "actsteps_b16", "actnoadv_b16", "ctonline_b16", "actbig_b64"}
    models = set(re.findall(rf"{exp}/runs/toy2d/(\w+/b\d+)/s[01]/model\.pt", res.stdout))
    assert models == {"ct/b16", "ct/b256", "act/b16", "actsteps/b16", "actnoadv/b16", "ctonline/b16", "actbig/b64"}
    # an edit to an arm's own budget (no new files) re-plans: the plan's part holds the arms' entries
    res = snakemake("--cores", "1", "--configfile", str(cfg), "--config", f"results_dir={tmp_path}", "--until", "cost_configs")
    assert res.returncode == 0, res.stderr + res.stdout
    edited = copy.deepcopy(ARMS)
    edited["datasets"]["toy2d"]["methods"]["actsteps"]["budget"] = {"steps": 10000}
    cfg.write_text(yaml.safe_dump(edited))
    res = snakemake("-n", "--configfile", str(cfg), "--config", f"results_dir={tmp_path}", "--until", "cost_configs")
    assert "Params have changed" in res.stdout and jobs_of(res.stdout) == {"plan": 1, "cost_configs": 1}, res.stdout[-3000:]
    assert plan_jobs(res) == {"cost_configs"}


def test_schema_rejects_unknown_keys(tmp_path):
    cfg = config_of("config/ci.yaml")
    cfg["datasets"]["toy2d"]["sampel"] = {"num": 3}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    res = snakemake("-n", "--configfile", str(bad), "--config", f"results_dir={tmp_path}")
    assert res.returncode != 0
    assert "sampel" in res.stderr + res.stdout


def test_schema_fills_defaults_under_the_datasets_own_settings():
    """The schema's defaults go into `defaults:` and `resources:` (field by field), never into a dataset's own
    section, which overrides `defaults:` only where it says so."""
    from snakemake.utils import validate

    cfg = config_of("config/ci.yaml")
    validate(cfg, str(REPO / "workflow/schemas/config.schema.yaml"))
    assert cfg["defaults"]["sample"] == {"nfe": [1], "at": "final", "num": 1000, "batch_size": 250}
    assert cfg["defaults"]["classifier"]["enabled"] is False and cfg["defaults"]["evaluate"]["num_ref"] is None
    assert cfg["datasets"]["toy2d"]["sample"] == {"num": 256, "batch_size": 256}  # nfe [1] from `defaults:` stays
    assert cfg["resources"]["train_classifier"] == {"threads": 2, "mem_mb": 4000, "runtime": 60, "gpu": 0}
    paper = config_of("config/paper/imagenet64.yaml")
    validate(paper, str(REPO / "workflow/schemas/config.schema.yaml"))
    assert paper["resources"]["train"]["mem_mb"] == 128000 and paper["resources"]["budget"]["mem_mb"] == 2000
    assert paper["datasets"]["imagenet64_ct"]["resources"] == {"train": {"gpu": 8}}  # per dataset: only what it sets


@pytest.mark.parametrize("configfile", CONFIGS)
def test_every_part_of_the_plan_is_what_its_command_reads(configfile, tmp_path):
    """Each part of each config's plan names options of the act command reading it, of their types (the
    parser that act <command> --plan FILE builds accepts it)."""
    from snakemake.utils import validate

    from act.cli import build_parser
    from act.plan_options import PlanOptions
    from act.plan import workflow as wf
    from act.plan.experiment import parse_experiment

    config = copy.deepcopy(config_of(configfile))
    config.setdefault("results_dir", "results")
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    experiment = parse_experiment(config)
    settings = wf.dataset_settings(config, experiment)
    data = wf.dataset_data(experiment)
    toy = [d for d in settings if data[d].name == "toy2d"]
    plans = wf.stage_plans(config, settings, data, toy, wf.released_entries(settings, toy), lambda d: f"{d}.pt")
    assert {"experiment", "budget", "cost_configs", "cost", "tables", "claims"} <= set(plans)
    assert {f"score/{d}" for d in settings} <= set(plans)
    for part, plan in plans.items():
        command = wf.PLAN_COMMANDS.get(part.split("/")[0])
        if command is None:  # read by act budget as an experiment
            assert part == "experiment" or parse_experiment(plan, seeds=part == "budget").datasets.keys() == settings.keys()
            continue
        (tmp_path / "plan.json").write_text(wf.plan_text(plan))
        PlanOptions(build_parser().commands[command], str(tmp_path / "plan.json"))


def plan_jobs(res) -> set:
    """The plan's parts a (dry) run writes."""
    return set(re.findall(r"plan/(\S+)\.json", "\n".join(re.findall(r"^\s+output: (.+)$", res.stdout, re.M)))) \
        if res.returncode == 0 else res.stderr


def test_the_plan_is_rewritten_part_by_part_and_reruns_only_its_readers(tmp_path):
    """The plan (results/<name>/plan/): the validated experiment (--config values and a second config file
    included) and one part per act command. A part is rewritten only when its text changes, so an edit reruns
    the jobs that read it and no others; a dry run or a failed check writes nothing."""
    plan = tmp_path / "other" / "plan"
    ci = ["--configfile", "config/ci.yaml"]
    where = ["--config", "name=other", f"results_dir={tmp_path}"]
    assert snakemake("-n", *ci, *where).returncode == 0 and not plan.exists()
    res = snakemake("--cores", "1", "--until", "plan", *ci, *where)
    assert res.returncode == 0, res.stderr[-2000:]
    parts = {str(p.relative_to(plan))[:-5] for p in plan.rglob("*.json")}
    assert parts == {"experiment", "budget", "cost_configs", "cost", "tables", "claims", "theory/toy2d",
                     "classifier/fashion_mnist", "score/toy2d", "score/fashion_mnist", "inpaint/fashion_mnist"}
    experiment = json.loads((plan / "experiment.json").read_text())
    assert experiment["name"] == "other" and experiment["datasets"].keys() == config_of("config/ci.yaml")["datasets"].keys()
    assert experiment["defaults"]["sample"]["batch_size"] == 250  # the schema's default, filled in
    assert "seeds" not in json.loads((plan / "cost_configs.json").read_text())["datasets"]["toy2d"]
    assert plan_jobs(snakemake("-n", "--until", "plan", *ci, *where)) == set()  # nothing changed
    edits = {"seeds": ("defaults: {seeds: [3, 4]}", {"experiment", "budget"}),
             "theory": ("defaults: {theory: {num_probe: 16}}", {"experiment", "theory/toy2d"}),
             "cost": ("cost: {steps: 2}", {"cost"})}  # not in the experiment record: a workflow setting
    for name, (text, rewritten) in edits.items():
        (tmp_path / f"{name}.yaml").write_text(text + "\n")
        assert plan_jobs(snakemake("-n", "--until", "plan", *ci, str(tmp_path / f"{name}.yaml"), *where)) == rewritten
    stamp = (plan / "cost_configs.json").stat().st_mtime_ns
    assert snakemake("--cores", "1", "--until", "plan", *ci, str(tmp_path / "seeds.yaml"), *where).returncode == 0
    assert json.loads((plan / "budget.json").read_text())["datasets"]["toy2d"]["seeds"] == [3, 4]
    assert (plan / "cost_configs.json").stat().st_mtime_ns == stamp
    bad = snakemake("-n", *ci, "--config", "name=bad", "cost={steps: 0}", f"results_dir={tmp_path}")
    assert bad.returncode != 0 and not (tmp_path / "bad").exists()


def test_a_resources_file_goes_beside_the_experiment_in_either_order(tmp_path):
    """Workflow settings (resources, device) from a second --configfile, before or after the experiment's."""
    (tmp_path / "res.yaml").write_text("resources: {train: {threads: 2}}\ndevice: auto\n")
    for files in (["config/ci.yaml", str(tmp_path / "res.yaml")], [str(tmp_path / "res.yaml"), "config/ci.yaml"]):
        res = snakemake("-n", "--configfile", *files, "--config", f"results_dir={tmp_path}")
        assert res.returncode == 0, res.stderr[-2000:]


def test_lint():
    """No lint at all (every rule names its software: environment.yml)."""
    res = snakemake("--lint", "--configfile", "config/ci.yaml")
    lints = set(re.findall(r"^\s+\* (.+?):?$", res.stdout + res.stderr, re.M))
    assert not lints and "your workflow is in a good condition" in res.stdout + res.stderr, res.stdout + res.stderr


def test_snakefmt():
    """The Snakefile and the rule files are as snakefmt writes them (the workflow catalog's standard)."""
    snakefmt = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or shutil.which("snakefmt")
    if snakefmt is None:
        pytest.skip("snakefmt is not installed (pip install -e .[dev])")
    res = subprocess.run([snakefmt, "--check", "workflow/"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, f"run `snakefmt workflow/`:\n{res.stdout}{res.stderr}"


def test_workflow_catalog_settings_are_true_to_the_workflow():
    """.snakemake-workflow-catalog.yml claims only what the workflow supports: conda (every rule names an
    environment), no container image (so no apptainer), a report; config/README.md is the instructions."""
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert set(usage["mandatory-flags"]) == {"desc", "flags"}
    rules = [REPO / "workflow" / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
    text = "\n".join(p.read_text() for p in rules)
    has_container = re.search(r"^\s*container(ized)?:", text, re.M) is not None
    assert usage["software-stack-deployment"] == {"conda": True, "apptainer": has_container,
                                                 "apptainer+conda": has_container}
    assert usage["report"] is (re.search(r"^report:", (REPO / "workflow" / "Snakefile").read_text(), re.M) is not None)
    assert (REPO / "config" / "README.md").is_file()


def test_profile_slurm_parses_and_shadows_no_named_profile():
    """`snakemake --profile profiles/slurm` finds the SLURM profile by its path, and nothing in the repository
    root is named like a profile (Snakemake looks for a bare `--profile NAME` in the working directory before
    ~/.config/snakemake/NAME, so a ./slurm here would shadow a user's own)."""
    from snakemake.cli import get_profile_dir

    cwd = os.getcwd()
    try:
        os.chdir(REPO)
        found = get_profile_dir("profiles/slurm")
    finally:
        os.chdir(cwd)
    assert found is not None and Path(found[0]).resolve() == REPO / "profiles" / "slurm"
    profile = yaml.safe_load(found[1].read_text())
    assert profile["executor"] == "slurm"
    assert profile["set-resources"]["train"]["slurm_extra"] == "'--signal=TERM@300'"
    # The plugin refuses what it sets itself (--qos, --nodes, --gpus, ...) inside slurm_extra.
    assert not re.search(r"--(qos|nodes|gpus|gres)\b", profile["set-resources"]["train"]["slurm_extra"])
    assert not any((REPO / name / "config.yaml").exists() for name in ("slurm", "default"))


def train_jobs(dry_run_output: str) -> list[dict]:
    """Each `rule train:` job of a `snakemake -n -p` run: its wildcards, resources and shell command."""
    jobs = []
    for block in dry_run_output.split("rule train:")[1:]:
        wildcards = dict(kv.split("=") for kv in re.search(r"wildcards: (.+)", block)[1].split(", "))
        resources = dict(kv.split("=", 1) for kv in re.search(r"resources: (.+)", block)[1].split(", "))
        jobs.append({"wildcards": wildcards, "resources": resources,
                     "shell": re.search(r"^Shell command: (.+)$", block, re.M)[1]})
    return jobs


def test_train_jobs_ask_for_one_node(tmp_path):
    """Every training job asks for one node (the train rule's `nodes` resource, which the SLURM plugin turns
    into --nodes=1, on any executor): an 8-GPU run is one torchrun --standalone on one machine."""
    res = snakemake("-n", "-p", "--configfile", "config/paper/imagenet64.yaml", "--config", f"results_dir={tmp_path}")
    assert res.returncode == 0, res.stderr + res.stdout
    jobs = train_jobs(res.stdout)
    assert jobs and all(j["resources"].get("nodes") == "1" for j in jobs), jobs
    eight = [j for j in jobs if j["resources"]["gpu"] == "8"]
    assert eight and all("torchrun --standalone --nproc_per_node=8 " in j["shell"] for j in eight)
    assert all("torchrun" not in j["shell"] for j in jobs if j["resources"]["gpu"] == "1")


@pytest.mark.parametrize("configfile", [c for c in CONFIGS if c.startswith("config/paper/")])
def test_paper_configs_plan_three_seeds_per_run(configfile, tmp_path):
    """The paper configs can decide: every (dataset, method, batch) trains seeds 0, 1 and 2 (a verdict needs
    n >= 2 per group; one seed makes every paper-scale row inconclusive by construction)."""
    res = snakemake("-n", "-p", "--configfile", configfile, "--config", f"results_dir={tmp_path}")
    assert res.returncode == 0, res.stderr + res.stdout
    seeds: dict = {}
    for j in train_jobs(res.stdout):
        w = j["wildcards"]
        seeds.setdefault((w["dataset"], w["method"], w["batch"]), set()).add(w["seed"])
    assert seeds and all(s == {"0", "1", "2"} for s in seeds.values()), seeds


STUB_SBATCH = """#!/bin/sh
# Records every submission (arguments, then the script on stdin if any) and prints a job id.
id=$$  # unique among running processes: submissions come from several threads
{ printf '%s\\n' "$@"; } > "$STUB_LOG/$id.args"
echo "$id"
"""
STUB_SINFO = """#!/bin/sh
# `sinfo -o %P`: the partitions, the default one starred.
printf 'PARTITION\\ncpu*\\ngpu\\n'
"""
STUB_SACCT = """#!/bin/sh
# Status queries (sacct -X ...): every recorded job has failed, so Snakemake stops; other queries: nothing.
case " $* " in
  *" -X "*) for f in "$STUB_LOG"/*.args; do [ -e "$f" ] && echo "$(basename "$f" .args)|FAILED"; done ;;
esac
exit 0
"""


def budget_with_made_up_costs(cfg: list, exp: Path) -> None:
    """Up to the budget, locally, with made-up costs (measuring them is the end-to-end test's job): after it a
    dry run plans every job. The plan's parts first, so that the costs are newer than theirs."""
    for until in ("cost_configs", "plan"):  # (`--until cost_configs plan` trips Snakemake 9.27: "BUG: Out of jobs")
        res = snakemake("--cores", "1", *cfg, "--until", until)
        assert res.returncode == 0, res.stderr
    for cost_config in exp.glob("configs/*/*/b*/cost.yaml"):
        dataset, method, batch = cost_config.parts[-4], cost_config.parts[-3], int(cost_config.parts[-2][1:])
        out = exp / "cost" / dataset / f"{method}_b{batch}.json"  # named after the arm
        out.parent.mkdir(parents=True, exist_ok=True)
        method = yaml.safe_load(cost_config.read_text())["method"]["name"]  # the arm's method, as act cost writes
        factor = 2 if method == "act" else 1
        out.write_text(json.dumps({"method": method, "batch_size": batch, "images_per_step": factor * batch,
                                   "flops_per_step": 1e6 * factor * batch, "seconds_per_step": 0.01 * factor,
                                   "device_name": "stub", "params": {"generator": 1}}))
    res = snakemake(str(exp / "budget.json"), "--cores", "1", *cfg)
    assert res.returncode == 0, res.stderr
    assert "rule cost:" not in res.stdout + res.stderr  # the made-up costs stand


def test_score_and_theory_jobs_draw_evaluations_from_their_runs_seed(tmp_path):
    """Each run's evaluation set and theory probe come from its seed, passed explicitly (visible in a dry run)."""
    ci = config_of("config/ci.yaml")
    ci["defaults"]["seeds"] = [0, 1]
    released = write_official_tiny(tmp_path / "official_tiny.ckpt")  # one network, not a seed: eval seed 0
    ci["datasets"]["fashion_mnist"]["released"] = [{"name": "tiny_release", "checkpoint": str(released)}]
    (tmp_path / "ci.yaml").write_text(yaml.safe_dump(ci, sort_keys=False))
    cfg = ["--configfile", str(tmp_path / "ci.yaml"), "--config", f"results_dir={tmp_path / 'results'}"]
    early = snakemake("-n", *cfg)  # before the budget too: the released file's scoring waits on a run's
    assert early.returncode == 0, early.stderr[-3000:] + early.stdout[-3000:]
    budget_with_made_up_costs(cfg, tmp_path / "results" / "ci")
    res = snakemake("-n", "-p", *cfg)
    assert res.returncode == 0, res.stderr + res.stdout
    seen = {}
    for rule, flag in (("score", "--eval-seed"), ("theory", "--seed")):
        for block in res.stdout.split(f"rule {rule}:")[1:]:
            seed = re.search(r"wildcards: .*seed=(\d+)", block)[1]
            assert f" {flag} {seed} " in re.search(r"^Shell command: (.+)$", block, re.M)[1], block
            seen.setdefault(rule, set()).add(seed)
    assert seen == {"score": {"0", "1"}, "theory": {"0", "1"}}, seen
    (block,) = res.stdout.split("rule score_released:")[1:]
    assert " --eval-seed 0 " in re.search(r"^Shell command: (.+)$", block, re.M)[1], block


def test_slurm_submissions_request_gpus_where_needed(tmp_path):
    """With a stub sbatch on PATH and the CI experiment flipped to GPU nodes (`device=auto`; as shipped,
    `device: cpu`, it asks for none: tests/test_slurm.py runs it on a real CPU-only cluster): training jobs
    ask SLURM for a GPU, CPU-only jobs do not."""
    cfg = ["--configfile", "config/ci.yaml", "--config", f"results_dir={tmp_path / 'results'}", "device=auto"]
    exp = tmp_path / "results" / "ci"
    budget_with_made_up_costs(cfg, exp)

    bin_dir, log_dir = tmp_path / "bin", tmp_path / "sbatch"
    bin_dir.mkdir()
    log_dir.mkdir()
    for name, text in (("sbatch", STUB_SBATCH), ("sacct", STUB_SACCT), ("sinfo", STUB_SINFO)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "STUB_LOG": str(log_dir)}
    env.pop("SLURM_JOB_ID", None)
    res = snakemake("--profile", "profiles/slurm", *cfg, "--retries", "0", "--slurm-init-seconds-before-status-checks", "1",
                    env=env, timeout=240)
    assert "has been submitted with SLURM jobid" in res.stderr + res.stdout, res.stderr[-3000:]
    submitted = {}
    for f in log_dir.glob("*.args"):
        args = f.read_text().splitlines()
        rule = re.search(r"rule_(\w+?)(_wildcards_|$)", args[args.index("--comment") + 1])[1]
        submitted.setdefault(rule, []).append(" ".join(args))
    assert len(submitted.get("train", [])) == 7, submitted.keys()  # 3 methods x 2 datasets, and the toy ablation arm
    assert all("--gpus=1" in a for a in submitted["train"])
    assert all("--nodes=1" in a for a in submitted["train"])  # the train rule's `nodes` resource
    assert not any("--nodes" in a for a in submitted["train_classifier"])
    assert all("--signal=TERM@300" in a for a in submitted["train"])  # act train checkpoints and exits 75 on it
    assert not any("--signal" in a for a in submitted["train_classifier"])
    assert all(re.search(r"--mem \d+", a) and re.search(r"-t \d+", a) for a in submitted["train"])
    assert submitted.get("train_classifier"), submitted.keys()  # CPU-only, ready at the start as well
    assert not any("--gpus" in a or "--gres" in a for a in submitted["train_classifier"])
    assert "--cpus-per-task" in submitted["train_classifier"][0]


def run_ci_locally(tmp_path: Path) -> tuple:
    """config/ci.yaml, with a released checkpoint (a synthetic file in the official layout) scored beside the
    runs, from costs to report on 2 local cores into ``tmp_path``, with no network: every Python process of
    the run (Snakemake, each act job) loads a sitecustomize that makes any socket connection other than a
    local (AF_UNIX) one raise. Returns ``tmp_path`` (the results root; the config file is ci.yaml there) and the
    snakemake config arguments."""
    released = write_official_tiny(tmp_path / "official_tiny.ckpt")
    ci = config_of("config/ci.yaml")
    ci["datasets"]["fashion_mnist"]["released"] = [
        {"name": "tiny_release", "checkpoint": str(released), "sha256": file_digest(released, "sha256")}]
    (tmp_path / "ci.yaml").write_text(yaml.safe_dump(ci, sort_keys=False))
    cfg = ["--configfile", str(tmp_path / "ci.yaml"), "--config", f"results_dir={tmp_path}",
           f"reference_cache={tmp_path / 'reference_cache'}"]
    blocker = tmp_path / "no_network"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_NETWORK)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")]),
           "ACT_TEST_NO_NETWORK_LOG": str(tmp_path / "connect_attempts.txt")}
    res = snakemake("--cores", "2", *cfg, env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-5000:]
    assert not (tmp_path / "connect_attempts.txt").exists(), (tmp_path / "connect_attempts.txt").read_text()
    return tmp_path, cfg


@pytest.mark.slow
def test_ci_config_end_to_end(ci_local_run):
    """config/ci.yaml from costs to report into a temporary folder (the session's local run), a released
    checkpoint scored beside the runs; a second run has nothing to do."""
    tmp_path, cfg = ci_local_run
    exp = tmp_path / "ci"
    attempts = (exp / "logs" / "train" / "toy2d" / "act" / "b64" / "s0.attempts.log").read_text()
    assert attempts.startswith("=== act train ") and (exp / "logs" / "train" / "toy2d" / "act" / "b64" / "s0.log").is_symlink()
    budget = json.loads((exp / "budget.json").read_text())
    assert {(r["dataset"], r["method"]) for r in budget["runs"]} == {
        (d, m) for d in ("toy2d", "fashion_mnist") for m in ("act", "ct", "ict")} | {("toy2d", "actnoadv")}
    summary = pd.read_csv(exp / "summary.csv")
    assert {"fid", "w1", "train_steps", "flops_per_step", "theory_final_bound_online"} <= set(summary.columns)

    for dataset, batches, metric, arms in (("toy2d", {64}, "1-step W1", METHODS | {"ACT-noadv"}),
                                           ("fashion_mnist", {8}, "1-step FID", METHODS)):
        table = pd.read_csv(exp / "tables" / f"{dataset}.csv")
        assert {"method", "batch size", "steps", metric} <= set(table.columns)
        measured = table[table["source"] == "measured"]
        assert set(measured["method"]) == arms
        assert set(zip(measured["method"], measured["batch size"])) == {(m, b) for m in arms for b in batches}
        assert measured[metric].notna().all()
        assert (exp / "tables" / f"{dataset}.md").is_file() and (exp / "tables" / f"{dataset}.tex").is_file()
    rel = pd.read_csv(exp / "tables" / "fashion_mnist.csv").query("source == 'released'")
    assert len(rel) == 1 and rel["1-step FID"].notna().all() and rel["steps"].iloc[0] == 10  # global_step 20 // 2
    assert "tiny_release" not in (exp / "summary.csv").read_text()  # a released file is no seed of the runs
    figures = json.loads((exp / "figures" / "figures.json").read_text())
    assert not figures["errors"] and any(f.endswith("samples_fashion_mnist.png") for f in figures["written"])
    assert any(f.endswith("discriminator_toy2d.png") for f in figures["written"])
    assert any(f.endswith("distance_vs_sigma_toy2d.png") for f in figures["written"])
    claims = json.loads((exp / "claims.json").read_text())
    rows = {(r["claim"], r["dataset"]) for r in claims["rows"]}
    assert {("C1a", "toy2d"), ("C1b", "fashion_mnist"), ("C3a", "toy2d"), ("C5a", "fashion_mnist"), ("C7", "toy2d"),
            ("S1", "toy2d"), ("C6", "cifar10 (recipes)")} <= rows
    # one seed: nothing is decided from the runs; only the recipe rows (no training) and descriptions
    measured = {r["verdict"] for r in claims["rows"] if not r["dataset"].endswith("(recipes)")}
    assert measured <= {"undecidable (n < 2)", "not run at this scale", "described"}, measured
    assert {r["verdict"] for r in claims["rows"] if r["claim"] == "C7" and r["dataset"] == "toy2d"} == {
        "undecidable (n < 2)"}
    assert (exp / "claims.md").is_file() and (exp / "claims.png").stat().st_size > 0

    again = snakemake("-n", *cfg)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]
    # an edit reruns the jobs reading it: the toy data's theory probes, its theory jobs and the report, no training
    (tmp_path / "theory.yaml").write_text("defaults: {theory: {num_probe: 16}}\n")
    edited = snakemake("-n", *cfg[:2], str(tmp_path / "theory.yaml"), *cfg[2:])
    assert jobs_of(edited.stdout) == {"plan": 2, "theory": 4, "aggregate": 1, "tables": 1, "figures": 1, "claims": 1,
                                      "all": 1}, edited.stdout[-3000:]
    assert plan_jobs(edited) == {"experiment", "theory/toy2d"}
    report = snakemake(*cfg, "--report", str(exp / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    assert (exp / "report.html").stat().st_size > 10_000


def test_workflow_functions_of_the_config_alone():
    """act.plan.workflow: what common.smk derives from the validated config, without Snakemake."""
    from types import SimpleNamespace

    from snakemake.utils import validate

    from act.plan import workflow as wf
    from act.plan.experiment import parse_experiment

    config = copy.deepcopy(config_of("config/paper/imagenet64.yaml"))
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    plan = parse_experiment(config)
    settings = wf.dataset_settings(config, plan)
    gpus = wf.job_request(config, plan, "train", "gpu")
    assert isinstance(gpus, dict) and gpus["imagenet64_ct"] == 8  # one dataset sets its own
    assert wf.job_request({**config, "device": "cpu"}, plan, "train", "gpu") == 0
    evaluate = {"data_root": None, "split": "train", "resize_mode": "clean", "batch_size": 50, "kid_subsets": 10,
                "kid_subset_size": 100, "num_ref": None, "inception_num": 0, "inception_at": "final"}
    st = {"sample": {"nfe": [1, 2], "num": 64, "batch_size": 32}, "evaluate": evaluate}
    image = wf.score_plan(st, SimpleNamespace(name="cifar10", root="/data"), False, "cpu", "cache", "clf.pt")
    assert image == {"nfe": [1, 2], "num": 64, "batch-size": 32, "device": "cpu", "no-progress": True,
                     "dataset": "cifar10", "split": "train", "resize-mode": "clean", "eval-batch-size": 50,
                     "kid-subsets": 10, "kid-subset-size": 100, "cache-dir": "cache", "inception-num": 0,
                     "inception-at": "final", "data-root": "/data", "classifier": "clf.pt"}
    assert wf.score_plan(st, None, True, "cpu", "cache", None) == {k: image[k] for k in list(image)[:5]}  # toy: W1
    theory = {"num_probe": 8, "batch_size": 4, "projections": None, "lipschitz_points": 2, "lipschitz_iters": 3,
              "num_scales": None}
    assert wf.theory_plan(theory, "auto") == {"num-probe": 8, "batch-size": 4, "lipschitz-points": 2,
                                              "lipschitz-iters": 3, "plots": "final", "device": "auto",
                                              "no-progress": True}
    d = next(iter(settings))
    st = copy.deepcopy(settings[d])
    st["claims"]["metric"] = "w1"
    assert "w1 is measured on 2-D toy data only" in wf.claims_metric_problem(d, st, toy=False)
    assert wf.claims_metric_problem(d, st, toy=True) is None
    sliced = wf.experiment_slice("x", settings, ("seeds",))
    assert sliced == {"name": "x", "datasets": {k: {"seeds": v["seeds"]} for k, v in settings.items()}}

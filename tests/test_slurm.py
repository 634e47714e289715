"""A real one-node SLURM cluster (scripts/slurm_local.sh: munge, slurmctld, slurmd, slurmdbd on MariaDB; CPUs
only, no GPU): the CI experiment through the README's `--profile profiles/slurm` gives what a local run gives,
and a training job stopped by its time limit's SIGTERM resumes, over retries, to the uninterrupted run's weights
bit for bit.

Needs root (or password-less sudo) and the Debian packages (`sudo bash scripts/slurm_local.sh install`); skipped without them, unless
ACT_REQUIRE_SLURM=1 (.ci/run sets it), which makes their absence a failure."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from act.checkpoint import load_checkpoint
from act.plan.slurm import parse_sinfo, parse_time_limit, rule_partition, runtime_problems
from test_workflow import config_of, snakemake

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "slurm_local.sh"
DAEMONS = ("munged", "slurmctld", "slurmd", "slurmdbd", "mariadbd", "sbatch")
# Not compared: timings, and the paths of the run's own folders
TIMING = ["wall_time", "seconds_per_step", "samples_dir", "metrics_file", "inpaint_png"]

LOCK = Path(tempfile.gettempdir()) / "act-bench-slurm.lock"  # one local cluster per machine: its config is /etc/slurm
MARK = "# written by act-bench scripts/slurm_local.sh, state in "
AS_ROOT = [] if os.geteuid() == 0 else ["sudo", "-n"]  # the daemons run as root


def _unavailable() -> str | None:
    if AS_ROOT and (shutil.which("sudo") is None or subprocess.run([*AS_ROOT, "true"], capture_output=True).returncode):
        return "the local SLURM cluster needs root (or sudo without a password)"
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        return f"{', '.join(missing)} not installed: sudo bash scripts/slurm_local.sh install"
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = _unavailable()
    if why:
        if os.environ.get("ACT_REQUIRE_SLURM") == "1":
            pytest.fail(f"ACT_REQUIRE_SLURM=1, but {why}")
        pytest.skip(why)
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # another worker's (or session's) cluster stops first
    conf = Path("/etc/slurm/slurm.conf")
    first = conf.read_text().splitlines()[0] if conf.is_file() else ""
    if first.startswith(MARK):  # left by a session that died holding the lock we now hold: stop it
        subprocess.run([*AS_ROOT, "bash", str(SCRIPT), "stop", first[len(MARK):]], capture_output=True, timeout=120)
    state = tmp_path_factory.mktemp("slurm")
    try:
        started = subprocess.run([*AS_ROOT, "bash", str(SCRIPT), "start", str(state)], capture_output=True, text=True,
                                 timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
        yield state
    finally:
        subprocess.run([*AS_ROOT, "bash", str(SCRIPT), "stop", str(state)], capture_output=True, timeout=120)
        lock.close()


def on_cluster(*args: str, timeout: float) -> subprocess.CompletedProcess:
    """snakemake through the SLURM profile, as the README has it (status checks sooner than a real cluster wants)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    return snakemake("--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "2", *args, env=env,
                     timeout=timeout)


def sacct() -> list:
    """Every job the cluster accounted: (id, state, exit code, requested TRES)."""
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-a", "-o", "JobID,State,ExitCode,ReqTRES"], capture_output=True,
                         text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def tensors(path: Path) -> dict:
    state = load_checkpoint(path)
    return {f"{g}.{n}.{k}": v for g in ("networks", "averaged") for n, sd in state[g].items() for k, v in sd.items()}


def assert_same_weights(a: Path, b: Path) -> None:
    ta, tb = tensors(a), tensors(b)
    assert ta.keys() == tb.keys()
    assert all(ta[k].dtype == tb[k].dtype and bool((ta[k] == tb[k]).all()) for k in ta), f"{a} and {b} differ"


@pytest.mark.slow
def test_ci_experiment_on_the_cluster_equals_a_local_run(cluster, ci_local_run, tmp_path):
    """config/ci.yaml (device: cpu) on CPU-only nodes: no job asks for a GPU (sbatch would refuse it), every
    job completes on the first try, and every model, the summary's measured columns and the claims are those
    of the local run; a second run has nothing to do."""
    local_root, _ = ci_local_run
    cfg = ["--configfile", str(local_root / "ci.yaml"), "--config", f"results_dir={tmp_path}",
           f"reference_cache={tmp_path / 'reference_cache'}"]
    before = {j[0] for j in sacct()}
    res = on_cluster(*cfg, timeout=1500)
    assert res.returncode == 0, res.stderr[-5000:]
    jobs = [j for j in sacct() if j[0] not in before]
    assert len(jobs) >= 25, jobs  # costs, classifier, runs, scoring, theory, inpainting, report
    assert all(state == "COMPLETED" for _, state, _, _ in jobs), jobs
    assert not any("gpu" in tres for *_, tres in jobs), jobs

    ref, exp = local_root / "ci", tmp_path / "ci"
    models = sorted(p.relative_to(ref) for p in ref.glob("runs/**/model.pt"))
    assert len(models) == 7 and models == sorted(p.relative_to(exp) for p in exp.glob("runs/**/model.pt"))
    for m in models:
        assert_same_weights(ref / m, exp / m)
    a, b = (pd.read_csv(e / "summary.csv").drop(columns=TIMING) for e in (ref, exp))
    pd.testing.assert_frame_equal(a, b)
    assert (ref / "claims.md").read_text() == (exp / "claims.md").read_text()
    assert json.loads((ref / "claims.json").read_text()) == json.loads((exp / "claims.json").read_text())

    again = on_cluster("-n", *cfg, timeout=300)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]


STEPS = 5000  # ~45 s of toy CT on one core: longer than the time to SLURM's first signal (10-40 s into a job)


@pytest.mark.slow
def test_time_limit_sigterm_resumes_bitwise(cluster, tmp_path):
    """A training job of one minute (`-t 1`) with `--signal=TERM@50`: SLURM's SIGTERM makes act train checkpoint
    and exit 75, the experiment's `resources.train.retries` (the profile's 2 would often be too few) resume
    it, and the final model and log equal an uninterrupted local run's."""
    toy = config_of("config/ci.yaml")["datasets"]["toy2d"]
    toy.update(methods={"ct": None}, overrides={"train": {"log_every": 500}},
               budget={"reference": {"method": "ct", "batch": 64, "steps": STEPS}})
    experiment = {"name": "preempt", "device": "cpu", "cost": {"steps": 1, "warmup": 0},
                  "defaults": {"seeds": [0], "checkpoints": 1, "theory": {"enabled": False}},
                  "datasets": {"toy2d": toy}, "resources": {"train": {"runtime": 1, "retries": 20}}}
    (tmp_path / "preempt.yaml").write_text(yaml.safe_dump(experiment, sort_keys=False))
    exp = tmp_path / "results" / "preempt"
    model = exp / "runs" / "toy2d" / "ct" / "b64" / "s0" / "model.pt"
    res = on_cluster(str(model), "--configfile", str(tmp_path / "preempt.yaml"), "--config",
                     f"results_dir={tmp_path / 'results'}",
                     "--set-resources", "train:slurm_extra='--signal=TERM@50'", timeout=900)  # options of many values last
    assert res.returncode == 0, res.stderr[-5000:]
    attempts = (exp / "logs" / "train" / "toy2d" / "ct" / "b64" / "s0.attempts.log").read_text()
    starts = [line for line in attempts.splitlines() if line.startswith("=== act train ")]
    assert len(starts) >= 2 and "resuming" in starts[1], (
        f"no stop: training ended before SLURM's first signal (raise STEPS)\n{attempts[-2000:]}")
    assert "act train: stopped by SIGTERM after step" in attempts, attempts[-2000:]
    # each stopped attempt is a failed SLURM job (Snakemake's job step reports act train's 75 as a failure)
    assert sum(state in ("FAILED", "TIMEOUT") for _, state, _, _ in sacct()) >= len(starts) - 1, sacct()

    local = tmp_path / "local"
    run = subprocess.run(["act", "train", "-c", str(exp / "configs" / "toy2d" / "ct" / "b64" / "s0.yaml"),
                          "-o", str(local), "--no-progress"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert_same_weights(local / "model.pt", model)
    strip = lambda p: [{k: v for k, v in json.loads(l).items() if k != "wall_time"} for l in p.read_text().splitlines()]
    assert strip(local / "train_log.jsonl") == strip(model.parent / "train_log.jsonl")  # resumed sums included


@pytest.mark.slow
def test_a_runtime_above_the_partition_limit_stops_before_submission(cluster, tmp_path):
    """48 hours asked of the 24-hour partition: one line naming the key, nothing submitted (sbatch would accept the
    job, which would then pend for ever with reason PartitionTimeLimit)."""
    ci = config_of("config/ci.yaml")
    ci["resources"] = {"train": {"runtime": 2880}}
    (tmp_path / "ci.yaml").write_text(yaml.safe_dump(ci, sort_keys=False))
    before = len(sacct())
    res = on_cluster("--configfile", str(tmp_path / "ci.yaml"), "--config", f"results_dir={tmp_path}", timeout=300)
    assert res.returncode != 0
    assert "resources.train.runtime is 2880 min but partition cpu allows 1440: set it to 1440 or less" in res.stderr
    assert len(sacct()) == before and not (tmp_path / "ci").exists()


SINFO = "debug 30:00\ncpu* 1-00:00:00\ngpu 2-00:00:00\nlong infinite\n"


def test_slurm_time_limits_parse_in_every_form():
    assert [parse_time_limit(t) for t in ("45", "30:00", "1:30:00", "2-00", "2-12:30", "1-00:00:30")] == [
        45, 30, 90, 2880, 3630, 1440.5]
    assert parse_time_limit("infinite") is None and parse_time_limit("UNLIMITED") is None
    limits, default = parse_sinfo("PARTITION TIMELIMIT\n" + SINFO)
    assert default == "cpu" and limits == {"debug": 30, "cpu": 1440, "gpu": 2880, "long": None}
    assert parse_sinfo("PARTITION\ncpu*\ngpu\n") == ({}, None)  # another format: no limits, no error


def test_runtime_above_its_partition_limit_is_named():
    problems = runtime_problems([("train", 2880, None), ("score", 60, None), ("theory", 2880, "gpu"),
                                 ("inpaint", 99999, "long"), ("cost", 99999, "elsewhere")], SINFO)
    assert problems == ["resources.train.runtime is 2880 min but partition cpu allows 1440: set it to 1440 or less "
                        "(act train resumes over allocations: README, On a SLURM cluster)"]
    assert runtime_problems([("train", 2880, None)], "") == []  # no sinfo: nothing known, nothing claimed


def test_rule_partition_from_the_profile_settings():
    """As Snakemake parses them: unevaluated Resources, whose value needs a rule's context (their text is read)."""
    from snakemake.cli import parse_set_resources
    from snakemake.resources import Resources

    class Settings:
        overwrite_resources = parse_set_resources(["train:slurm_partition=gpu", "theory:mem_mb=1000"])
        default_resources = Resources.parser_factory(defaults="full", allow_expressions=True)(
            ["slurm_partition='cpu'", "mem_mb=1000"])

    assert rule_partition(Settings(), "train") == "gpu" and rule_partition(Settings(), "score") == "cpu"
    assert rule_partition(Settings(), "theory") == "cpu"
    Settings.default_resources = None
    assert rule_partition(Settings(), "score") is None

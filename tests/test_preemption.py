"""Stopping and resuming `act train` the way clusters do it: SIGKILL at random steps, SIGTERM from a
scheduler, checkpoints by wall time, and a divergence that leaves the last good checkpoint intact.

The kill tests run `act train` as separate processes (one thread each, so every run computes the
same floating-point sums) and compare every tensor of the final checkpoint, networks, EMAs,
discriminator, optimiser and scaler states and the augmentation probability, with a run never
interrupted: bitwise.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from act.checkpoint import latest_checkpoint, planned_checkpoints, resume_checkpoints
from act.cli import main
from act.stopping import EXIT_DIVERGED, EXIT_PREEMPTED

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def act_train(out: Path, *sets: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import torch, sys; torch.set_num_threads(1); "
                             "from act.cli import main; sys.exit(main(sys.argv[1:]))", "train", "-o", str(out),
                             "--no-progress", *[a for s in sets for a in ("--set", s)]],
                            cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def assert_same_tensors(a, b, where="state"):
    """Every tensor of two nested checkpoint structures bitwise equal (and the same structure)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            assert_same_tensors(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert a == b or (a != a and b != b), where
    else:
        assert a == b, where


def trained(path: Path) -> dict:
    state = torch.load(path, weights_only=True)
    return {k: state[k] for k in ("step", "networks", "averaged", "optimizers", "scalers", "method_state")}


@pytest.fixture
def act_images(fmnist_root):
    """ACT on tiny images with ACT-Aug moving at every step (threshold 0, R1 every step), so the
    augmentation probability is part of what a resume must restore."""
    return ("method.name=act", "method.distance=l2", "model.preset=tiny", "model.discriminator=tiny",
            f"data.root={fmnist_root}", "method.augment=true", "method.augment_threshold=0.0",
            "method.r1_interval=1", "train.batch_size=4", "train.steps=48", "train.log_every=4",
            "train.ckpt_every=16", "train.ckpt_minutes=0.0002", "train.device=cpu")


@pytest.mark.slow
def test_three_sigkills_at_random_steps_then_resume_bitwise(tmp_path, act_images):
    ref = act_train(tmp_path / "ref", *act_images)
    run = tmp_path / "run"
    rng = random.Random(1234)
    kills = 0
    while kills < 3:
        p = act_train(run, *act_images)
        while p.poll() is None and latest_checkpoint(run) is None:
            time.sleep(0.05)  # kill only once a checkpoint exists
        time.sleep(rng.uniform(0.2, 2.0))
        if p.poll() is not None:
            break
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
        assert latest_checkpoint(run) is not None
    assert kills == 3, "the run finished before three kills: give it more steps"
    last = act_train(run, *act_images)
    assert last.wait(timeout=600) == 0, last.stdout.read()
    assert ref.wait(timeout=600) == 0, ref.stdout.read()
    a, b = trained(ref.args and tmp_path / "ref" / "model.pt"), trained(run / "model.pt")
    assert a["method_state"]["augment"]["p"] > 0
    assert_same_tensors(a, b)
    assert not resume_checkpoints(run) and sorted(planned_checkpoints(run).values()) == [16, 32, 48]


@pytest.mark.slow
def test_sigterm_finishes_the_step_checkpoints_and_exits_75(tmp_path):
    sets = ("method.distance=l2", "data.name=toy2d", "data.options={kind: gaussian_mixture, n: 512, seed: 0}",
            "model.preset=toy2d", "train.steps=100000", "train.batch_size=32", "train.log_every=1",
            "train.ckpt_every=0", "train.ckpt_minutes=0", "train.device=cpu")
    run = tmp_path / "run"
    p = act_train(run, *sets)
    log = run / "train_log.jsonl"
    while p.poll() is None and (not log.is_file() or len(log.read_text().splitlines()) < 20):
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=120) == EXIT_PREEMPTED
    out = p.stdout.read()
    ckpt = latest_checkpoint(run)
    assert ckpt is not None and ckpt.name.startswith("resume-")
    step = torch.load(ckpt, weights_only=True)["step"]
    assert f"stopped by SIGTERM after step {step}; checkpoint {ckpt}" in out
    assert out.strip().splitlines()[-1].startswith("act train: stopped by SIGTERM")
    assert step >= 20 and not (run / "model.pt").exists()
    # the same command resumes from that step: the log goes on from step + 1, without a gap or a repeat
    q = act_train(run, *sets)
    while q.poll() is None and len(log.read_text().splitlines()) < step + 10:
        time.sleep(0.05)
    q.send_signal(signal.SIGUSR1)
    assert q.wait(timeout=120) == EXIT_PREEMPTED
    assert "stopped by SIGUSR1" in q.stdout.read()
    import json

    steps = [json.loads(line)["step"] for line in log.read_text().splitlines()]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= step + 10
    assert torch.load(latest_checkpoint(run), weights_only=True)["step"] == steps[-1]
    assert len(resume_checkpoints(run)) == 1  # the older resume point is gone


def test_checkpoints_by_wall_time_are_resume_only_and_pruned(tmp_path, monkeypatch):
    """train.ckpt_minutes writes resume-*.pt between the planned checkpoints, keeps only the newest, and
    leaves none once the run is done; keep_checkpoints keeps the newest K planned ones."""
    import act.run_book as R

    seen = []
    real = R.save_checkpoint

    def spy(path, state):
        real(path, state)
        seen.append(Path(path).name)

    monkeypatch.setattr(R, "save_checkpoint", spy)
    run = tmp_path / "run"
    assert main(["train", "-o", str(run), "--no-progress", "--set", "method.distance=l2", "--set", "data.name=toy2d",
                 "--set", "data.options={kind: two_moons, n: 256, seed: 0}", "--set", "model.preset=toy2d",
                 "--set", "train.steps=12", "--set", "train.batch_size=16", "--set", "train.ckpt_every=4",
                 "--set", "train.ckpt_minutes=1e-9", "--set", "train.keep_checkpoints=2", "--set", "train.device=cpu"]) == 0
    assert [n for n in seen if n.startswith("resume-")] == [f"resume-{k:07d}.pt" for k in (1, 2, 3, 5, 6, 7, 9, 10, 11)]
    assert sorted(planned_checkpoints(run).values()) == [8, 12] and not resume_checkpoints(run)


def test_a_nan_stops_training_naming_step_term_and_the_intact_checkpoint(tmp_path, monkeypatch, capsys):
    import hashlib

    from baselines.ct import CTLoss

    real = CTLoss.__call__

    def poisoned(self, nets, x, labels, *, step, generator):
        losses, logs = real(self, nets, x, labels, step=step, generator=generator)
        if step == 6:  # the 7th step, after the checkpoint of step 4
            losses = losses * float("nan")
            logs = {**logs, "loss_ct": float("nan")}
        return losses, logs

    monkeypatch.setattr(CTLoss, "__call__", poisoned)
    run = tmp_path / "run"
    argv = ["train", "-o", str(run), "--no-progress", "--set", "method.distance=l2", "--set", "data.name=toy2d",
            "--set", "data.options={kind: two_moons, n: 256, seed: 0}", "--set", "model.preset=toy2d",
            "--set", "train.steps=10", "--set", "train.batch_size=16", "--set", "train.ckpt_every=4",
            "--set", "train.ckpt_minutes=0", "--set", "train.device=cpu"]
    assert main(argv) == EXIT_DIVERGED
    err = capsys.readouterr().err.strip().splitlines()[-1]
    good = run / "checkpoints" / "step-0000004.pt"
    assert err.startswith("act train: non-finite loss_ct (generator phase) at step 7") and str(good) in err
    assert sorted(planned_checkpoints(run).values()) == [4] and not (run / "model.pt").exists()
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    assert torch.load(good, weights_only=True)["step"] == 4
    monkeypatch.setattr(CTLoss, "__call__", real)  # the cause removed: rerun resumes from the good one
    assert main(argv) == 0
    assert hashlib.sha256(good.read_bytes()).hexdigest() == digest


def test_non_finite_weights_are_never_checkpointed(tmp_path, monkeypatch, capsys):
    import act.train as T

    real = T.train_step

    def poisoned(method, *args, **kwargs):
        logs = real(method, *args, **kwargs)
        if args[4] == 3:  # step 4, a checkpoint step: a NaN in the EMA target after its update (its loss was finite)
            with torch.no_grad():
                next(iter(method.averaged["target"].parameters())).view(-1)[0] = float("nan")
        return logs

    monkeypatch.setattr(T, "train_step", poisoned)
    run = tmp_path / "run"
    assert main(["train", "-o", str(run), "--no-progress", "--set", "method.distance=l2", "--set", "data.name=toy2d",
                 "--set", "data.options={kind: two_moons, n: 256, seed: 0}", "--set", "model.preset=toy2d",
                 "--set", "train.steps=10", "--set", "train.batch_size=16", "--set", "train.ckpt_every=2",
                 "--set", "train.ckpt_minutes=0", "--set", "train.device=cpu"]) == EXIT_DIVERGED
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "non-finite weights at step 4" in err and "step-0000002.pt is intact" in err
    assert sorted(planned_checkpoints(run).values()) == [2]


def test_with_sync_at_log_steps_a_nan_is_caught_at_the_next_check_before_any_checkpoint(tmp_path, monkeypatch, capsys):
    from baselines.ct import CTLoss

    real = CTLoss.__call__

    def poisoned(self, nets, x, labels, *, step, generator):
        losses, logs = real(self, nets, x, labels, step=step, generator=generator)
        return (losses * float("nan") if step == 6 else losses), logs  # step 7: no host read reveals it

    monkeypatch.setattr(CTLoss, "__call__", poisoned)
    run = tmp_path / "run"
    argv = ["train", "-o", str(run), "--no-progress", "--set", "method.distance=l2", "--set", "data.name=toy2d",
            "--set", "data.options={kind: two_moons, n: 256, seed: 0}", "--set", "model.preset=toy2d",
            "--set", "train.steps=10", "--set", "train.batch_size=16", "--set", "train.ckpt_every=4",
            "--set", "train.log_every=3", "--set", "train.sync=log", "--set", "train.ckpt_minutes=0",
            "--set", "train.device=cpu"]
    assert main(argv) == EXIT_DIVERGED
    err = capsys.readouterr().err.strip().splitlines()[-1]
    # checked at the log step 6 (clean), then before the checkpoint of step 8: the NaN lies in steps 7-8
    assert "non-finite generator loss or gradient (in steps 7-8" in err and "at step 8" in err
    assert "step-0000004.pt is intact" in err and sorted(planned_checkpoints(run).values()) == [4]

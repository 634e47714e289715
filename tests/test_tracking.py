"""act.tracking: TensorBoard events read back as TensorBoard shows them, resume purging, the no-op and
missing-package paths, and wandb through a fake module (the real one is never needed nor imported)."""

import subprocess
import sys
import types

import pytest
import torch

from act.errors import MissingInputError
from act.tracking import Tracker, tag_for

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

RECORD = {"step": 4, "loss_ct": 0.5, "loss_adv": 0.7, "lambda": 0.3, "loss_d_fake": 0.9, "loss_d_real": 0.6,
          "r1": 0.01, "aug_p": 0.2, "num_scales": 17, "ema_decay": 0.95, "lr": 2e-4, "images_seen": 512,
          "wall_time": 1.5, "note": "text", "flag": True}


def read(run_dir) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def earlier(run_dir) -> None:
    """Date the event files written so far back a day, as an earlier job's are: TensorBoard reads a folder's
    files in name order, and two writers of one process within one second are ordered by a counter that
    sorts as text (.10 before .9)."""
    for f in (run_dir / "tensorboard").glob("events.out.tfevents.*"):
        stamp = f.name.split(".")[3]
        f.rename(f.with_name(f.name.replace(f".{stamp}.", f".{int(stamp) - 86400:010d}.", 1)))


def test_tag_rule():
    assert [tag_for(k) for k in ("loss_ct", "loss_adv", "loss_d_fake", "r1", "aug_p", "lambda", "num_scales",
                                 "ema_decay", "lr", "images_seen", "wall_time")] == [
        "loss/loss_ct", "loss/loss_adv", "adversarial/loss_d_fake", "adversarial/r1", "adversarial/aug_p",
        "schedule/lambda", "schedule/num_scales", "schedule/ema_decay", "schedule/lr",
        "progress/images_seen", "progress/wall_time"]


def test_scalars_and_grid_read_back(tmp_path):
    with Tracker(tmp_path, tensorboard=True, wandb=False, main=True) as tr:
        tr.scalars(4, {**RECORD, "loss_ct": torch.tensor(0.5)})
        tr.images(4, "samples", torch.linspace(-1, 1, 4 * 8 * 8).reshape(4, 1, 8, 8))
        tr.images(8, "samples", torch.zeros(5, 3, 6, 6))
    acc = read(tmp_path)
    tags = set(acc.Tags()["scalars"])
    assert tags == {tag_for(k) for k in RECORD if k not in ("step", "note", "flag")} | {"adversarial/d_loss_gap"}
    for k in ("loss_ct", "num_scales", "lr", "images_seen"):
        (ev,) = acc.Scalars(tag_for(k))
        assert ev.step == 4 and ev.value == pytest.approx(float(RECORD[k]))
    assert acc.Scalars("adversarial/d_loss_gap")[0].value == pytest.approx(0.9 - 0.6)
    first, second = acc.Images("samples")
    assert (first.step, first.width, first.height) == (4, 2 * 8 + 3 * 2, 2 * 8 + 3 * 2)  # 2x2 grid, padding 2
    assert (second.step, second.width, second.height) == (8, 3 * 6 + 4 * 2, 2 * 6 + 3 * 2)  # 5 images: 3 columns


def test_resume_purges_the_killed_attempts_later_steps(tmp_path):
    with Tracker(tmp_path, tensorboard=True) as tr:
        for step in range(1, 11):
            tr.scalars(step, {"loss_ct": float(step)})
            if step in (5, 10):
                tr.images(step, "samples", torch.zeros(1, 1, 4, 4))
    earlier(tmp_path)
    with Tracker(tmp_path, tensorboard=True, start_step=5) as tr:  # restarted from the step-5 checkpoint
        for step in range(6, 9):
            tr.scalars(step, {"loss_ct": 100.0 + step})
    acc = read(tmp_path)
    seen = [(e.step, e.value) for e in acc.Scalars("loss/loss_ct")]
    assert seen == [(s, float(s)) for s in range(1, 6)] + [(s, 100.0 + s) for s in range(6, 9)]
    assert [e.step for e in acc.Images("samples")] == [5]  # a tag the resumed run did not re-log goes too


def test_fresh_start_hides_an_earlier_history(tmp_path):
    with Tracker(tmp_path, tensorboard=True) as tr:
        tr.scalars(3, {"loss_ct": 1.0})
    earlier(tmp_path)
    with Tracker(tmp_path, tensorboard=True, start_step=0) as tr:
        tr.scalars(1, {"loss_ct": 2.0})
    assert [(e.step, e.value) for e in read(tmp_path).Scalars("loss/loss_ct")] == [(1, 2.0)]


@pytest.mark.parametrize("switches", [dict(tensorboard=False, wandb=False), dict(tensorboard=True, wandb=True, main=False)])
def test_noop_writes_nothing(tmp_path, switches):
    with Tracker(tmp_path / "run", **switches) as tr:
        assert not tr.active
        tr.scalars(1, RECORD)
        tr.images(1, "samples", torch.zeros(2, 3, 4, 4))
    assert not (tmp_path / "run").exists()


def test_missing_tensorboard_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    with pytest.raises(MissingInputError, match="pip install tensorboard"):
        Tracker(tmp_path, tensorboard=True)
    assert not (tmp_path / "tensorboard").exists()


def test_missing_wandb_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(MissingInputError, match=r"pip install act-bench\[wandb\]"):
        Tracker(tmp_path, wandb=True)


def test_wandb_is_never_imported_unless_asked(tmp_path):
    code = ("import sys, torch, act.tracking as t; "
            f"tr = t.Tracker(r'{tmp_path}', tensorboard=True, wandb=False); tr.scalars(1, {{'loss_ct': 1.0}}); "
            "tr.close(); assert 'wandb' not in sys.modules, 'wandb imported'; "
            "print('tensorboard' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    code = "import sys, act.tracking; print(sorted(m for m in ('wandb', 'tensorboard') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr  # importing the module costs nothing


class FakeWandb(types.ModuleType):
    """Records wandb.init / run.log / run.finish; wandb.Image keeps its array."""

    def __init__(self):
        super().__init__("wandb")
        self.inits, self.logs, self.finished = [], [], 0
        fake = self

        class Image:
            def __init__(self, data):
                self.data = data

        class Run:
            def log(self, data, step=None):
                fake.logs.append((step, data))

            def finish(self):
                fake.finished += 1

        self.Image, self._Run = Image, Run

    def init(self, **kwargs):
        self.inits.append(kwargs)
        return self._Run()


def test_wandb_logs_and_resumes_the_same_run(tmp_path, monkeypatch):
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.setenv("WANDB_MODE", "offline")
    with Tracker(tmp_path, wandb=True, config={"method": {"name": "act"}}, run_name="act-fmnist") as tr:
        tr.scalars(2, RECORD)
        tr.images(2, "samples", torch.zeros(4, 1, 8, 8))
    assert not (tmp_path / "tensorboard").exists()
    first = fake.inits[0]
    assert (first["mode"], first["dir"], first["name"], first["resume"]) == ("offline", str(tmp_path), "act-fmnist", "allow")
    assert first["config"] == {"method": {"name": "act"}}
    (step, data), (img_step, img) = fake.logs
    assert step == 2 and data["loss/loss_ct"] == 0.5 and data["adversarial/d_loss_gap"] == pytest.approx(0.3)
    assert "progress/note" not in data and "progress/step" not in data
    assert img_step == 2 and img["samples"].data.shape == (22, 22, 3) and fake.finished == 1
    Tracker(tmp_path, wandb=True, start_step=2).close()  # a resumed job: the same run id
    Tracker(tmp_path, wandb=True, start_step=0).close()  # a fresh start: a new run
    ids = [i["id"] for i in fake.inits]
    assert ids[0] == ids[1] != ids[2] and (tmp_path / "wandb_id.txt").read_text().strip() == ids[2]


def test_act_train_writes_tensorboard_events_when_switched_on(tmp_path):
    pytest.importorskip("tensorboard")
    from act.cli import main

    run = tmp_path / "run"
    assert main(["train", "-o", str(run), "--no-progress", "--set", "method.distance=l2", "--set", "model.preset=tiny",
                 "--set", "data.name=synthetic", "--set", "data.resolution=32", "--set", "data.options={n: 32, channels: 1}",
                 "--set", "train.steps=2", "--set", "train.batch_size=2", "--set", "train.log_every=1",
                 "--set", "train.ckpt_every=0", "--set", "train.device=cpu", "--set", "train.tensorboard=true"]) == 0
    assert list((run / "tensorboard").glob("events.*"))

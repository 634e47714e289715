"""The shared training loop: CT steps, checkpoints, exact resume, sampling seeds, CLI."""

import json
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from act.checkpoint import latest_checkpoint, load_checkpoint, load_networks
from act.config import load_config
from act.consistency import ConsistencyLoss
from act.distances import l2_distance
from act.errors import ConfigError, InputError
from act.rng import seeded_global_rng
from act.parametrization import ConsistencyFunction
from act.sampling import generate
from act.train import StepBatches, train


def toy_cfg(method="ct", steps=6, **extra):
    sets = [f"method.name={method}", "method.distance=l2" if method == "ct" else "method.distance=pseudo_huber",
            "data.name=toy2d", "data.options={kind: gaussian_mixture, n: 512, seed: 0}", "model.preset=toy2d",
            f"train.steps={steps}", "train.batch_size=16", "train.log_every=2", "train.ckpt_every=3", "train.device=cpu"]
    sets += [f"{k}={v}" for k, v in extra.items()]
    return load_config(None, tuple(sets))


def fmnist_cfg(root, steps=3):
    return load_config(None, ("method.distance=l2", f"data.root={root}", "model.preset=tiny", f"train.steps={steps}",
                              "train.batch_size=4", "train.log_every=1", "train.ckpt_every=0", "train.device=cpu"))


def _weights(path):
    return load_checkpoint(path)["networks"]["generator"]


def test_ct_trains_and_logs(tmp_path):
    out = train(toy_cfg(), tmp_path / "run", progress=False)
    log = [json.loads(l) for l in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4, 6]
    for key in ("loss_ct", "num_scales", "ema_decay", "lr", "images_seen", "wall_time"):
        assert key in log[-1]
    assert log[-1]["images_seen"] == 6 * 16
    state = load_checkpoint(out)
    assert state["step"] == 6 and state["sampling_network"] == "target"
    assert (tmp_path / "run" / "config.yaml").is_file()
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert "packages" in run and "git_commit" in run
    assert latest_checkpoint(tmp_path / "run").name == "step-0000006.pt"


@pytest.mark.parametrize("method", ["ct", "ict"])
def test_resume_continues_exactly(tmp_path, method):
    cfg = toy_cfg(method)
    train(cfg, tmp_path / "a", progress=False)
    (tmp_path / "b" / "checkpoints").mkdir(parents=True)
    shutil.copy(tmp_path / "a" / "checkpoints" / "step-0000003.pt", tmp_path / "b" / "checkpoints")
    train(cfg, tmp_path / "b", resume="auto", progress=False)
    wa, wb = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    # and a different seed gives different weights
    train(toy_cfg(method, **{"train.seed": 1}), tmp_path / "c", progress=False)
    wc = _weights(tmp_path / "c" / "model.pt")
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)


def test_resume_refuses_checkpoints_of_another_config(tmp_path):
    """A run folder's checkpoints continue only the config that wrote them: a change of recipe is an error
    under 'auto', a fresh start (stale checkpoints removed) under 'same-config' and 'none'."""
    run = tmp_path / "run"
    train(toy_cfg(), run, progress=False)  # 6 steps, checkpoints at 3 and 6
    other = toy_cfg(**{"method.mu0": 0.95, "train.steps": 4})
    with pytest.raises(InputError, match=r"method.mu0: 0.9 -> 0.95.*train.steps: 6 -> 4"):
        train(other, run, resume="auto", progress=False)
    train(other, run, resume="same-config", progress=False)
    assert json.loads((run / "run.json").read_text())["start_step"] == 0
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-0000003.pt", "step-0000004.pt"]
    assert load_checkpoint(run / "checkpoints" / "step-0000003.pt")["config"]["method"]["mu0"] == 0.95
    assert [json.loads(line)["step"] for line in (run / "train_log.jsonl").read_text().splitlines()] == [2, 4]
    # what does not change the trajectory (log and checkpoint intervals, device) may change
    train(toy_cfg(**{"method.mu0": 0.95, "train.steps": 4, "train.log_every": 1}), run, progress=False)
    assert json.loads((run / "run.json").read_text())["start_step"] == 4
    train(toy_cfg(), run, resume=None, progress=False)
    assert load_checkpoint(run / "model.pt")["config"]["method"]["mu0"] == 0.9


def test_resume_compares_what_decides_the_trajectory(tmp_path):
    from act.checkpoint import save_checkpoint

    run = tmp_path / "run"
    train(toy_cfg(), run, progress=False)
    ckpt = run / "checkpoints" / "step-0000003.pt"
    (run / "checkpoints" / "step-0000006.pt").unlink()
    state = load_checkpoint(ckpt)
    assert (state["world_size"], state["device_type"]) == (1, "cpu")
    save_checkpoint(ckpt, state)  # rewritten as it was read: it still continues the run
    train(toy_cfg(), run, progress=False)
    assert json.loads((run / "run.json").read_text())["start_step"] == 3
    state["world_size"] = 2  # written by two processes: another noise stream
    save_checkpoint(ckpt, state)
    (run / "checkpoints" / "step-0000006.pt").unlink()
    with pytest.raises(InputError, match=r"run.world_size: 2 -> 1"):
        train(toy_cfg(), run, progress=False)
    with pytest.raises(InputError, match="neither a mode"):
        train(toy_cfg(), run, resume="same_config", progress=False)


def test_resume_from_a_file_drops_later_checkpoints_of_the_folder(tmp_path):
    train(toy_cfg(), tmp_path / "a", progress=False)
    train(toy_cfg(**{"method.mu0": 0.95}), tmp_path / "b", progress=False)  # checkpoints 3 and 6 of another run
    train(toy_cfg(), tmp_path / "b", resume=str(tmp_path / "a" / "checkpoints" / "step-0000003.pt"), progress=False)
    # b's own history (mu0 0.95) is gone, its step 3 included: this run came through a's step 3
    assert [p.name for p in (tmp_path / "b" / "checkpoints").iterdir()] == ["step-0000006.pt"]
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "step-0000006.pt")["config"]["method"]["mu0"] == 0.9
    wa, wb = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_drops_log_records_past_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    train(toy_cfg(), run, progress=False)
    (run / "checkpoints" / "step-0000006.pt").unlink()  # the job died after logging step 6, before saving it
    with open(run / "train_log.jsonl", "a") as f:
        f.write('{"step": 7, "loss')  # ... in the middle of a line
    train(toy_cfg(), run, progress=False)
    assert [json.loads(line)["step"] for line in (run / "train_log.jsonl").read_text().splitlines()] == [2, 4, 6]


def test_a_resumed_run_logs_what_an_uninterrupted_one_does(tmp_path):
    """The checkpoint keeps the log's running sums: the first record after a resume (step 4, resumed at 3)
    averages steps 3-4 as the uninterrupted run's does, not step 4 alone."""
    train(toy_cfg(), tmp_path / "a", progress=False)
    run = tmp_path / "b"
    train(toy_cfg(), run, progress=False)
    (run / "checkpoints" / "step-0000006.pt").unlink()
    (run / "model.pt").unlink()
    train(toy_cfg(), run, progress=False)
    assert json.loads((run / "run.json").read_text())["start_step"] == 3
    strip = lambda p: [{k: v for k, v in json.loads(l).items() if k != "wall_time"} for l in p.read_text().splitlines()]
    a, b = strip(tmp_path / "a" / "train_log.jsonl"), strip(run / "train_log.jsonl")
    assert [r["step"] for r in b] == [2, 4, 6] and a == b and "steps_averaged" not in a[1]
    state = load_checkpoint(run / "checkpoints" / "step-0000003.pt")
    assert state["log_accum"]["steps"] == 1 and set(state["log_accum"]["sums"]) == {"loss_ct"}


def test_checkpoint_has_no_pickled_code(tmp_path):
    out = train(toy_cfg(steps=2), tmp_path / "r", progress=False)
    torch.load(out, weights_only=True)  # raises if anything but tensors and primitives


def test_ct_on_fashion_mnist_format(tmp_path, fmnist_root):
    out = train(fmnist_cfg(fmnist_root), tmp_path / "f", progress=False)
    net, cfg, state = load_networks(out)
    assert state["data_shape"] == [1, 32, 32]
    x, _ = generate(net, 3, (1, 32, 32), [80.0], progress=False)
    assert x.shape == (3, 1, 32, 32) and torch.isfinite(x).all()


def test_step_batches_cover_each_epoch_once():
    class DS:
        def __len__(self):
            return 10

        def get_batch(self, idx):
            return idx.float()[:, None], idx

    b = StepBatches(DS(), batch=4, seed=0, start=0, hflip=False)
    seen = torch.cat([b.indices(s) for s in range(5)])  # 20 = two epochs
    assert sorted(seen[:10].tolist()) == list(range(10)) and sorted(seen[10:].tolist()) == list(range(10))
    assert torch.equal(StepBatches(DS(), 4, 0, 3, False)[0][1], b.indices(3))


class _DropoutProbe(nn.Module):
    """Backbone returning its dropout mask, to check student and target share it."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.masks = []

    def forward(self, x, c_noise, labels=None):
        m = self.drop(torch.ones_like(x))
        self.masks.append(m.detach().clone())
        return m


def test_student_and_target_share_noise_and_dropout_mask():
    probe = _DropoutProbe()
    f = ConsistencyFunction(probe)
    loss = ConsistencyLoss(l2_distance, 0.002, 80.0, 7.0)
    g = torch.Generator().manual_seed(0)
    loss(f, f, torch.zeros(8, 1, 4, 4), num_scales=10, generator=g)
    student_mask, target_mask = probe.masks
    assert torch.equal(student_mask, target_mask)
    assert 0 < student_mask.mean() < 2  # dropout actually active
    # the global RNG is untouched by the forked dropout seeds
    state = torch.get_rng_state()
    with seeded_global_rng(123, torch.device("cpu")):
        torch.rand(3)
    assert torch.equal(state, torch.get_rng_state())


def test_consistency_objective_learns_the_gaussian_consistency_function():
    """For data N(0, s^2 I) the PF-ODE solution is linear: f*(x, sigma) = x sqrt(s^2 + eps^2) / sqrt(s^2 + sigma^2).
    Minimising the CT loss (online target under stop-gradient, as iCT) must approach it at every noise level;
    a pair-indexing, scaling or target bug leaves the untrained error (~0.95 at large sigma)."""
    from act.data.toy import gaussian_consistency_function, sample_toy
    from act.networks import build_generator

    torch.manual_seed(0)
    net = build_generator("toy2d")
    loss_fn = ConsistencyLoss(l2_distance, 0.002, 80.0, 7.0)
    opt = torch.optim.RAdam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    for k in range(1500):  # ~10 s
        x0 = 0.5 * torch.randn(256, 2, generator=g)
        loss = loss_fn(net, net, x0, num_scales=min(2 + k // 10, 20), generator=g).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    z = torch.randn(2000, 2, generator=g)
    with torch.no_grad():
        for sigma in (0.1, 0.5, 2.0, 10.0, 80.0):  # measured: 0.05, 0.09, 0.14, 0.13, 0.12
            xt = sample_toy("gaussian", 2000, seed=1) + sigma * z
            exact = gaussian_consistency_function(xt, sigma)
            err = (net(xt, torch.full((2000,), sigma)) - exact).norm(dim=1).mean() / exact.norm(dim=1).mean()
            assert err < 0.25, (sigma, float(err))


def test_image_i_comes_from_seed_i(tmp_path):
    net = ConsistencyFunction(_Linear())
    a, _ = generate(net, 6, (2,), [80.0, 1.0], seed=0, batch_size=6, progress=False)
    b, _ = generate(net, 6, (2,), [80.0, 1.0], seed=0, batch_size=4, progress=False)
    c, _ = generate(net, 2, (2,), [80.0, 1.0], seed=3, batch_size=1, progress=False)
    assert torch.equal(a, b)
    assert torch.equal(a[3:5], c)


class _Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x, c_noise, labels=None):
        return self.lin(x)


def test_cli_train_and_sample(tmp_path, fmnist_root):
    from act.cli import main

    run = tmp_path / "run"
    assert main(["train", "-o", str(run), "--set", f"data.root={fmnist_root}", "--set", "model.preset=tiny",
                 "--set", "method.distance=l2", "--set", "train.steps=2", "--set", "train.batch_size=2",
                 "--set", "train.device=cpu", "--no-progress"]) == 0
    assert main(["sample", "--checkpoint", str(run / "model.pt"), "-o", str(tmp_path / "s"), "--num", "5",
                 "--batch-size", "2", "--device", "cpu", "--no-progress"]) == 0
    arr = np.load(tmp_path / "s" / "samples.npz")["images"]
    assert arr.shape == (5, 32, 32, 1) and arr.dtype == np.uint8
    assert (tmp_path / "s" / "grid.png").is_file()
    meta = json.loads((tmp_path / "s" / "sample.json").read_text())
    assert meta["sigmas"] == [80.0] and meta["num"] == 5
    assert main(["sample", "--checkpoint", str(run / "model.pt"), "-o", str(tmp_path / "s2"), "--num", "5",
                 "--batch-size", "5", "--device", "cpu", "--no-progress"]) == 0
    assert np.array_equal(np.load(tmp_path / "s2" / "samples.npz")["images"], arr)  # batch size does not matter
    assert main(["denoise", "--checkpoint", str(run / "model.pt"), "-o", str(tmp_path / "d.png"), "--num", "3",
                 "--device", "cpu", "--split", "test"]) == 0
    assert (tmp_path / "d.png").is_file()


def test_score_run_samples_and_scores_every_checkpoint(tmp_path):
    """act score-run: one sample set and one W1 file per (checkpoint, NFE), equal to act sample's; plots at
    the final checkpoint only; a missing checkpoint is one line and exit 2, nothing written."""
    from act.cli import main

    train(toy_cfg(), tmp_path / "run", progress=False)
    ckpts = [str(tmp_path / "run" / "checkpoints" / f"step-000000{k}.pt") for k in (3, 6)]
    s, m = tmp_path / "samples", tmp_path / "metrics"
    assert main(["score-run", "--checkpoint", *ckpts, "--nfe", "1", "2", "--num", "64", "--samples-dir", str(s),
                 "--metrics-dir", str(m), "--device", "cpu", "--no-progress"]) == 0
    assert sorted(p.name for p in m.iterdir()) == ["step3_nfe1.json", "step3_nfe2.json", "step6_nfe1.json", "step6_nfe2.json"]
    w1 = json.loads((m / "step6_nfe1.json").read_text())
    assert 0 < w1["w1"] and w1["num_samples"] == 64
    assert (s / "step6_nfe1" / "scatter.png").is_file() and not (s / "step3_nfe1" / "scatter.png").exists()
    assert main(["sample", "--checkpoint", ckpts[1], "--out", str(tmp_path / "one"), "--steps", "1", "--num", "64",
                 "--device", "cpu", "--no-progress"]) == 0
    with np.load(s / "step6_nfe1" / "samples.npz") as a, np.load(tmp_path / "one" / "samples.npz") as b:
        assert np.array_equal(a["points"], b["points"])
    assert main(["score-run", "--checkpoint", str(tmp_path / "nope.pt"), "--samples-dir", str(tmp_path / "x"),
                 "--metrics-dir", str(tmp_path / "y")]) == 2
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_ct_configured_as_ict_trains_exactly_as_ict(tmp_path):
    """One consistency method: CT with iCT's settings is iCT, weight for weight."""
    ict = train(toy_cfg("ict"), tmp_path / "ict", progress=False)
    as_ict = toy_cfg("ct", **{"method.distance": "pseudo_huber", "method.s0": 10, "method.s1": 1280,
                              "method.curriculum": "doubling", "method.index_sampling": "lognormal",
                              "method.weighting": "ict", "method.target": "online", "method.eval_ema": 0.99993})
    ct = train(as_ict, tmp_path / "ct", progress=False)
    a, b = load_checkpoint(ict), load_checkpoint(ct)
    assert a["sampling_network"] == b["sampling_network"] == "eval_ema" and set(b["averaged"]) == {"eval_ema"}
    for k, v in a["averaged"]["eval_ema"].items():
        assert torch.equal(v, b["averaged"]["eval_ema"][k]), k
    plain = load_checkpoint(train(toy_cfg("ct"), tmp_path / "plain", progress=False))
    assert set(plain["averaged"]) == {"target"}  # CT's own settings: an EMA teacher, sampled


def test_resolve_device_strict_for_training_lenient_for_metrics():
    from act.devices import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="device .cuda. requested but CUDA is not available"):
            resolve_device("cuda")
        assert resolve_device("cuda:1", strict=False) == torch.device("cuda:1")


def test_the_fast_path_switches_leave_the_maths_alone(tmp_path):
    """train.sync=log reads the same values later (identical weights and log); channels_last changes only the
    memory layout (the same weights up to the convolutions' summation order), in ACT's two networks too."""
    base = ("method.name=act", "method.distance=l2", "model.preset=tiny", "model.discriminator=tiny", "data.name=synthetic",
            "data.resolution=32", "data.options={n: 64, channels: 1}", "train.steps=3", "train.batch_size=4",
            "train.log_every=1", "train.ckpt_every=0", "train.device=cpu", "method.r1_interval=2")
    runs = {}
    for name, extra in (("plain", ()), ("sync_log", ("train.sync=log",)), ("nhwc", ("train.channels_last=true",))):
        out = train(load_config(None, base + extra), tmp_path / name, progress=False)
        runs[name] = (load_checkpoint(out)["networks"], (tmp_path / name / "train_log.jsonl").read_text().splitlines())
    for k in ("generator", "discriminator"):
        a, s, c = (runs[n][0][k] for n in ("plain", "sync_log", "nhwc"))
        assert all(torch.equal(a[p], s[p]) for p in a)
        assert all(torch.allclose(a[p], c[p], rtol=1e-4, atol=1e-5) for p in a)
    strip = lambda lines: [{k: v for k, v in json.loads(l).items() if k != "wall_time"} for l in lines]
    assert strip(runs["plain"][1]) == strip(runs["sync_log"][1]) and "r1" in json.loads(runs["plain"][1][0])


def test_checkpoints_build_from_their_own_network_config(tmp_path, monkeypatch):
    """A checkpoint stores each network's resolved config: an edit of the preset tables after training changes
    nothing it loads (here toy2d's width, which would otherwise fail on the weights' shapes)."""
    from act.networks.presets import DISCRIMINATOR_PRESETS, GENERATOR_PRESETS

    out = train(toy_cfg("act", steps=2, **{"method.distance": "l2", "model.discriminator": "toy2d"}), tmp_path / "r",
                progress=False)
    state = load_checkpoint(out)
    assert set(state["network_configs"]) == {"generator", "discriminator"}
    assert state["network_configs"]["generator"]["preset"] == "toy2d"
    before = load_networks(out, ["generator", "discriminator"])[0]
    monkeypatch.setitem(GENERATOR_PRESETS, "toy2d", {**GENERATOR_PRESETS["toy2d"], "hidden_dim": 7})
    monkeypatch.setitem(DISCRIMINATOR_PRESETS, "toy2d", {**DISCRIMINATOR_PRESETS["toy2d"], "hidden_dim": 7})
    after = load_networks(out, ["generator", "discriminator"])[0]
    for name in ("generator", "discriminator"):
        a, b = before[name].state_dict(), after[name].state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_resume_with_another_log_interval_says_what_its_first_record_averages(tmp_path):
    """train.log_every may change on a resume (it does not change the trajectory): the first record then averages
    another number of steps than its interval, and says how many (steps 3-6 at the new interval 3)."""
    run = tmp_path / "r"
    train(toy_cfg(), run, progress=False)
    (run / "checkpoints" / "step-0000006.pt").unlink()
    (run / "model.pt").unlink()
    train(toy_cfg(**{"train.log_every": 3}), run, progress=False)
    log = {r["step"]: r for r in map(json.loads, (run / "train_log.jsonl").read_text().splitlines())}
    assert sorted(log) == [2, 6] and log[6]["steps_averaged"] == 4 and "steps_averaged" not in log[2]

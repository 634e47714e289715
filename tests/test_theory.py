"""Wasserstein-bound proxies (act.theory, `act theory`): the triangle-inequality bound, W1, Lipschitz, JS, CLI."""

import csv
import json
import math

import numpy as np
import ot
import pytest
import torch
from torch import nn

from act.checkpoint import load_networks
from act.config import load_config
from act.data import sample_toy
from act.parametrization import ConsistencyFunction, boundary_scalings
from act.schedules import karras_sigmas
from act.theory import (
    COLUMNS, TheoryOptions, analyse_checkpoint, build_probe, cumulative_bound, exact_w1,
    jacobian_spectral_norm, js_estimate, lipschitz_at_T, load_probe, measure_timesteps, plot_bound, save_probe,
    sliced_wasserstein,
)
from act.train import train

TOL = 1e-6  # float32 rounding of the network input x0 + eps z (see act.theory.bound)


def small_toy_cfg(steps):
    # s1 = 10 and lr 1e-3: few enough scales that 300 steps visibly move the one-step samples.
    sets = ["method.name=ct", "method.distance=l2", "method.s1=10", "data.name=toy2d",
            "data.options={kind: gaussian_mixture, n: 2048, seed: 0}", "model.preset=toy2d", f"train.steps={steps}",
            "train.batch_size=128", "train.lr=1e-3", "train.log_every=100", "train.ckpt_every=0", "train.device=cpu"]
    return load_config(None, tuple(sets))


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    """(untrained, trained) checkpoints of one toy CT run: same seed, same initial weights."""
    root = tmp_path_factory.mktemp("theory_runs")
    out = {}
    for steps in (0, 300):
        torch.manual_seed(0)  # the initial weights come from the global RNG
        out[steps] = train(small_toy_cfg(steps), root / f"s{steps}", resume=None, progress=False)
    return out[0], out[300]


@pytest.fixture(scope="module")
def toy_probe():
    return build_probe(small_toy_cfg(0).data, 128, seed=0)


OPTS = TheoryOptions(num_scales=25, progress=False, lipschitz_points=8, lipschitz_iters=10)


# --- distances ---------------------------------------------------------------------------------------------

def test_exact_w1_of_itself_is_zero_and_of_a_shift_is_the_shift():
    x = sample_toy("two_moons", 200, seed=3)
    v = torch.tensor([0.3, -0.4])
    assert exact_w1(x, x) == 0.0
    assert exact_w1(x, x + v) == pytest.approx(0.5, abs=1e-6)  # ||v|| = 0.5
    # unequal sizes go through POT's network simplex
    assert exact_w1(x, torch.cat([x, x])) == pytest.approx(0.0, abs=1e-9)
    assert exact_w1(x, torch.cat([x, x]) + v) == pytest.approx(0.5, abs=1e-6)


def test_exact_w1_matches_pot():
    a, b = sample_toy("gaussian_mixture", 60, 1).double().numpy(), sample_toy("gaussian_mixture", 60, 2).double().numpy()
    ref = ot.emd2(np.full(60, 1 / 60), np.full(60, 1 / 60), ot.dist(a, b, metric="euclidean"))
    assert exact_w1(a, b) == pytest.approx(ref, rel=1e-9)


def test_sliced_wasserstein_on_images():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 4, 4, generator=g) * 2 - 1
    y = torch.rand(16, 3, 4, 4, generator=g) * 2 - 1
    assert sliced_wasserstein(x, x) == pytest.approx(0.0, abs=1e-12)
    d = sliced_wasserstein(x, y)
    assert d > 0 and d == sliced_wasserstein(x, y)  # fixed projection seed: reproducible
    assert sliced_wasserstein(x, y, seed=1) != d
    # sliced W1 <= W1: every unit projection is 1-Lipschitz
    assert sliced_wasserstein(x, y, p=1) <= exact_w1(x, y) + 1e-9
    # a constant shift c of every pixel: W2 along theta is |<theta, c 1>|, so SW2 <= ||c 1|| = |c| sqrt(d)
    assert 0 < sliced_wasserstein(x, x + 0.1) <= 0.1 * math.sqrt(48) + 1e-9


# --- Lipschitz, JS, bound arithmetic ------------------------------------------------------------------------

def test_power_iteration_finds_spectral_norm_of_a_linear_map():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(5, 4, generator=g, dtype=torch.float64)
    x = torch.randn(3, 4, generator=g, dtype=torch.float64)
    est = jacobian_spectral_norm(lambda y: y @ A.T, x, iters=50)
    assert torch.allclose(est, torch.linalg.matrix_norm(A, 2).expand(3), rtol=1e-6)


class _LinearBackbone(nn.Module):
    def __init__(self, A):
        super().__init__()
        self.lin = nn.Linear(A.shape[1], A.shape[0], bias=True)
        with torch.no_grad():
            self.lin.weight.copy_(A)
            self.lin.bias.fill_(0.3)  # an offset does not change the Jacobian

    def forward(self, x, c_noise, labels=None):
        return self.lin(x)


def test_lipschitz_of_consistency_function_with_linear_backbone():
    g = torch.Generator().manual_seed(1)
    A = torch.randn(2, 2, generator=g) * 40
    f = ConsistencyFunction(_LinearBackbone(A))
    T = 80.0
    c_skip, c_out, c_in = (float(c) for c in boundary_scalings(torch.tensor(T, dtype=torch.float64)))
    J = c_skip * torch.eye(2, dtype=torch.float64) + c_out * c_in * A.double()  # f(x, T) = J x + const
    out = lipschitz_at_T(f, torch.randn(6, 2, generator=g), T, iters=50)
    assert out["lipschitz_max"] == pytest.approx(float(torch.linalg.matrix_norm(J, 2)), rel=1e-4)
    assert out["lipschitz_mean"] == pytest.approx(out["lipschitz_max"], rel=1e-4)


def test_js_estimate():
    zeros = torch.zeros(10)
    assert js_estimate(zeros, zeros) == 0.0  # D = 0 cannot tell: softplus(0) = log 2
    assert js_estimate(torch.full((10,), 50.0), torch.full((10,), -50.0)) == pytest.approx(math.log(2), abs=1e-12)


def test_cumulative_bound():
    np.testing.assert_allclose(cumulative_bound(np.array([1.0, 2.0, 3.0]), 0.5), [0.5, 1.5, 3.5, 6.5])


# --- the bound on a trained toy model ------------------------------------------------------------------------

def test_bound_dominates_exact_coupled_w1(toy_runs, toy_probe):
    """W1(f_k #, x0 #) <= E||f(x0 + sigma_k z, sigma_k) - x0|| <= B_k at every k, untrained and trained."""
    for path in toy_runs:
        res = analyse_checkpoint(path, toy_probe, torch.device("cpu"), OPTS)
        t, s = res.table, res.summary
        assert len(t["sigma"]) == 25 and s["num_scales"] == 25
        assert np.all(t["w_coupled"] <= t["e_coupled"] + TOL)
        assert np.all(t["e_coupled"] <= t["bound_online"] + TOL)
        assert s["bound_holds"]
        # k = 0: f(x, eps) = x, so the coupled distance is eps ||z|| exactly
        assert t["e_coupled"][0] == pytest.approx(t["bound_online"][0], rel=1e-4)
        assert s["one_step_w_probe"] <= s["one_step_e_coupled"] + TOL <= s["one_step_bound_measured"] + 2 * TOL
        assert s["one_step_bound_holds"]
        assert s["target_pair"] and np.isfinite(t["l_target"][:-1]).all() and np.isnan(t["l_target"][-1])
        assert np.isnan(t["js"]).all() and not s["discriminator"]


def test_coupled_w1_recomputed_independently(toy_runs, toy_probe):
    """The table's w_coupled is POT's exact W1 between f(x0 + sigma_k z, sigma_k) and x0, recomputed here."""
    path = toy_runs[1]
    res = analyse_checkpoint(path, toy_probe, torch.device("cpu"), OPTS)
    net, _, _ = load_networks(path)
    sigmas = karras_sigmas(25)
    x0, z = toy_probe.x0, toy_probe.z
    w = np.full(len(x0), 1 / len(x0))
    for k in (0, 5, 12, 24):
        with torch.no_grad():
            gk = net(x0 + float(sigmas[k]) * z, torch.full((len(x0),), float(sigmas[k]), dtype=torch.float64))
        ref = ot.emd2(w, w, ot.dist(gk.double().numpy(), x0.double().numpy(), metric="euclidean"))
        assert res.table["w_coupled"][k] == pytest.approx(ref, rel=1e-6, abs=1e-9)
        assert ref <= res.table["bound_online"][k] + TOL


def test_one_step_w1_improves_with_training(toy_runs, toy_probe):
    before, after = (analyse_checkpoint(p, toy_probe, torch.device("cpu"), OPTS).summary for p in toy_runs)
    assert after["one_step_w_independent"] < 0.9 * before["one_step_w_independent"]
    assert after["one_step_w_probe"] < 0.9 * before["one_step_w_probe"]
    assert after["step"] == 300 and before["step"] == 0
    assert after["lipschitz_max"] > 0 and after["lipschitz_mean"] <= after["lipschitz_max"]


def test_discriminator_js_per_sigma(toy_probe, tmp_path):
    """An ACT checkpoint gets a JS column (its discriminator rebuilt as training built it); <= log 2 for any D."""
    cfg = load_config(None, ("method.name=act", "method.distance=l2", "method.s1=10", "data.name=toy2d",
                             "data.options={kind: gaussian_mixture, n: 2048, seed: 0}", "model.preset=toy2d",
                             "train.steps=3", "train.batch_size=32", "train.ckpt_every=0", "train.device=cpu"))
    assert cfg.model.discriminator is None  # ACT falls back to the generator's preset
    path = train(cfg, tmp_path / "act", resume=None, progress=False)
    res = analyse_checkpoint(path, toy_probe, torch.device("cpu"), OPTS)
    js = res.table["js"]
    assert res.summary["discriminator"] and np.isfinite(js).all() and np.all(js <= math.log(2) + 1e-12)
    assert plot_bound(res, tmp_path / "with_d.png").stat().st_size > 0  # the JS curve on its own axis
    assert np.isfinite(res.table["logit_gap"]).all() and res.summary["logit_gap_mean"] is not None


def test_discriminator_js_and_logit_gap_of_known_discriminators(toy_probe):
    """D = +c on reals and -c on fakes: gap 2c and JS log 2 - softplus(-c); a constant D: gap 0 and JS 0."""
    from act.theory.bound import discriminator_js

    class Known(torch.nn.Module):  # tells the probe's reals (x_indep) from anything else by identity
        def __init__(self, reals, c):
            super().__init__()
            self.reals, self.c = reals, c

        def forward(self, x, sigma, labels=None):
            is_real = (x[:, None, :] == self.reals[None]).all(-1).any(1)
            return torch.where(is_real, self.c, -self.c).float()

    fakes = toy_probe.x0 + 0.5
    js, gap = discriminator_js(Known(toy_probe.x_indep, 3.0), toy_probe, fakes, 1.0, 64, torch.device("cpu"))
    assert gap == pytest.approx(6.0) and js == pytest.approx(math.log(2) - math.log1p(math.exp(-3.0)))
    js0, gap0 = discriminator_js(Known(toy_probe.x_indep, 0.0), toy_probe, fakes, 1.0, 64, torch.device("cpu"))
    assert gap0 == 0.0 and js0 == pytest.approx(0.0, abs=1e-12)


# --- probes -------------------------------------------------------------------------------------------------

def test_probe_is_fixed_held_out_and_round_trips(tmp_path, toy_probe):
    again = build_probe(small_toy_cfg(0).data, 128, seed=0)
    assert torch.equal(again.x0, toy_probe.x0) and torch.equal(again.z, toy_probe.z)
    train_data = sample_toy("gaussian_mixture", 2048, 0)
    assert not torch.equal(toy_probe.x0, train_data[:128]) and not torch.equal(toy_probe.x0, toy_probe.x_indep)
    save_probe(toy_probe, tmp_path / "p.pt")
    back = load_probe(tmp_path / "p.pt")
    assert torch.equal(back.x_indep, toy_probe.x_indep) and back.meta == toy_probe.meta


def test_image_probe_and_sliced_timesteps(fmnist_root):
    cfg = load_config(None, (f"data.root={fmnist_root}",))
    probe = build_probe(cfg.data, 8, seed=0)
    assert probe.x0.shape == (8, 1, 32, 32) and probe.meta["split"] == "test" and probe.meta["heldout"]
    assert probe.labels is not None and probe.labels.shape == (8,)

    class Conv(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x, c_noise, labels=None):
            return self.conv(x)

    torch.manual_seed(0)
    f = ConsistencyFunction(Conv())
    t = measure_timesteps({"generator": f}, "generator", probe, karras_sigmas(6), batch_size=3, progress=False)
    assert np.all(t["e_coupled"] <= t["bound_online"] + TOL)
    assert np.isfinite(t["w_coupled"]).all() and np.isfinite(t["w_independent"]).all()
    assert np.isnan(t["l_target"]).all()  # no target network


# --- the command --------------------------------------------------------------------------------------------

def test_cli_writes_reports(toy_runs, tmp_path):
    from act.cli import main

    out = tmp_path / "theory"
    args = ["theory", "--checkpoint", str(toy_runs[1]), "--checkpoint", str(toy_runs[0]).replace("model.pt", "checkpoints/step-0000000.pt"),
            "--out", str(out), "--num-probe", "64", "--num-scales", "12", "--device", "cpu", "--lipschitz-points", "4",
            "--lipschitz-iters", "5", "--no-progress"]
    assert main(args) == 0
    with open(out / "model.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0].keys()) == COLUMNS and len(rows) == 12
    assert rows[-1]["l_online"] == "" and rows[0]["js"] == ""
    summary = json.loads((out / "model.json").read_text())
    for key in ("one_step_w_independent", "one_step_w_probe", "lipschitz_max", "lipschitz_mean", "eps_term",
                "num_scales", "step", "final_bound_online", "git_commit"):
        assert key in summary, key
    assert summary["num_scales"] == 12 and summary["step"] == 300 and summary["bound_holds"]
    for name in ("model.png", "step-0000000.png", "over_training.png", "probe.pt"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    with open(out / "over_training.csv") as fh:
        steps = [int(r["step"]) for r in csv.DictReader(fh)]
    assert steps == [0, 300]
    # a second invocation reuses the saved probe and reproduces the numbers
    first = (out / "model.csv").read_text()
    assert main(args) == 0
    assert (out / "model.csv").read_text() == first
    assert main(args[:-1] + ["--seed", "1", "--no-progress"]) == 2  # the probe there has another seed: one line

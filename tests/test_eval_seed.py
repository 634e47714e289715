"""Evaluation draws per run: act score-run's --eval-seed (sampling seeds, the toy reference set), the trivial
references of toy W1 (data floor, moment-matched Gaussian, point mass) and act theory's default probe seed."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from act.config import load_config
from act.io import write_npz
from act.metrics.toy import data_moments, eval_references, pointmass_w1, reference_seeds, toy_w1
from act.rng import EVAL_SEED_STRIDE
from act.theory.wasserstein import exact_w1
from act.train import train

REPO = Path(__file__).resolve().parents[1]

# --- the references of toy W1 ---------------------------------------------------------------------------------

def test_references_on_the_mixture_order_and_values():
    """8 Gaussians, n = 1000: a second data set ~0.04 (0.026-0.073 over eval seeds 0-29), the moment-matched
    Gaussian ~0.27 (0.258-0.284), the collapse onto the mean ~0.705 (the modes' radius, 0.7036)."""
    r = eval_references("gaussian_mixture", 1000, 0)
    assert r.w1_data_floor < r.w1_gaussian < r.w1_pointmass
    assert 0.02 < r.w1_data_floor < 0.09
    assert 0.24 < r.w1_gaussian < 0.31
    assert 0.69 < r.w1_pointmass < 0.72


def test_pointmass_is_the_exact_w1_to_n_copies_of_the_mean_and_the_mean_distance():
    r = eval_references("gaussian", 1000, 0)
    # data N(0, 0.25 I): E||x|| = 0.5 sqrt(pi / 2) = 0.627; the mean of 1000 distances has std 0.010
    assert r.w1_pointmass == pytest.approx(0.5 * math.sqrt(math.pi / 2), abs=0.04)
    small = eval_references("two_moons", 200, 3)
    mean = data_moments("two_moons")[0]
    assert small.w1_pointmass == pytest.approx(exact_w1(np.tile(mean, (200, 1)), small.ref), rel=1e-9)
    assert pointmass_w1(np.array([[3.0, 4.0], [0.0, 0.0]]), np.zeros(2)) == 2.5


def test_moments_exact_for_the_gaussian_and_estimated_close_for_the_mixture():
    mean, cov, how = data_moments("gaussian")
    assert how == "exact" and np.array_equal(mean, np.zeros(2)) and np.array_equal(cov, 0.25 * np.eye(2))
    mean, cov, how = data_moments("gaussian_mixture")  # exactly (0, 0.25 I) by symmetry and sigma_data
    assert how.startswith("estimated") and np.abs(mean).max() < 0.005 and np.abs(cov - 0.25 * np.eye(2)).max() < 0.005


def test_moment_matched_gaussian_of_the_gaussian_kind_is_within_the_floors_spread():
    """For kind gaussian the moment-matched Gaussian is the data distribution: its W1 is a data floor. The same
    check on the mixture fails by far (the test can fail)."""
    def spread(kind):
        refs = [eval_references(kind, 500, s) for s in range(6)]
        floors = np.array([r.w1_data_floor for r in refs])
        gauss = np.array([r.w1_gaussian for r in refs])
        lo, hi = floors.min() - 2 * floors.std(ddof=1), floors.max() + 2 * floors.std(ddof=1)
        return bool(((gauss > lo) & (gauss < hi)).all()), abs(gauss.mean() - floors.mean()) / floors.std(ddof=1)

    inside, z = spread("gaussian")
    assert inside and z < 2
    inside, z = spread("gaussian_mixture")
    assert not inside and z > 10


def test_same_eval_seed_same_numbers_other_seed_other_sets():
    a = eval_references("gaussian_mixture", 300, 2)
    assert eval_references("gaussian_mixture", 300, 2) is a  # cached within the process
    eval_references.cache_clear()
    again = eval_references("gaussian_mixture", 300, 2)
    assert again is not a and np.array_equal(again.ref, a.ref) and again[1:] == a[1:]
    b = eval_references("gaussian_mixture", 300, 3)
    assert not np.array_equal(a.ref, b.ref)
    assert a.w1_data_floor != b.w1_data_floor and a.w1_gaussian != b.w1_gaussian
    assert len({*reference_seeds(2), *reference_seeds(3)}) == 6  # reference, floor and Gaussian draws all differ
    assert not a.ref.flags.writeable  # callers share the cached array


def test_toy_w1_reports_the_references_of_its_eval_seed(tmp_path):
    points = np.random.default_rng(0).normal(size=(100, 2)) * 0.5
    write_npz(tmp_path / "samples.npz", points=points)
    out = toy_w1(tmp_path / "samples.npz", kind="gaussian_mixture", seed=4)
    refs = eval_references("gaussian_mixture", 100, 4)
    assert out["w1"] == pytest.approx(exact_w1(points, refs.ref))
    assert (out["eval_seed"], out["w1_gaussian"], out["w1_pointmass"]) == (4, refs.w1_gaussian, refs.w1_pointmass)
    assert out["ref_seed"] == refs.ref_seed and out["gaussian_seed"] == refs.gaussian_seed


# --- act score-run and act theory on two runs of different training seeds ----------------------------------

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny CT runs on the mixture, training seeds 0 and 1 (3 steps each)."""
    root = tmp_path_factory.mktemp("evalseed")
    out = {}
    for seed in (0, 1):
        cfg = load_config(REPO / "config/train/ct_toy2d.yaml", (
            f"train.seed={seed}", "train.steps=3", "train.batch_size=16", "train.ckpt_every=0", "train.device=cpu",
            "data.options={kind: gaussian_mixture, n: 512, seed: 0}"))
        out[seed] = train(cfg, root / f"s{seed}", progress=False)
    return out


def score(main, ckpt, out, *extra):
    assert main(["score-run", "--checkpoint", str(ckpt), "--nfe", "1", "--num", "64", "-o", str(out), "--device", "cpu",
                 "--plots", "none", "--no-progress", *extra]) == 0
    step = json.loads((out / "samples" / "step3_nfe1" / "sample.json").read_text())
    metrics = json.loads((out / "metrics" / "step3_nfe1.json").read_text())
    with np.load(out / "samples" / "step3_nfe1" / "samples.npz") as f:
        return step, metrics, f["points"]


def test_score_run_draws_each_runs_evaluation_from_its_training_seed(runs, tmp_path):
    from act.cli import main

    meta0, m0, p0 = score(main, runs[0], tmp_path / "r0")
    meta1, m1, p1 = score(main, runs[1], tmp_path / "r1")
    assert (meta0["eval_seed"], meta0["seed"], m0["eval_seed"], m0["sample_seed"]) == (0, 0, 0, 0)
    assert (meta1["eval_seed"], meta1["seed"], m1["eval_seed"], m1["sample_seed"]) == (1, EVAL_SEED_STRIDE, 1, EVAL_SEED_STRIDE)
    assert m0["ref_seed"] != m1["ref_seed"] and m0["w1_data_floor"] != m1["w1_data_floor"]
    for m in (m0, m1):
        assert m["w1_data_floor"] < m["w1_gaussian"] < m["w1_pointmass"]
    # eval seed 0 is what act sample draws; run 1 scored at eval seed 0 shares run 0's reference set
    assert main(["sample", "--checkpoint", str(runs[0]), "-o", str(tmp_path / "plain"), "--num", "64", "--steps", "1",
                 "--device", "cpu", "--no-progress"]) == 0
    with np.load(tmp_path / "plain" / "samples.npz") as f:
        assert np.array_equal(f["points"], p0)
    meta, m, p = score(main, runs[1], tmp_path / "r1e0", "--eval-seed", "0")
    assert (m["ref_seed"], m["w1_data_floor"], m["w1_gaussian"]) == (m0["ref_seed"], m0["w1_data_floor"], m0["w1_gaussian"])
    assert not np.array_equal(p, p1)  # another eval seed, another sample set of the same network
    # the same run and eval seed again: the same numbers
    assert score(main, runs[1], tmp_path / "r1again")[1]["w1"] == m1["w1"]


def test_score_run_rejects_bad_eval_draws_in_one_line(runs, tmp_path, capsys):
    from act.cli import main

    for extra, words in ((["--eval-seed", "-1"], "--eval-seed must be a non-negative"),
                         (["--num", str(EVAL_SEED_STRIDE)], "EVAL_SEED_STRIDE")):
        assert main(["score-run", "--checkpoint", str(runs[0]), "-o", str(tmp_path / "bad"), "--device", "cpu",
                     "--no-progress", *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_theory_probe_seed_defaults_to_the_training_seed(runs, tmp_path, capsys):
    from act.cli import main
    from act.theory import load_probe

    args = ["--num-probe", "16", "--num-scales", "4", "--lipschitz-points", "2", "--lipschitz-iters", "2",
            "--plots", "none", "--device", "cpu", "--no-progress"]
    for seed in (0, 1):
        assert main(["theory", "--checkpoint", str(runs[seed]), "-o", str(tmp_path / f"t{seed}"), *args]) == 0
        assert load_probe(tmp_path / f"t{seed}" / "probe.pt").meta["seed"] == seed
    assert main(["theory", "--checkpoint", str(runs[1]), "-o", str(tmp_path / "t1"), "--seed", "0", *args]) == 2
    assert "seed 1" in capsys.readouterr().err  # the probe there is the default's, seed 1

"""The image experiment on the CPU (config/images_cpu.yaml): its metrics, its claims rows and its CI-sized run.

- the moment-matched Gaussian of images (S1's reference for ``classifier_fd``) has the reference's moments;
- ``classifier_fd_gaussian`` is scored on the run's draws, and real images beat it;
- ``act claims --metric`` picks the column, and S1 then reads the Gaussian's column;
- Inception metrics on a subsample (``inception_num``) or not at all;
- the micro presets at 16 px; the classifier at the experiment's resolution;
- config/images_cpu.yaml plans every arm with three seeds; config/images_cpu_ci.yaml runs end to end (slow).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from act.errors import ConfigError
from act.metrics.classifier import (ClassifierConfig, build_classifier, classifier_metrics,
                                    moment_matched_gaussian)
from act.report import verdicts as V
from act.report.aggregate import complete
from act.report.claim_rows import quality_metric
from act.report.claims import claims_table

REPO = Path(__file__).resolve().parents[1]
HAVE_SNAKEMAKE = shutil.which("snakemake", path=str(Path(sys.executable).parent)) is not None


def snakemake(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Snakemake of this interpreter's environment in the repository root (its rules call this `act`)."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    # --nolock: the tests run workflows side by side in one working directory (their results folders differ);
    # snakemake's locks there race (one run's clean-up removed .snakemake/locks under another's feet)
    return subprocess.run([bin_dir + "/snakemake", "--nolock", *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=timeout)


def blobs(n: int, seed: int, side: int = 16) -> np.ndarray:
    """uint8 (n, side, side, 1) images: a bright ellipse of random size and place on black, and a black
    border of 2 pixels (constant pixels, as the padded Fashion-MNIST has)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    out = np.zeros((n, side, side, 1), np.uint8)
    for i in range(n):
        cy, cx = rng.uniform(6, side - 6, 2)
        ry, rx = rng.uniform(2, 4, 2)
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        out[i, inside, 0] = rng.integers(150, 256)
    out[:, :2] = 0
    out[:, -2:] = 0
    return out


# ----------------------------------------------------------------------------- the Gaussian reference
def test_moment_matched_gaussian_has_the_references_moments():
    # mid-grey images with smooth (correlated) noise: the Gaussian seldom leaves [0, 255], so clipping does not
    # move its moments; a black border of 2 pixels: constant pixels (a singular covariance) stay constant
    rng = np.random.default_rng(0)
    smooth = rng.normal(size=(4000, 1, 8, 8)).repeat(2, axis=2).repeat(2, axis=3)
    ref = np.clip(128 + 25 * smooth + 5 * rng.normal(size=(4000, 1, 16, 16)), 0, 255).astype(np.uint8)
    ref = ref.transpose(0, 2, 3, 1).copy()
    ref[:, :2] = 0
    ref[:, -2:] = 0
    g = moment_matched_gaussian(ref, 20000, seed=1)
    assert g.dtype == np.uint8 and g.shape == (20000, 16, 16, 1)
    x, y = ref.reshape(len(ref), -1).astype(float), g.reshape(len(g), -1).astype(float)
    assert (y[:, x.std(axis=0) == 0] == 0).all()
    assert np.abs(y.mean(axis=0) - x.mean(axis=0)).max() < 1.5  # standard error ~0.25 per pixel
    cx, cy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    assert np.linalg.norm(cy - cx) / np.linalg.norm(cx) < 0.05
    assert (moment_matched_gaussian(ref, 10, seed=1) == g[:10]).all()  # image i depends on (seed, i) only
    assert not (moment_matched_gaussian(ref, 10, seed=2) == g[:10]).all()


def test_classifier_fd_gaussian_on_the_runs_draws():
    torch.manual_seed(0)
    cfg = ClassifierConfig(channels=1, resolution=16, width=8, feature_dim=32)
    net = build_classifier(cfg).eval()
    ref, same, other = blobs(1500, 0), blobs(1500, 1), np.full((1500, 16, 16, 1), 128, np.uint8)
    m = classifier_metrics(net, cfg, same, ref, gaussian_seed=7)
    assert m["gaussian_seed"] == 7 and math.isfinite(m["classifier_fd_gaussian"])
    # samples of the data beat the Gaussian with its moments; a flat grey image set loses to it
    assert m["classifier_fd"] < m["classifier_fd_gaussian"]
    flat = classifier_metrics(net, cfg, other, ref, gaussian_seed=7)
    assert flat["classifier_fd"] > flat["classifier_fd_gaussian"]
    assert flat["classifier_fd_gaussian"] == m["classifier_fd_gaussian"]  # the same draws: the same reference value
    assert "classifier_fd_gaussian" not in classifier_metrics(net, cfg, same, ref)
    assert classifier_metrics(net, cfg, ref, ref)["classifier_fd"] == pytest.approx(0.0, abs=1e-6)


# ----------------------------------------------------------------------------- the claims metric
def image_summary(ct_fd, act_fd, gauss=1.0, seeds=(0, 1, 2)):
    """Final rows of CT b32 / b128 and ACT b32 scored by classifier_fd (and a noisy FID)."""
    rows = []
    for arm, name, lam, b, steps, value in (("ct", "ct", math.nan, 32, 2500, ct_fd), ("ct", "ct", math.nan, 128, 2500,
                                            ct_fd - 0.5), ("act", "act", 0.3, 32, 1600, act_fd)):
        for s in seeds:
            noise = 0.02 * np.random.default_rng(s + 10 * b).normal()
            for nfe in (1, 2):
                rows.append({"dataset": "fashion_mnist", "method": arm, "method_name": name, "lambda_max": lam,
                             "batch": b, "seed": s, "ckpt_step": steps, "nfe": nfe, "final": True,
                             "train_steps": steps, "classifier_fd": value + noise,
                             "classifier_fd_gaussian": gauss + 0.01 * s, "fid": 100 + 50 * s,
                             "train_flops": steps * 1e9 * b * (1.5 if name == "act" else 1.0),
                             "images_per_step": b * (2 if name == "act" else 1)})
    df = pd.DataFrame(rows)
    df["nfe"] = df["nfe"].astype("Int64")
    return complete(df)  # as read_summary gives it


def test_claims_metric_and_its_s1_rows():
    df = image_summary(ct_fd=0.6, act_fd=0.4)
    t = claims_table(df, metrics={"fashion_mnist": "classifier_fd"})
    s1 = t[t["claim"] == "S1"]
    assert set(s1["metric"]) == {"classifier_fd"} and len(s1) == 6  # 3 groups x 2 NFEs
    assert set(s1["verdict"]) == {V.HOLDS}
    c1 = t[(t["claim"] == "C1a") & (t["nfe"] == 1)].iloc[0]
    assert c1["metric"] == "classifier_fd" and c1["verdict"] == V.HOLDS
    # without --metric: FID, which has no Gaussian reference (no S1 row) and here a spread too wide to decide
    t_fid = claims_table(df)
    assert not (t_fid["claim"] == "S1").any()
    assert t_fid[(t_fid["claim"] == "C1a") & (t_fid["nfe"] == 1)].iloc[0]["verdict"] == V.INCONCLUSIVE


def test_a_baseline_worse_than_the_image_gaussian_voids_the_comparison():
    t = claims_table(image_summary(ct_fd=1.5, act_fd=0.4), metrics={"fashion_mnist": "classifier_fd"})
    c1 = t[(t["claim"] == "C1a") & (t["nfe"] == 1)].iloc[0]
    assert c1["verdict"] == V.FAILED_BASELINE and "moment-matched Gaussian" in c1["baseline"]


def test_claims_metric_errors_name_the_fix():
    df = image_summary(ct_fd=0.6, act_fd=0.4)
    with pytest.raises(ConfigError, match="not one of"):
        quality_metric(df, "inception_score")
    with pytest.raises(ConfigError, match="was not measured"):
        quality_metric(df.drop(columns=["classifier_fd"]), "classifier_fd")
    assert quality_metric(df, "classifier_fd") == ("classifier_fd", True)
    assert quality_metric(df) == ("fid", True)


def test_cli_claims_metric_option(tmp_path):
    from act.cli import main

    image_summary(ct_fd=0.6, act_fd=0.4).to_csv(tmp_path / "summary.csv", index=False)
    assert main(["claims", "--summary", str(tmp_path / "summary.csv"), "--metric", "fashion_mnist=classifier_fd",
                 "--out", str(tmp_path / "out")]) == 0
    rows = json.loads((tmp_path / "out" / "claims.json").read_text())["rows"]
    assert {r["metric"] for r in rows if r["claim"] == "S1"} == {"classifier_fd"}
    # a user's mistake: one line, exit 2, nothing written
    assert main(["claims", "--summary", str(tmp_path / "summary.csv"), "--metric", "fashion_mnist",
                 "--out", str(tmp_path / "bad")]) == 2
    assert main(["claims", "--summary", str(tmp_path / "summary.csv"), "--metric", "fashion_mnist=w1",
                 "--out", str(tmp_path / "bad")]) == 2  # a column this summary does not have
    assert main(["claims", "--summary", str(tmp_path / "summary.csv"), "--metric", "fashion_mnst=classifier_fd",
                 "--out", str(tmp_path / "bad")]) == 2  # a dataset this summary does not have (a typo)
    assert not (tmp_path / "bad").exists()


# ----------------------------------------------------------------------------- Inception on a subsample
def test_inception_on_a_subsample_or_not_at_all(tmp_path, monkeypatch):
    from act.metrics import evaluation

    seen = []

    def fake(opts, samples, ref_images, stats, device):
        seen.append(len(samples))
        return {"fid": 1.0, "kid_mean": 0.0, "kid_std": 0.0, "precision": 1.0, "recall": 1.0,
                "inception_score": {"value": None}}, None, {"cache_file": None, "from_cache": None,
                                                            "seconds": None}, "eager", (0.1, 0.0, 0.0)

    monkeypatch.setattr(evaluation, "_inception_metrics", fake)
    np.savez(tmp_path / "s.npz", images=blobs(40, 3))
    np.savez(tmp_path / "r.npz", images=blobs(30, 4))
    opts = dict(samples=str(tmp_path / "s.npz"), reference=str(tmp_path / "r.npz"), progress=False)
    assert evaluation.evaluate(evaluation.EvalOptions(**opts))["num_inception"] == 40
    assert evaluation.evaluate(evaluation.EvalOptions(**opts, inception_num=12))["num_inception"] == 12
    none = evaluation.evaluate(evaluation.EvalOptions(**opts, inception_num=0))
    assert seen == [40, 12] and none["fid"] is None and none["num_inception"] == 0 and none["num_samples"] == 40
    with pytest.raises(ValueError, match="inception_num"):
        evaluation.evaluate(evaluation.EvalOptions(**opts, inception_num=-1))


def test_cli_negative_inception_num_is_a_users_mistake(tmp_path, capsys):
    from act.cli import main

    np.savez(tmp_path / "s.npz", images=blobs(4, 3))
    assert main(["evaluate", "--samples", str(tmp_path / "s.npz"), "--dataset", "fashion_mnist", "--inception-num",
                 "-1", "-o", str(tmp_path / "m.json")]) == 2
    (tmp_path / "model.pt").write_bytes(b"")  # exists: the option itself is the mistake, caught before the file is read
    assert main(["score-run", "--checkpoint", str(tmp_path / "model.pt"), "--inception-num", "-1",
                 "-o", str(tmp_path / "out")]) == 2
    assert "--inception-num -1" in capsys.readouterr().err
    assert main(["evaluate", "--samples", str(tmp_path / "s.npz"), "--dataset", "fashion_mnist", "--eval-seed", "3",
                 "-o", str(tmp_path / "m.json")]) == 2  # it seeds the classifier's Gaussian: no classifier, no use
    assert "--eval-seed draws classifier_fd_gaussian, which needs --classifier" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- networks and classifier at 16 px
def test_micro_presets_at_16_px():
    from act.networks.build import build_discriminator, build_generator
    from act.networks.presets import DISCRIMINATOR_PRESETS, GENERATOR_PRESETS

    gen, disc = build_generator("micro"), build_discriminator("micro")
    x, sigma = torch.randn(3, 1, 16, 16), torch.tensor([0.5, 5.0, 80.0])
    assert gen(x, sigma).shape == x.shape
    assert disc(x, sigma).reshape(3, -1).shape[0] == 3
    tiny = sum(p.numel() for p in build_generator("tiny").parameters())
    assert GENERATOR_PRESETS["micro"]["sample_size"] == DISCRIMINATOR_PRESETS["micro"]["sample_size"] == 16
    assert sum(p.numel() for p in gen.parameters()) < tiny / 3


def test_classifier_trains_at_the_experiments_resolution(monkeypatch):
    from act.data.synthetic import load_synthetic
    from act.metrics import classifier, reference

    opened = []

    def fake_open(name, root=None, split="train", resolution=None):
        opened.append((split, resolution))
        return load_synthetic(split=split, resolution=resolution, channels=1, n=64, num_classes=10)

    monkeypatch.setattr(reference, "open_dataset", fake_open)
    net, cfg, metrics = classifier.train_classifier(ClassifierConfig(data_resolution=16, steps=2, batch_size=8,
                                                                     width=8))
    assert cfg.resolution == 16 and opened == [("train", 16), ("test", 16)]


def test_moment_images_are_disjoint_from_the_reference(monkeypatch):
    from act.data.synthetic import load_synthetic
    from act.metrics import reference

    monkeypatch.setattr(reference, "open_dataset", lambda name, root=None, split="train", resolution=None:
                        load_synthetic(split=split, resolution=8, channels=1, n=100, seed=5))
    reference.moment_images.cache_clear()
    ref, _ = reference.load_reference_images("synthetic", num=30, seed=0)
    rest, how = reference.moment_images("synthetic", num=30, seed=0)
    assert len(rest) == 70 and "outside the reference subset" in how
    whole, _ = reference.load_reference_images("synthetic")
    keys = {im.tobytes() for im in whole}
    assert {im.tobytes() for im in ref} | {im.tobytes() for im in rest} == keys  # together: the split
    assert not {im.tobytes() for im in ref} & {im.tobytes() for im in rest}  # disjoint
    all_of_it, how = reference.moment_images("synthetic", num=None, seed=0)
    assert len(all_of_it) == 100 and "the reference split itself" in how
    reference.moment_images.cache_clear()


# ----------------------------------------------------------------------------- the experiment
def test_images_cpu_config_plans_every_arm_with_three_seeds():
    from act.plan.experiment import cost_jobs, parse_experiment

    exp = parse_experiment(REPO / "config" / "images_cpu.yaml")
    ds = exp.datasets["fashion_mnist"]
    assert list(ds.seeds) == [0, 1, 2]
    assert {a: sorted(ds.batches(a)) for a in ds.methods} == {
        "ct": [32, 128], "act": [32], "actnoadv": [32], "actsmall": [16], "ict": [32]}
    assert ds.budget_of("actsmall").steps < ds.budget.steps / 2  # C2: under half of CT's steps
    assert ds.budget.kind == "reference" and ds.budget.method == "ct" and ds.budget.batch is None
    assert {(j["method"], j["batch"]) for j in cost_jobs(exp)} == set(ds.pairs())
    cfg = yaml.safe_load((REPO / "config" / "images_cpu.yaml").read_text())["datasets"]["fashion_mnist"]
    assert cfg["claims"]["metric"] == "classifier_fd" and cfg["classifier"]["enabled"]


@pytest.mark.skipif(not HAVE_SNAKEMAKE, reason="no snakemake")
def test_a_claims_metric_that_will_not_be_measured_stops_the_workflow_at_once(tmp_path):
    cfg = yaml.safe_load((REPO / "config" / "images_cpu_ci.yaml").read_text())
    cfg["datasets"]["fashion_mnist"]["classifier"]["enabled"] = False
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake("-n", "--configfile", str(tmp_path / "bad.yaml"), "--config", f"results_dir={tmp_path}")
    assert res.returncode != 0
    assert "claims.metric is classifier_fd: classifier_fd needs the classifier" in res.stdout + res.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_SNAKEMAKE, reason="no snakemake")
def test_images_cpu_ci_end_to_end(tmp_path):
    """config/images_cpu_ci.yaml (the image experiment at a few steps) from costs to claims."""
    res = snakemake("--cores", "2", "--configfile", "config/images_cpu_ci.yaml", "--config",
                    f"results_dir={tmp_path}", f"reference_cache={tmp_path / 'cache'}", timeout=900)
    assert res.returncode == 0, res.stderr[-5000:]
    exp = tmp_path / "images_cpu_ci"
    budget = json.loads((exp / "budget.json").read_text())
    assert {(r["method"], r["batch"]) for r in budget["runs"]} == {
        ("ct", 32), ("ct", 128), ("act", 32), ("actnoadv", 32), ("actsmall", 16), ("ict", 32)}
    s = pd.read_csv(exp / "summary.csv")
    assert s["classifier_fd"].notna().all() and s["classifier_fd_gaussian"].notna().all()
    final = s[s["final"].astype(bool)]
    assert final["fid"].notna().all() and s.loc[~s["final"].astype(bool), "fid"].isna().all()  # Inception: final only
    run = exp / "metrics" / "fashion_mnist" / "ct" / "b32" / "s0"
    points = {p.stem: json.loads(p.read_text()) for p in run.glob("step*_nfe*.json")}
    final = max(int(k.split("_")[0][4:]) for k in points)
    for name, m in points.items():
        assert m["num_samples"] == 64 and m["num_inception"] == (16 if name.startswith(f"step{final}_") else 0), name
        assert m["gaussian_moments"].endswith("outside the reference subset")
    claims = json.loads((exp / "claims.json").read_text())["rows"]
    fm = [r for r in claims if r["dataset"] == "fashion_mnist"]
    assert {r["metric"] for r in fm if r["claim"] in ("S1", "P1", "C1a", "C2", "C7")} == {"classifier_fd"}
    assert {r["claim"] for r in fm} >= {"S1", "P1", "C1a", "C1b", "C2", "C4", "C5a", "C5b", "C7"}
    c2 = [r for r in fm if r["claim"] == "C2"]
    assert c2 and all(re.search(r"ACT-small b16", r["scale"]) for r in c2)
    summary = yaml.safe_load((exp / "configs" / "fashion_mnist" / "ct" / "b32" / "s0.yaml").read_text())
    assert summary["data"]["resolution"] == 16 and summary["method"]["s1"] == 30 and summary["method"]["mu0"] == 0.5
    assert summary["model"]["preset"] == "micro" and summary["train"]["lr"] == 1.5e-3
    ict = yaml.safe_load((exp / "configs" / "fashion_mnist" / "ict" / "b32" / "s0.yaml").read_text())
    assert ict["method"]["s1"] == 256
    assert (exp / "claims.md").is_file() and (exp / "figures").is_dir()

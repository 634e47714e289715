"""Bad input, across every `act` subcommand and the workflow's config schema: one line naming what is wrong
and how to fix it, exit status 2, and nothing written.

Each case runs `act` in this process (``act.cli.main``) with the working directory set to an empty
folder that holds only the case's inputs, and compares that folder before and after.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from act.cli import main

REPO = Path(__file__).resolve().parents[1]
TOY = str(REPO / "config/train/ct_toy2d.yaml")
ACT_TOY = str(REPO / "config/train/act_toy2d.yaml")
FMNIST = str(REPO / "config/train/ct_fashion_mnist_tiny.yaml")
EXPERIMENT = str(REPO / "config/ci.yaml")
QUICK = ["--set", "train.steps=2", "--no-progress"]


def _inputs(d: Path) -> None:
    """The files the cases point at: a YAML syntax error, a corrupt and a foreign checkpoint, a text file
    called .npz, an npz without images, a summary CSV, a folder that is not an experiment."""
    (d / "broken.yaml").write_text("train:\n  steps: [1, 2\n")
    noise = random.Random(0)
    (d / "corrupt.pt").write_bytes(noise.randbytes(256))
    torch.save({"weights": torch.zeros(2)}, d / "foreign.pt")
    (d / "text.npz").write_text("not an npz\n")
    np.savez(d / "noimages.npz", labels=np.zeros(3))
    np.savez(d / "good.npz", images=np.zeros((4, 32, 32, 1), np.uint8))
    (d / "empty_dir").mkdir()
    (d / "summary.csv").write_text("dataset,method\n")
    (d / "official.ckpt").write_bytes(noise.randbytes(64))


# (id, argv, a fragment the one line must contain)
CASES = [
    # act train: config files and values
    ("train-missing-config", ["train", "-c", "nope.yaml", "-o", "run"], "nope.yaml does not exist"),
    ("train-yaml-syntax", ["train", "-c", "broken.yaml", "-o", "run"], "not valid YAML at line"),
    ("train-unknown-key", ["train", "-c", TOY, "-o", "run", "--set", "train.stepz=3"], "unknown key(s) ['stepz']"),
    ("train-wrong-type", ["train", "-c", TOY, "-o", "run", "--set", "train.steps=abc"], "train.steps: expected int"),
    ("train-not-a-number", ["train", "-c", TOY, "-o", "run", "--set", "train.lr=fast"], "train.lr: expected a number"),
    # every choice and cross-field rule is checked when the config loads, before any data or network is built
    ("train-bad-distance", ["train", "-c", TOY, "-o", "run", "--set", "method.distance=foo"],
     "unknown method.distance 'foo'; choose from"),
    ("train-bad-augment-pipeline", ["train", "-c", ACT_TOY, "-o", "run", "--set", "method.augment_pipeline=zzz"],
     "unknown method.augment_pipeline 'zzz'; choose from"),
    ("train-bad-preset", ["train", "-c", TOY, "-o", "run", "--set", "model.preset=nonexistent"],
     "unknown model.preset 'nonexistent'; choose from"),
    ("train-bad-data-name", ["train", "-c", TOY, "-o", "run", "--set", "data.name=nothing", "--set", "data.options={}"],
     "unknown data.name 'nothing'; choose from"),
    ("train-two-sources-of-eps", ["train", "-c", TOY, "-o", "run", "--set", "noise.sigma_min=0.01",
                                  "--set", "model.overrides={sigma_min: 0.002}"], "model.overrides.sigma_min: sigma_min has one source"),
    ("train-act-ignores-train-betas", ["train", "-c", ACT_TOY, "-o", "run", "--set", "train.betas=[0.5, 0.9]"],
     "ACT's two optimisers take method.g_betas and method.d_betas"),
    ("train-act-discriminator-is-uniform", ["train", "-c", ACT_TOY, "-o", "run", "--set", "method.index_sampling=lognormal"],
     "ACT's discriminator draws its noise levels uniformly"),
    ("train-negative-batch", ["train", "-c", TOY, "-o", "run", "--set", "train.batch_size=-4"], "train.batch_size must be >= 1"),
    ("train-negative-steps", ["train", "-c", TOY, "-o", "run", "--set", "train.steps=-1"], "train.steps must be >= 0"),
    ("train-sigmas-reversed", ["train", "-c", TOY, "-o", "run", "--set", "noise={sigma_min: 5, sigma_max: 1}"],
     "sigma_min (5) must be below sigma_max (1)"),
    ("train-lr-zero", ["train", "-c", TOY, "-o", "run", "--set", "train.lr=0"], "train.lr must be > 0"),
    ("train-s0-above-s1", ["train", "-c", TOY, "-o", "run", "--set", "method.s0=200"], "s0 (200) must be below s1 (150)"),
    ("train-mu0-probability", ["train", "-c", TOY, "-o", "run", "--set", "method.mu0=1.5"], "method.mu0 must be"),
    ("train-unknown-method", ["train", "-c", TOY, "-o", "run", "--set", "method.name=gan"], "unknown method 'gan'"),
    ("train-unknown-choice", ["train", "-c", TOY, "-o", "run", "--set", "method.curriculum=fast"],
     "unknown method.curriculum 'fast'"),
    ("train-precision", ["train", "-c", TOY, "-o", "run", "--set", "train.precision=fp8"], "unknown train.precision"),
    ("train-sample-sigmas", ["train", "-c", TOY, "-o", "run", "--set", "sample.sigmas=[0.5, 80]"],
     "sample.sigmas must be positive and decreasing"),
    ("train-switch-method-drops-distance", ["train", "-c", TOY, "-o", "run", "--set", "method.name=act"],
     "would drop what"),
    ("train-switch-data-keeps-options", ["train", "-c", TOY, "-o", "run", "--set", "data.name=cifar10"],
     "keeps data.options of 'toy2d'"),
    ("train-loader-options", ["train", "-c", FMNIST, "-o", "run", "--set", "data.options={kind: moons}"],
     "not options of the fashion_mnist loader"),
    ("train-act-odd-batch", ["train", "-c", ACT_TOY, "-o", "run", "--set", "train.batch_size=7"], "give a multiple of 2"),
    ("train-override-syntax", ["train", "-c", TOY, "-o", "run", "--set", "train.steps"], "must look like section.key=value"),
    ("train-missing-data", ["train", "-c", FMNIST, "-o", "run", "--set", "data.name=cifar10", "--set", "data.root=nowhere"],
     "cifar10 data not found"),
    ("train-preset-does-not-fit", ["train", "-c", TOY, "-o", "run", "--set", "model.preset=tiny", *QUICK],
     "takes data of shape 1x32x32"),
    ("train-class-conditional-preset", ["train", "-c", FMNIST, "-o", "run", "--set", "data.name=synthetic",
                                        "--set", "data.options={channels: 3, n: 8}", "--set", "data.resolution=64",
                                        "--set", "model.preset=imagenet64", *QUICK], "class-conditional"),
    ("train-lpips-weights-missing", ["train", "-c", FMNIST, "-o", "run", "--set", "method.distance=lpips", *QUICK],
     "LPIPS needs the VGG-16"),
    ("train-resume-not-a-file", ["train", "-c", TOY, "-o", "run", "--resume", "nowhere.pt", *QUICK],
     "neither a mode"),
    ("train-unknown-device", ["train", "-c", TOY, "-o", "run", "--set", "train.device=gpu0", *QUICK], "unknown device 'gpu0'"),
    ("train-missing-argument", ["train", "-c", TOY], "the following arguments are required: --out/-o"),
    # checkpoints
    ("sample-missing-checkpoint", ["sample", "--checkpoint", "none.pt", "-o", "s"], "no checkpoint at none.pt"),
    ("sample-corrupt-checkpoint", ["sample", "--checkpoint", "corrupt.pt", "-o", "s"], "not a readable act-bench checkpoint"),
    ("sample-foreign-checkpoint", ["sample", "--checkpoint", "foreign.pt", "-o", "s"], "is not an act-bench checkpoint"),
    ("theory-missing-checkpoint", ["theory", "--checkpoint", "none.pt", "-o", "t"], "no checkpoint at none.pt"),
    ("inpaint-corrupt-checkpoint", ["inpaint", "--checkpoint", "corrupt.pt", "-o", "i"], "not a readable act-bench"),
    ("denoise-missing-checkpoint", ["denoise", "--checkpoint", "none.pt", "-o", "d.png"], "no checkpoint at none.pt"),
    ("score-run-missing-checkpoint", ["score-run", "--checkpoint", "none.pt", "--samples-dir", "s", "--metrics-dir", "m"],
     "no checkpoint file none.pt"),
    ("import-official-not-torch", ["import-official", "official.ckpt", "-o", "model.pt"], "official.ckpt"),
    # samples and references
    ("evaluate-missing-samples", ["evaluate", "--samples", "none.npz", "--dataset", "fashion_mnist", "--out", "m.json"],
     "none.npz"),
    ("evaluate-not-an-npz", ["evaluate", "--samples", "text.npz", "--dataset", "fashion_mnist", "--out", "m.json"],
     "text.npz"),
    ("evaluate-npz-without-images", ["evaluate", "--samples", "noimages.npz", "--dataset", "fashion_mnist", "--out", "m.json"],
     "noimages.npz"),
    ("evaluate-unknown-dataset", ["evaluate", "--samples", "good.npz", "--dataset", "mnist3d", "--out", "m.json"],
     "mnist3d"),
    ("toy-metrics-not-an-npz", ["toy-metrics", "--samples", "text.npz", "-o", "m.json"], "text.npz"),
    # reports and plans
    ("aggregate-missing-experiment", ["aggregate", "--experiment-dir", "nowhere", "--out", "s.csv"], "nowhere"),
    ("tables-missing-summary", ["tables", "--summary", "none.csv", "--out", "t"], "none.csv"),
    ("figures-missing-summary", ["figures", "--summary", "none.csv", "--out", "f"], "none.csv"),
    ("figures-missing-sigma", ["figures", "--summary", "summary.csv", "--sigma", "none_sigma.csv", "--out", "f"],
     "none_sigma.csv"),
    ("claims-missing-summary", ["claims", "--summary", "none.csv", "--out", "c"], "none.csv"),
    ("budget-missing-experiment", ["budget", "-e", "nope.yaml", "--out", "b.json"], "nope.yaml"),
    ("budget-missing-costs", ["budget", "-e", EXPERIMENT, "--costs", "none.json", "--out", "b.json"], "none.json"),
    ("cost-bad-config", ["cost", "-c", TOY, "--set", "train.batch_size=0", "-o", "c.json"], "train.batch_size must be >= 1"),
    ("estimate-unknown-gpu", ["estimate", "-c", EXPERIMENT, "--gpu", "tpu"], "tpu"),
    ("estimate-missing-config", ["estimate", "-c", "nope.yaml", "--gpu", "h100"], "nope.yaml"),
    ("bench-odd-batch", ["bench", "--batch", "3", "--no-startup", "-o", "b.json"], "--batch must be even"),
    ("bench-unknown-preset", ["bench", "--preset", "huge", "--no-startup", "-o", "b.json"], "unknown --preset 'huge'"),
    ("train-classifier-unlabelled", ["train-classifier", "--dataset", "toy2d:moons", "--out", "c.pt"], "toy2d"),
]


def _listing(d: Path) -> set:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


@pytest.mark.parametrize("argv, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, fragment, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACT_DEBUG", raising=False)
    monkeypatch.setenv("ACT_VGG16_WEIGHTS", str(tmp_path / "no_vgg.pth"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no hub cache with the VGG weights
    _inputs(tmp_path)
    before = _listing(tmp_path)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("act") and fragment in err, err
    assert _listing(tmp_path) == before


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    from act.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        main(["--debug", "train", "-c", TOY, "-o", "run", "--set", "train.lr=0"])
    monkeypatch.setenv("ACT_DEBUG", "1")
    with pytest.raises(ConfigError):
        main(["train", "-c", TOY, "-o", "run", "--set", "train.lr=0"])


def test_at_least_thirty_cases_cover_every_subcommand():
    from act.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert len(CASES) >= 30
    assert set(sub.choices) - {c[1][0] for c in CASES} == set()


SCHEMA_CASES = [
    ("unknown-top-level-key", {"nmae": "x"}, "nmae"),
    ("batch-size-zero", {"datasets": {"toy2d": {"batch_sizes": [0]}}}, "batch_sizes"),
    ("unknown-method", {"datasets": {"toy2d": {"methods": ["gan"]}}}, "gan"),
    ("released-without-checkpoint", {"datasets": {"fashion_mnist": {"released": [{"name": "x"}]}}}, "checkpoint"),
    ("arm-name-with-underscore", {"datasets": {"toy2d": {"methods": {"ct": None, "act_2": {"method": {"name": "act"}}}}}},
     "act_2"),
    ("arm-without-method-name", {"datasets": {"toy2d": {"methods": {"ct": None, "ctnew": {"train": {"lr": 0.01}}}}}},
     "methods.ctnew"),
    # past the schema: act budget's own check, in the same one line
    ("reference-to-no-arm", {"datasets": {"toy2d": {"methods": ["ct", "act"], "budget": {"reference": {"method": "ict"}}}}},
     "budget.reference.method"),
]


@pytest.mark.skipif(shutil.which("snakemake", path=str(Path(sys.executable).parent)) is None, reason="no snakemake")
@pytest.mark.parametrize("change, fragment", [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES])
def test_workflow_schema_rejects_bad_configs_before_anything_runs(change, fragment, tmp_path):
    """Snakemake's own exit status (1) and header lines frame the message; the message itself is one line
    naming the key, and no results folder is created."""
    import yaml

    from act.config import deep_update

    cfg = deep_update(yaml.safe_load(Path(EXPERIMENT).read_text()), change)
    if "methods" in change.get("datasets", {}).get("toy2d", {}):
        cfg["datasets"]["toy2d"]["methods"] = change["datasets"]["toy2d"]["methods"]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    results = tmp_path / "results"
    bin_dir = str(Path(sys.executable).parent)
    res = subprocess.run([bin_dir + "/snakemake", "-n", "--configfile", str(tmp_path / "bad.yaml"), "--config",
                          f"results_dir={results}"], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")})
    out = res.stdout + res.stderr
    assert res.returncode != 0
    lines = [ln for ln in out.splitlines() if ln.startswith("act-bench config:")]
    assert len(lines) == 1 and fragment in lines[0], out[-3000:]
    assert not results.exists()

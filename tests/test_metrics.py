"""act.metrics and ``act evaluate``: FID, KID, precision/recall, IS, classifier scores, the cache.

The Inception network is slow on a CPU (~0.1-0.25 s per image on 2 cores), so the
image sets are tiny (8-16 images) and features are extracted once per module.
Nothing here may touch the network: a fixture makes every socket connect fail.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import pytest
import torch

from act.errors import InputError, MissingInputError
from act.metrics import scores
from act.metrics.inception import FEATURE_NETWORK, build_feature_extractor, extract_features
from act.metrics.formats import read_image_set
from act.metrics.reference import ReferenceKey, cached_features, float_to_uint8

N_BASE = 16  # images per set in the FID/KID/PR tests
NOISE_LEVELS = (8.0, 32.0, 96.0)  # Gaussian noise std on the 0..255 scale, increasing


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download attempt fails loudly instead of reaching the internet."""

    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def fashion_images(split: str, start: int, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 32, 32, 1) Fashion-MNIST images and labels; synthetic stand-ins without the Debian package."""
    try:
        from act.data import build_dataset

        ds = build_dataset("fashion_mnist", split=split, resolution=32)
        x, y = ds.get_batch(torch.arange(start, start + n))
        return float_to_uint8(x).permute(0, 2, 3, 1).numpy(), y.numpy()
    except (ImportError, FileNotFoundError, MissingInputError):
        rng = np.random.default_rng(start + (split == "test") * 100_000)
        labels = rng.integers(0, 10, n)
        yy, xx = np.mgrid[:32, :32]
        images = np.stack([128 + 100 * np.sin(xx * (1 + lab) / 6 + rng.uniform(0, 6)) * np.cos(yy / 5) for lab in labels])
        return images.clip(0, 255).astype(np.uint8)[..., None], labels


def add_noise(images: np.ndarray, std: float, seed: int) -> np.ndarray:
    noisy = images.astype(np.float32) + np.random.default_rng(seed).standard_normal(images.shape) * std
    return noisy.round().clip(0, 255).astype(np.uint8)


# ------------------------------------------------------------------ shared features
@pytest.fixture(scope="module")
def extractor():
    return build_feature_extractor("clean", "cpu")  # clean: the mode the clean-fid cross-check uses


@pytest.fixture(scope="module")
def image_sets() -> Dict[float, np.ndarray]:
    base, _ = fashion_images("train", 0, N_BASE)
    sets = {0.0: base}
    for i, std in enumerate(NOISE_LEVELS):
        sets[std] = add_noise(base, std, seed=i)
    return sets


@pytest.fixture(scope="module")
def features(extractor, image_sets) -> Dict[float, np.ndarray]:
    return {k: extract_features(v, extractor, batch_size=16, progress=False) for k, v in image_sets.items()}


# ------------------------------------------------------------------ FID and KID
def test_features_shape_and_grayscale(features, image_sets):
    f = features[0.0]
    assert f.shape == (N_BASE, 2048) and f.dtype == np.float32
    assert np.isfinite(f).all() and (f >= 0).all()  # pool3 follows a ReLU


def test_fid_kid_zero_on_self_and_monotone_in_noise(features):
    real = features[0.0]
    fid_self = scores.fid_from_features(real, real)
    fids = [scores.fid_from_features(features[s], real) for s in NOISE_LEVELS]
    assert abs(fid_self) < 1e-6 * fids[0]
    assert fids[0] > 1.0 and all(a < b for a, b in zip(fids, fids[1:])), fids

    kid_self = scores.kid_from_features(real, real)
    kids = [scores.kid_from_features(features[s], real)["kid_mean"] for s in NOISE_LEVELS]
    assert all(a < b for a, b in zip(kids, kids[1:])), kids
    # Subsets of a set of m = N_BASE points are the whole set, so the unbiased estimate on
    # identical (not independent) samples is exactly (2/m)(mean off-diagonal k - mean diagonal k).
    m, d = len(real), real.shape[1]
    k = (real.astype(np.float64) @ real.T.astype(np.float64) / d + 1) ** 3
    expected = 2.0 / m * ((k.sum() - np.trace(k)) / (m * (m - 1)) - np.trace(k) / m)
    assert kid_self["kid_subset_size"] == m
    assert kid_self["kid_mean"] == pytest.approx(expected, rel=1e-9)
    assert abs(kid_self["kid_mean"]) < kids[0] < kids[-1]


def test_fid_paths_agree_with_scipy_sqrtm():
    import scipy.linalg

    rng = np.random.default_rng(0)
    for n in (10, 80):  # fewer points than dimensions (nuclear-norm path) and more (eigh path)
        a = rng.standard_normal((n, 24))
        b = rng.standard_normal((n + 5, 24)) * 1.3 + 0.2
        (m1, s1), (m2, s2) = scores.feature_statistics(a), scores.feature_statistics(b)
        covmean = scipy.linalg.sqrtm(s1 @ s2).real
        reference = float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
        assert scores.fid_from_features(a, b) == pytest.approx(reference, rel=1e-6)
        assert scores.frechet_distance(m1, s1, m2, s2) == pytest.approx(reference, rel=1e-6)


@pytest.mark.parametrize("full_kernel", [True, False])
def test_kid_matches_torch_fidelity(monkeypatch, full_kernel):
    from torch_fidelity.metric_kid import kid_features_to_metric

    if not full_kernel:
        monkeypatch.setattr(scores, "KID_FULL_KERNEL_MAX", 0)
    rng = np.random.default_rng(1)
    a, b = rng.random((60, 32)), rng.random((50, 32)) + 0.1
    ours = scores.kid_from_features(a, b, subsets=20, subset_size=40, seed=3)
    theirs = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=20,
                                    kid_subset_size=40, rng_seed=3, verbose=False)
    assert ours["kid_mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-10)
    assert ours["kid_std"] == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-8)


def write_pngs(folder: Path, images: np.ndarray) -> Path:
    from PIL import Image

    folder.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img[..., 0]).save(folder / f"{i:03d}.png")  # grayscale; clean-fid converts to RGB
    return folder


def skip_if_clean_fid_cannot_sqrtm() -> None:
    """clean-fid 0.1.35 calls scipy.linalg.sqrtm(..., disp=False); SciPy 1.18 removed ``disp``."""
    import inspect

    import scipy.linalg

    if "disp" not in inspect.signature(scipy.linalg.sqrtm).parameters:
        pytest.skip("clean-fid's frechet_distance passes sqrtm(disp=...), which this SciPy no longer accepts")


def test_fid_matches_clean_fid_pipeline(tmp_path, extractor, features, image_sets):
    """clean-fid's own folder -> features path (what compute_fid runs), told to use our network and
    mode="clean", gives our features; its Fréchet distance gives our FID. The 2048-d sqrtm that
    compute_fid itself runs takes 30-60 s on 2 loaded cores: that version is the slow test below."""
    from cleanfid import fid as cleanfid

    n, level = 8, NOISE_LEVELS[0]
    real_dir = write_pngs(tmp_path / "real", image_sets[0.0][:n])
    fake_dir = write_pngs(tmp_path / "fake", image_sets[level][:n])
    kw = dict(model=extractor.forward_resized, mode="clean", num_workers=0, batch_size=n,
              device=torch.device("cpu"), verbose=False)
    cf_real = cleanfid.get_folder_features(str(real_dir), **kw)
    cf_fake = cleanfid.get_folder_features(str(fake_dir), **kw)
    np.testing.assert_allclose(cf_real, features[0.0][:n], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cf_fake, features[level][:n], rtol=1e-4, atol=1e-5)
    ours = scores.fid_from_features(features[level][:n], features[0.0][:n])
    assert ours == pytest.approx(scores.fid_from_features(cf_fake, cf_real), rel=1e-4)
    skip_if_clean_fid_cannot_sqrtm()
    dims = slice(0, 64)  # clean-fid's sqrtm formula on a 64-d block of its own features
    theirs = cleanfid.fid_from_feats(cf_fake[:, dims], cf_real[:, dims])
    assert scores.fid_from_features(features[level][:n, dims], features[0.0][:n, dims]) == pytest.approx(
        float(theirs), rel=1e-3)


@pytest.mark.slow
def test_fid_equals_clean_fid_compute_fid(tmp_path, extractor, features, image_sets):
    """compute_fid on two PNG folders, with our network as custom_feat_extractor and mode="clean"."""
    from cleanfid import fid as cleanfid

    skip_if_clean_fid_cannot_sqrtm()
    n, level = 8, NOISE_LEVELS[0]
    theirs = cleanfid.compute_fid(
        str(write_pngs(tmp_path / "fake", image_sets[level][:n])),
        str(write_pngs(tmp_path / "real", image_sets[0.0][:n])), mode="clean",
        custom_feat_extractor=extractor.forward_resized,  # float (B, 3, 299, 299) in [0, 255], resized by clean-fid
        device=torch.device("cpu"), num_workers=0, batch_size=n, verbose=False,
    )
    ours = scores.fid_from_features(features[level][:n], features[0.0][:n])
    assert ours == pytest.approx(float(theirs), rel=1e-3)


# ------------------------------------------------------------------ precision / recall
def test_precision_recall_synthetic():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 16))
    same = scores.precision_recall(real, real)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    far = scores.precision_recall(real + 100.0, real)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    # Mode dropping: real has two far-apart clusters, fake covers only one of them.
    real2 = real[:, :2]  # 2-D, so 150 points fill their cluster densely
    two = np.concatenate([real2[:150], real2[150:] + 50.0])
    one = rng.standard_normal((150, 2))
    dropped = scores.precision_recall(one, two)
    assert dropped["precision"] > 0.95 and 0.4 < dropped["recall"] < 0.6


def test_precision_recall_matches_torch_fidelity():
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    rng = np.random.default_rng(2)
    fake, real = rng.standard_normal((150, 8)), rng.standard_normal((120, 8)) * 1.2 + 0.3
    ours = scores.precision_recall(fake, real, k=3, batch_size=64)
    p, r = calculate_precision_recall_full(torch.from_numpy(fake.astype(np.float32)),
                                           torch.from_numpy(real.astype(np.float32)), neighborhood=3)
    assert 0.0 < ours["precision"] < 1.0 and 0.0 < ours["recall"] < 1.0
    assert ours["precision"] == pytest.approx(p) and ours["recall"] == pytest.approx(r)


def test_precision_recall_inception_features(features):
    real = features[0.0]
    same = scores.precision_recall(real, real)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    heavy = scores.precision_recall(features[NOISE_LEVELS[-1]], real)
    assert heavy["precision"] < 0.1 and heavy["recall"] < 0.1


# ------------------------------------------------------------------ Inception Score
@pytest.fixture
def no_is_weights(tmp_path, monkeypatch):
    """No IS weights anywhere: not in the env, resources/ (cwd) or the torch hub cache."""
    monkeypatch.delenv("ACT_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.chdir(tmp_path)


def _inception_score(logits) -> float:
    """exp(mean_x KL(p(y|x) || p(y))) of one split, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    logpy = np.log(np.exp(logp).mean(0))
    return float(np.exp((np.exp(logp) * (logp - logpy)).sum(1).mean()))


def test_inception_score_formula():
    """K confident, distinct classes give IS = K; one shared prediction gives 1; noise lies between."""
    from act.metrics.scores import inception_score_from_logits

    confident = np.full((8, 1008), -50.0)
    confident[np.arange(8), np.arange(8)] = 50.0
    assert inception_score_from_logits(confident, splits=1)["value"] == pytest.approx(8.0, rel=1e-6)
    same = np.tile(np.random.default_rng(0).normal(size=(1, 1008)), (8, 1))
    assert inception_score_from_logits(same, splits=1)["value"] == pytest.approx(1.0, abs=1e-9)
    noise = np.random.default_rng(1).normal(size=(64, 1008)) * 3
    value = inception_score_from_logits(noise, splits=1)["value"]
    assert 1.0 < value < 64 and value == pytest.approx(_inception_score(noise), rel=1e-6)


def test_inception_score_missing_weights(no_is_weights, image_sets):
    from act.metrics.inception_score import IS_WEIGHTS_FILE, inception_score

    for path in (None, "nowhere/weights.pth"):
        out = inception_score(image_sets[0.0][:4], path, progress=False)
        assert out["value"] is None
        assert IS_WEIGHTS_FILE in out["missing"] and "--inception-weights" in out["missing"]
    json.dumps(out)


def test_inception_score_with_local_weights(no_is_weights, tmp_path, monkeypatch, image_sets):
    """Random weights in torch-fidelity's format stand in for the real file: the loading path runs."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from act.metrics.inception_score import inception_score

    with monkeypatch.context() as m:
        m.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        m.setattr("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", lambda *a, **k: {})
        torch.manual_seed(0)
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["logits_unbiased"])
    weights = tmp_path / "random-inception.pth"
    torch.save(net.state_dict(), weights)
    monkeypatch.setenv("ACT_INCEPTION_WEIGHTS", str(weights))
    out = inception_score(image_sets[0.0][:4], None, device="cpu", splits=1, progress=False)
    assert out["weights"] == str(weights)
    assert out["splits"] == 1
    # The value is exp(E_x KL(p(y|x) || p(y))) of the logits the loaded network gives, computed
    # here independently; KL >= 0, so IS >= 1 up to float rounding (random weights give
    # nearly the same prediction for every image, hence ~1: 1 - 2e-16 was seen).
    from act.metrics.inception_score import build_is_extractor, inception_logits

    logits = inception_logits(image_sets[0.0][:4], build_is_extractor(weights, torch.device("cpu")), progress=False)
    assert out["value"] == pytest.approx(_inception_score(logits), rel=1e-9, abs=1e-9)
    assert out["value"] >= 1.0 - 1e-12


# ------------------------------------------------------------------ reference cache
def test_reference_key_and_feature_cache(tmp_path):
    key = ReferenceKey("fashion_mnist", "train", 32, FEATURE_NETWORK, "clean", 10, 0, "ab" * 20)
    assert key.filename().startswith(f"fashion_mnist_train_32px_{FEATURE_NETWORK}_clean_n10_")
    assert ReferenceKey(**{**key.__dict__, "resize_mode": "tf_bilinear"}).digest() != key.digest()
    assert ReferenceKey(**{**key.__dict__, "pixels_sha1": "cd" * 20}).digest() != key.digest()
    calls = []

    def compute():
        calls.append(1)
        return np.arange(20, dtype=np.float32).reshape(10, 2)

    first, rec1 = cached_features(key, str(tmp_path), compute)
    second, rec2 = cached_features(key, str(tmp_path), compute)
    assert len(calls) == 1 and not rec1["from_cache"] and rec2["from_cache"]
    np.testing.assert_array_equal(first, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == [key.filename()]  # no temp files left


def test_load_samples_checks_format(tmp_path):
    np.savez(tmp_path / "bad.npz", images=np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(InputError, match="uint8"):
        read_image_set(str(tmp_path / "bad.npz"))
    np.savez(tmp_path / "ok.npz", images=np.zeros((5, 8, 8, 1), np.uint8), labels=np.arange(5))
    got = read_image_set(str(tmp_path / "ok.npz"), num=3)
    images, labels = got.images, got.labels
    assert images.shape == (3, 8, 8, 1) and labels.tolist() == [0, 1, 2]


# ------------------------------------------------------------------ the CLI, end to end
def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    import gzip
    import struct

    raw = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw))


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Tiny Fashion-MNIST idx files, a classifier, and two `act evaluate` runs against one cache."""
    from act.cli import main

    tmp = tmp_path_factory.mktemp("cli")
    root = tmp / "fmnist"
    root.mkdir()
    for split, start, n in (("train", 100, 32), ("test", 0, 16)):
        images, labels = fashion_images(split, start, n)
        stem = "train" if split == "train" else "t10k"
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", images[:, 2:30, 2:30, 0].copy(), 2051)  # unpad to 28
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", labels.astype(np.uint8), 2049)
    samples, labels = fashion_images("train", 300, 8)
    np.savez(tmp / "samples.npz", images=samples, labels=labels)

    with pytest.MonkeyPatch.context() as m:
        m.delenv("ACT_INCEPTION_WEIGHTS", raising=False)
        m.setenv("TORCH_HOME", str(tmp / "torch_home"))
        m.chdir(tmp)
        assert main(["train-classifier", "--dataset", "fashion_mnist", "--data-root", str(root),
                     "--out", str(tmp / "clf.pt"), "--steps", "20", "--batch-size", "16", "--seed", "0"]) == 0
        runs = []
        for i in (1, 2):
            t0 = time.perf_counter()
            assert main(["evaluate", "--samples", str(tmp / "samples.npz"), "--dataset", "fashion_mnist",
                         "--data-root", str(root), "--num-ref", "12", "--resize-mode", "clean",
                         "--cache-dir", str(tmp / "cache"), "--device", "cpu", "--batch-size", "16",
                         "--classifier", str(tmp / "clf.pt"), "--no-progress",
                         "--out", str(tmp / f"metrics{i}.json")]) == 0
            runs.append((time.perf_counter() - t0, json.loads((tmp / f"metrics{i}.json").read_text())))
    return tmp, runs


def test_cli_evaluate_end_to_end(cli_runs):
    tmp, runs = cli_runs
    _, m = runs[0]
    for key in ("fid", "kid_mean", "kid_std", "precision", "recall", "classifier_is", "classifier_fd"):
        assert isinstance(m[key], float) and math.isfinite(m[key]), key
    assert m["fid"] > 0 and 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1
    assert 1.0 <= m["classifier_is"] <= 10.0 and m["classifier_fd"] >= 0
    assert m["inception_score"]["value"] is None and "missing" in m["inception_score"]
    assert m["num_samples"] == 8 and m["num_ref"] == 12 and m["split"] == "train"
    assert m["feature_network"] == FEATURE_NETWORK and m["resize_mode"] == "clean"
    assert m["timings"]["reference_from_cache"] is False and m["timings"]["sample_features_s"] > 0
    assert Path(m["reference"]["cache_file"]).is_file()
    assert Path(m["reference"]["cache_file"]).parent == tmp / "cache"
    assert (tmp / "clf.pt").is_file() and (tmp / "clf.json").is_file()


def test_cli_second_run_uses_cache(cli_runs):
    _, ((wall1, m1), (wall2, m2)) = cli_runs
    assert m2["timings"]["reference_from_cache"] is True and m2["reference"]["from_cache"] is True
    assert m2["reference"]["cache_file"] == m1["reference"]["cache_file"]
    for key in ("fid", "kid_mean", "kid_std", "precision", "recall", "classifier_is", "classifier_fd"):
        assert m2[key] == m1[key], key
    assert m2["timings"]["reference_features_s"] < m1["timings"]["reference_features_s"]
    assert wall2 < wall1


def test_classifier_checkpoint_roundtrip(cli_runs):
    from act.metrics.classifier import classifier_outputs, images_for_classifier, load_classifier

    tmp, _ = cli_runs
    net, cfg = load_classifier(str(tmp / "clf.pt"))
    assert cfg.num_classes == 10 and cfg.channels == 1 and cfg.resolution == 32
    rgb64 = np.repeat(fashion_images("test", 0, 3)[0], 3, axis=-1).repeat(2, axis=1).repeat(2, axis=2)
    feats, logits = classifier_outputs(net, images_for_classifier(rgb64, cfg))  # RGB 64 px -> gray 32 px
    assert feats.shape == (3, cfg.feature_dim) and logits.shape == (3, 10)
    summary = json.loads((tmp / "clf.json").read_text())
    assert summary["config"]["steps"] == 20 and len(summary["metrics"]["log"]) >= 1
    assert not [p for p in os.listdir(tmp) if ".tmp" in p]


def test_cli_constants_match_library():
    """The CLI's resize modes and cache folder are the library's, from act.metrics.protocol (no torch)."""
    from act.commands import evaluate as cmd
    from act.metrics import inception, protocol, reference

    assert tuple(inception.RESIZE_MODES) == protocol.RESIZE_MODES == cmd.RESIZE_MODES
    assert cmd.DEFAULT_CACHE_DIR == reference.DEFAULT_CACHE_DIR == protocol.DEFAULT_CACHE_DIR
    out = subprocess.run([sys.executable, "-c", "import sys, act.cli; act.cli.build_parser(); "
                          "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'numpy', 'yaml'}))"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"  # act --help imports every command module: none may pull in torch
    with pytest.raises(ValueError, match="unknown resize mode"):
        inception.resize_for_inception(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "bicubic")

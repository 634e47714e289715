"""Standard FID files as sample sets and references (act.metrics.formats), on small files made here."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from act.errors import InputError, MissingInputError
from act.metrics.formats import FEATURE_DIM, read_image_set


def _images(n=6, size=16, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def _png_bytes(img):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(buf, format="PNG")
    return buf.getvalue()


def _stats(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(FEATURE_DIM, 8))
    return rng.normal(size=FEATURE_DIM), a @ a.T / 8 + np.eye(FEATURE_DIM)


def test_image_folder_and_zip_read_in_name_order(tmp_path):
    imgs = _images()
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    names = [f"{i:03d}.png" for i in range(len(imgs))]
    for i, (name, img) in enumerate(zip(names, imgs)):
        (folder / ("sub" if i % 2 else "") / name).write_bytes(_png_bytes(img))  # nested folders count
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as z:
        for name, img in zip(reversed(names), imgs[::-1]):  # stored out of order
            z.writestr(f"x/{name}", _png_bytes(img))
    got = read_image_set(str(folder))
    assert got.kind == "image folder" and got.images.dtype == np.uint8
    by_path = sorted(range(len(imgs)), key=lambda i: str(folder / ("sub" if i % 2 else "") / names[i]))
    assert np.array_equal(got.images, imgs[by_path])  # sorted by path
    z = read_image_set(str(tmp_path / "imgs.zip"), num=4)
    assert z.kind == "zip of images" and np.array_equal(z.images, imgs[:4])
    grey = _images(3, channels=1)
    (tmp_path / "grey").mkdir()
    for i, img in enumerate(grey):
        (tmp_path / "grey" / f"{i}.png").write_bytes(_png_bytes(img))
    assert read_image_set(str(tmp_path / "grey")).images.shape == (3, 16, 16, 1)


def test_adm_batch_edm_and_cleanfid_statistics(tmp_path):
    imgs, (mu, sigma) = _images(), _stats()
    np.savez(tmp_path / "VIRTUAL_x.npz", arr_0=imgs, mu=mu, sigma=sigma)  # ADM reference batch
    np.savez(tmp_path / "edm.npz", mu=mu, sigma=sigma)  # EDM fid-refs
    np.savez(tmp_path / "cleanfid_stats.npz", mu=mu.astype(np.float32), sigma=sigma.astype(np.float32))
    adm = read_image_set(str(tmp_path / "VIRTUAL_x.npz"))
    assert adm.kind == "ADM batch" and np.array_equal(adm.images, imgs) and np.allclose(adm.mu, mu)
    for name in ("edm.npz", "cleanfid_stats.npz"):
        s = read_image_set(str(tmp_path / name))
        assert s.images is None and s.sigma.shape == (FEATURE_DIM, FEATURE_DIM) and s.sigma.dtype == np.float64
        assert np.allclose(s.mu, mu, atol=1e-5)


def test_bad_files_say_what_was_expected(tmp_path):
    np.savez(tmp_path / "odd.npz", x=np.zeros(3))
    with pytest.raises(InputError, match="expected 'images'.*'arr_0'.*'mu' and 'sigma'"):
        read_image_set(str(tmp_path / "odd.npz"))
    np.savez(tmp_path / "small.npz", mu=np.zeros(64), sigma=np.eye(64))
    with pytest.raises(InputError, match="pool3 statistics"):
        read_image_set(str(tmp_path / "small.npz"))
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "a.png").write_bytes(_png_bytes(_images(1, 16)[0]))
    (tmp_path / "mixed" / "b.png").write_bytes(_png_bytes(_images(1, 8)[0]))
    with pytest.raises(InputError, match="differ in size"):
        read_image_set(str(tmp_path / "mixed"))
    with pytest.raises(MissingInputError):
        read_image_set(str(tmp_path / "missing.npz"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        read_image_set(str(tmp_path / "empty"))


def test_act_sample_writes_arr_0_for_the_adm_evaluator(tmp_path):
    from act.commands.sample import sample_to_dir
    from act.config import generator_overrides, load_config
    from act.networks import build_generator

    cfg = load_config(None, ("model.preset=tiny", "method.distance=l2"))
    net = build_generator(cfg.model.preset, **generator_overrides(cfg.model, cfg.noise)).eval()
    state = {"step": 0, "data_shape": [1, 32, 32], "sampling_network": "target"}
    out = sample_to_dir("untrained", tmp_path, torch.device("cpu"), num=3, steps=1, progress=False, plot=False,
                        loaded=(net, cfg, state))
    with np.load(out / "samples.npz") as f:
        assert np.array_equal(f["arr_0"], f["images"]) and f["arr_0"].dtype == np.uint8
    got = read_image_set(str(out / "samples.npz"))
    assert got.kind == "act samples" and got.images.shape == (3, 32, 32, 1)
    assert json.loads((out / "sample.json").read_text())["quantize"] == "truncate"


@pytest.mark.slow
def test_evaluate_against_reference_files(tmp_path):
    """The same reference as images (folder, ADM batch) or as statistics only gives the same FID."""
    from act.cli import main
    from act.metrics.inception import build_feature_extractor, extract_features
    from act.metrics.scores import feature_statistics

    samples, ref = _images(8, 32, seed=1), _images(10, 32, seed=2)
    np.savez(tmp_path / "samples.npz", images=samples)
    (tmp_path / "ref").mkdir()
    for i, img in enumerate(ref):
        (tmp_path / "ref" / f"{i:02d}.png").write_bytes(_png_bytes(img))
    feats = extract_features(ref, build_feature_extractor("clean", "cpu"), 16, "ref", False)
    mu, sigma = feature_statistics(feats)
    np.savez(tmp_path / "adm.npz", arr_0=ref, mu=mu, sigma=sigma)
    np.savez(tmp_path / "stats.npz", mu=mu, sigma=sigma)
    results = {}
    for name in ("ref", "adm.npz", "stats.npz"):
        out = tmp_path / f"{Path(name).stem}.json"
        assert main(["evaluate", "--samples", str(tmp_path / "samples.npz"), "--reference", str(tmp_path / name),
                     "--resize-mode", "clean", "--cache-dir", str(tmp_path / "cache"), "--device", "cpu",
                     "--kid-subset-size", "4", "--no-progress", "--out", str(out)]) == 0
        results[name] = json.loads(out.read_text())
    folder, adm, stats = results["ref"], results["adm.npz"], results["stats.npz"]
    assert folder["reference"]["format"] == "image folder" and folder["num_ref"] == 10
    assert adm["fid"] == pytest.approx(folder["fid"]) and adm["fid_reference_stats"] == pytest.approx(folder["fid"], rel=1e-6)
    assert stats["fid"] == pytest.approx(folder["fid"], rel=1e-6) and stats["kid_mean"] is None
    assert stats["num_ref"] is None and stats["reference"]["statistics"] is True
    assert main(["evaluate", "--samples", str(tmp_path / "nothing"), "--reference", str(tmp_path / "stats.npz"),
                 "--out", str(tmp_path / "x.json")]) == 2
    assert not (tmp_path / "x.json").exists()

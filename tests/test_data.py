"""act.data: every loader on tiny files in its real on-disk format, plus the toys."""

from __future__ import annotations

import math
import gzip
import io
import pickle
import struct
import sys
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from act.data import (
    DATASETS,
    CorruptDataError,
    DataNotFoundError,
    build_dataset,
    sample_toy,
)
from act.data.fashion_mnist import DEBIAN_DIR
from act.errors import ConfigError, MissingInputError

RNG = np.random.default_rng(0)


def scaled(v: int) -> float:
    return v / 127.5 - 1.0


# The loaders compute x / 127.5 - 1 in float32: near 0 the subtraction leaves up to ~6e-8 of absolute error,
# more than pytest.approx's default relative 1e-6 of a small value (which made these checks depend on the draw);
# one uint8 step is 7.8e-3, so 1e-6 still pins the exact pixel value.
PIXEL_TOL = 1e-6


def check_items(ds, n: int, shape: tuple, num_classes: int, bound: float = 1.0) -> None:
    assert len(ds) == n
    assert ds.shape == shape
    assert ds.num_classes == num_classes
    idx = torch.arange(len(ds)).flip(0)
    xb, yb = ds.get_batch(idx)
    assert xb.dtype == torch.float32 and yb.dtype == torch.int64
    assert xb.shape == (n, *shape) and yb.shape == (n,)
    assert xb.min() >= -bound and xb.max() <= bound
    items = [ds[int(i)] for i in idx]
    assert all(isinstance(label, int) for _, label in items)
    torch.testing.assert_close(xb, torch.stack([x for x, _ in items]), rtol=0, atol=0)
    assert yb.tolist() == [label for _, label in items]


# ----------------------------------------------------------------- Fashion-MNIST
def write_idx(path: Path, array: np.ndarray, magic: int, truncate: int = 0) -> None:
    raw = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    raw = raw[: len(raw) - truncate]
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)


def write_fashion(folder: Path, n: int = 5, split: str = "train", truncate: int = 0) -> tuple:
    prefix = "train" if split == "train" else "t10k"
    images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = RNG.integers(0, 10, (n,), dtype=np.uint8)
    write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images, 2051, truncate)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, 2049)  # one plain, one gzipped
    return images, labels


def test_fashion_mnist_padded_to_32(tmp_path: Path) -> None:
    images, labels = write_fashion(tmp_path)
    ds = build_dataset("fashion_mnist", root=str(tmp_path))
    check_items(ds, 5, (1, 32, 32), 10)
    assert (ds.channels, ds.resolution, ds.name) == (1, 32, "fashion_mnist")
    x, label = ds[3]
    assert label == int(labels[3])
    assert x[0, 2 + 7, 2 + 11].item() == pytest.approx(scaled(int(images[3, 7, 11])), abs=PIXEL_TOL)
    assert (x[:, :2] == -1).all() and (x[:, -2:] == -1).all() and (x[:, :, :2] == -1).all()


def test_fashion_mnist_native_28_and_test_split(tmp_path: Path) -> None:
    images, _ = write_fashion(tmp_path, n=3, split="test")
    ds = build_dataset("fashion_mnist", root=str(tmp_path), split="test", resolution=28)
    check_items(ds, 3, (1, 28, 28), 10)
    assert ds[0][0][0, 0, 0].item() == pytest.approx(scaled(int(images[0, 0, 0])), abs=PIXEL_TOL)
    with pytest.raises(ConfigError, match="resolution"):
        build_dataset("fashion_mnist", root=str(tmp_path), split="test", resolution=64)


def test_fashion_mnist_area_downsampled_to_16(tmp_path: Path) -> None:
    """16 px: the padded 32 x 32 image averaged over 2 x 2 blocks, rounded half up; labels unchanged."""
    images, labels = write_fashion(tmp_path, n=4)
    ds = build_dataset("fashion_mnist", root=str(tmp_path), resolution=16)
    assert (ds.channels, ds.resolution) == (1, 16) and len(ds) == 4
    padded = np.zeros((4, 32, 32)); padded[:, 2:30, 2:30] = images
    want = np.floor(padded.reshape(4, 16, 2, 16, 2).mean(axis=(2, 4)) + 0.5)
    got = np.stack([((ds[i][0].numpy()[0] + 1) * 127.5).round() for i in range(4)])
    np.testing.assert_array_equal(got, want)
    assert [int(ds[i][1]) for i in range(4)] == list(labels)


def test_fashion_mnist_missing_names_places(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError) as err:
        build_dataset("fashion_mnist", root=str(missing))
    message = str(err.value)
    assert str(missing) in message and str(missing / "FashionMNIST" / "raw") in message
    assert "apt-get install dataset-fashion-mnist" in message and "download=True" in message
    assert isinstance(err.value, MissingInputError)


@pytest.mark.parametrize("truncate", [1, 300])
def test_fashion_mnist_truncated_is_corrupt(tmp_path: Path, truncate: int) -> None:
    write_fashion(tmp_path, truncate=truncate)
    with pytest.raises(CorruptDataError, match="corrupt"):
        build_dataset("fashion_mnist", root=str(tmp_path))


def test_fashion_mnist_broken_gzip_and_magic(tmp_path: Path) -> None:
    write_fashion(tmp_path)
    gz = tmp_path / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-20])  # cut the gzip stream itself
    with pytest.raises(CorruptDataError, match="decompress"):
        build_dataset("fashion_mnist", root=str(tmp_path))
    write_idx(gz, np.zeros((2, 28, 28), np.uint8), 2049)  # label magic on an image file
    with pytest.raises(CorruptDataError, match="magic"):
        build_dataset("fashion_mnist", root=str(tmp_path))


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_debian_package() -> None:
    ds = build_dataset("fashion_mnist")
    assert len(ds) == 60000 and ds[0][0].shape == (1, 32, 32)
    assert len(build_dataset("fashion_mnist", split="test")) == 10000
    x, y = ds.get_batch(torch.tensor([0, 59999]))
    assert x.shape == (2, 1, 32, 32) and 0 <= y.min() <= y.max() <= 9


# ----------------------------------------------------------------------- CIFAR-10
def cifar_batch(n: int, protocol: int = pickle.DEFAULT_PROTOCOL) -> tuple[bytes, np.ndarray, list]:
    data = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in RNG.integers(0, 10, n)]
    batch = {b"batch_label": b"x", b"labels": labels, b"data": data, b"filenames": []}
    return pickle.dumps(batch, protocol=protocol), data, labels


def write_cifar_tarball(folder: Path) -> dict:
    contents = {}
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, n in [*((f"data_batch_{i}", 2) for i in range(1, 6)), ("test_batch", 3)]:
            raw, data, labels = cifar_batch(n)
            contents[name] = (data, labels)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return contents


def test_cifar10_tarball_and_folder(tmp_path: Path) -> None:
    contents = write_cifar_tarball(tmp_path)
    train = build_dataset("cifar10", root=str(tmp_path))
    check_items(train, 10, (3, 32, 32), 10)
    data, labels = contents["data_batch_2"]
    x, label = train[3]  # second image of batch 2
    assert label == labels[1]
    # Row layout: 1024 red, 1024 green, 1024 blue; pixel (row 5, col 7) of green is 1024 + 5 * 32 + 7.
    assert x[1, 5, 7].item() == pytest.approx(scaled(int(data[1, 1024 + 5 * 32 + 7])), abs=PIXEL_TOL)
    assert x[2, 31, 0].item() == pytest.approx(scaled(int(data[1, 2048 + 31 * 32])), abs=PIXEL_TOL)
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    test = build_dataset("cifar10", root=str(tmp_path / "x"), split="test")
    check_items(test, 3, (3, 32, 32), 10)
    assert test[2][1] == contents["test_batch"][1][2]


def test_cifar10_missing_and_malicious(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as err:
        build_dataset("cifar10", root=str(tmp_path))
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in str(err.value)
    assert str(tmp_path / "cifar-10-python.tar.gz") in str(err.value)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": types.SimpleNamespace()}))
    with pytest.raises(CorruptDataError, match="refusing"):
        build_dataset("cifar10", root=str(tmp_path), split="test")


def test_cifar10_numpy1_pickle_names(tmp_path: Path) -> None:
    """The official batches (numpy 1.x, Python 2) name numpy.core.multiarray."""
    raw, data, labels = cifar_batch(2, protocol=2)  # Python 2 wrote protocol 2
    raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")  # as numpy 1.x writes it
    assert b"numpy.core.multiarray" in raw
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(raw)
    ds = build_dataset("cifar10", root=str(folder), split="test")
    assert ds[1][0][0, 0, 0].item() == pytest.approx(scaled(int(data[1, 0])), abs=PIXEL_TOL)


# ------------------------------------------------------------------- ImageNet 64
def test_imagenet64_npz(tmp_path: Path) -> None:
    part = tmp_path / "Imagenet64_val_npz"
    part.mkdir()
    data = RNG.integers(0, 256, (4, 12288), dtype=np.uint8)
    labels = [1, 1000, 17, 5]  # 1-based as released
    np.savez(part / "val_data.npz", data=data, labels=labels, mean=data.mean(0))
    ds = build_dataset("imagenet64", root=str(tmp_path), split="val")
    check_items(ds, 4, (3, 64, 64), 1000)
    assert [ds[i][1] for i in range(4)] == [0, 999, 16, 4]
    x = ds[2][0]
    assert x[0, 0, 1].item() == pytest.approx(scaled(int(data[2, 1])), abs=PIXEL_TOL)  # red plane first
    assert x[2, 10, 3].item() == pytest.approx(scaled(int(data[2, 2 * 4096 + 10 * 64 + 3])), abs=PIXEL_TOL)


def test_imagenet64_memmap_cache(tmp_path: Path) -> None:
    data = RNG.integers(0, 256, (3, 12288), dtype=np.uint8)
    np.savez(tmp_path / "val_data.npz", data=data, labels=[3, 2, 1])
    kwargs = dict(root=str(tmp_path), split="val", max_memory_gb=0.0, cache_dir=str(tmp_path / "cache"))
    first = build_dataset("imagenet64", **kwargs)
    assert isinstance(first.data, np.memmap)
    assert (tmp_path / "cache" / "imagenet64_val_uint8.npy").is_file()
    again = build_dataset("imagenet64", **kwargs)
    torch.testing.assert_close(again.get_batch(torch.arange(3)), first.get_batch(torch.arange(3)))
    assert again[0][0][1, 0, 0].item() == pytest.approx(scaled(int(data[0, 4096])), abs=PIXEL_TOL)
    with pytest.raises(MemoryError, match="cache_dir"):
        build_dataset("imagenet64", root=str(tmp_path), split="val", max_memory_gb=0.0)


def test_imagenet64_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="train_data_batch_1.npz") as err:
        build_dataset("imagenet64", root=str(tmp_path))
    assert "image-net.org" in str(err.value)
    (tmp_path / "val_data.npz").write_bytes(b"not a zip")
    with pytest.raises(CorruptDataError):
        build_dataset("imagenet64", root=str(tmp_path), split="val")


# ------------------------------------------------------------ LSUN / image folder
def write_images(folder: Path) -> np.ndarray:
    (folder / "sub").mkdir(parents=True)
    wide = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)  # (H, W, 3)
    Image.fromarray(wide).save(folder / "a.png")
    Image.fromarray(RNG.integers(0, 256, (40, 24, 3), dtype=np.uint8)).save(folder / "sub" / "b.jpg")
    Image.fromarray(RNG.integers(0, 256, (16, 16), dtype=np.uint8)).save(folder / "sub" / "c.webp")
    (folder / "notes.txt").write_text("not an image")
    return wide


def test_image_folder_crop_resize(tmp_path: Path) -> None:
    wide = write_images(tmp_path)
    ds = build_dataset("lsun_cat", root=str(tmp_path), resolution=8)
    check_items(ds, 3, (3, 8, 8), 0)
    assert [label for _, label in (ds[i] for i in range(3))] == [-1, -1, -1]
    native = build_dataset("image_folder", root=str(tmp_path), resolution=20)  # a.png: crop only
    x = native[0][0]
    assert x[:, 4, 6].tolist() == pytest.approx([scaled(int(v)) for v in wide[4, 5 + 6]], abs=PIXEL_TOL)  # 5 = (30 - 20) / 2
    assert build_dataset("image_folder", root=str(tmp_path), resample="lanczos", resolution=4)[1][0].shape == (3, 4, 4)


def test_image_folder_missing_empty_corrupt(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="export") as err:
        build_dataset("lsun_cat", root=str(tmp_path / "none"))
    assert str(tmp_path / "none") in str(err.value)
    with pytest.raises(DataNotFoundError, match="No .png"):
        build_dataset("image_folder", root=str(tmp_path))
    (tmp_path / "bad.png").write_bytes(b"garbage")
    ds = build_dataset("image_folder", root=str(tmp_path), resolution=4)
    with pytest.raises(CorruptDataError, match="bad.png"):
        ds[0]


def test_lsun_lmdb_with_fake_lmdb_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The LMDB path, against a stand-in for the optional ``lmdb`` package."""
    buf = io.BytesIO()
    Image.fromarray(np.full((10, 12, 3), 200, np.uint8)).save(buf, format="PNG")
    store = {b"key0": buf.getvalue(), b"key1": buf.getvalue()}

    class Txn:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def cursor(self):
            return types.SimpleNamespace(iternext=lambda keys, values: iter(sorted(store)))

        def get(self, key):
            return store.get(key)

    env = types.SimpleNamespace(begin=lambda write: Txn())
    monkeypatch.setitem(sys.modules, "lmdb", types.SimpleNamespace(open=lambda path, **kw: env))
    (tmp_path / "data.mdb").write_bytes(b"")
    ds = build_dataset("lsun_cat", root=str(tmp_path), resolution=6)
    check_items(ds, 2, (3, 6, 6), 0)
    assert ds[1][0][0, 0, 0].item() == pytest.approx(scaled(200), abs=1e-6)


# --------------------------------------------------------------------------- toys
@pytest.mark.parametrize("kind", ["gaussian", "gaussian_mixture", "two_moons", "swiss_roll"])
def test_toy_deterministic_and_scaled(kind: str) -> None:
    a = build_dataset(f"toy2d:{kind}", n=2000, seed=3)
    b = build_dataset("toy2d", kind=kind, n=2000, seed=3)
    c = build_dataset(f"toy2d:{kind}", n=2000, seed=4)
    bound = 3.0 if kind == "gaussian" else 1.5  # toys lie only roughly in [-1, 1]; a Gaussian's 6 sigma
    check_items(a, 2000, (2,), 0, bound=bound)
    assert (a.channels, a.resolution, a.name) == (2, None, f"toy2d:{kind}")
    assert torch.equal(a.get_batch(torch.arange(2000))[0], b.get_batch(torch.arange(2000))[0])
    assert not torch.equal(a.get_batch(torch.arange(2000))[0], c.get_batch(torch.arange(2000))[0])
    x = sample_toy(kind, 20_000, seed=11)
    assert x.shape == (20_000, 2) and x.dtype == torch.float32
    assert torch.equal(x, sample_toy(kind, 20_000, seed=11))
    assert x.abs().max() <= bound
    assert x.mean(0).abs().max() < 0.05
    assert x.var(0).mean().sqrt().item() == pytest.approx(0.5, abs=0.03)


# ------------------------------------------------------------------------ registry
def test_registry_errors() -> None:
    assert {"fashion_mnist", "cifar10", "imagenet64", "lsun_cat", "image_folder", "toy2d"} <= set(DATASETS)
    with pytest.raises(ConfigError, match="choose from") as err:
        build_dataset("mnist")
    assert "toy2d:two_moons" in str(err.value)
    with pytest.raises(ConfigError, match="kind"):
        build_dataset("toy2d:spirals")
    with pytest.raises(ConfigError, match="conflicts"):
        build_dataset("toy2d:two_moons", kind="swiss_roll")
    with pytest.raises(ConfigError, match="kind"):
        build_dataset("toy2d")
    with pytest.raises(ConfigError, match="split"):
        build_dataset("cifar10", split="validation")


def test_fashion_mnist_default_search_and_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """root=None: Debian folder, then resources/data/fashion-mnist; download=True fills the latter."""
    import torchvision.datasets.utils as tv_utils

    import act.data.fashion_mnist as fm

    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataNotFoundError) as err:
        build_dataset("fashion_mnist")
    assert str(tmp_path / "debian") in str(err.value)
    assert str(tmp_path / "resources" / "data" / "fashion-mnist") in str(err.value)

    fetched = []

    def fake_download(url: str, root: str, filename: str, md5: str) -> None:  # never the network
        fetched.append(url)
        shape, magic = ((4, 28, 28), 2051) if "images" in filename else ((4,), 2049)
        write_idx(Path(root) / filename, np.ones(shape, np.uint8), magic)

    monkeypatch.setattr(tv_utils, "download_url", fake_download)
    ds = build_dataset("fashion_mnist", split="test", download=True)
    assert len(ds) == 4 and len(fetched) == 4
    assert (tmp_path / "resources/data/fashion-mnist/t10k-images-idx3-ubyte.gz").is_file()


@pytest.mark.parametrize("name", ["fashion_mnist", "cifar10", "imagenet64", "lsun_cat", "image_folder"])
def test_every_loader_takes_the_trainer_keywords(tmp_path: Path, name: str) -> None:
    """act.train calls build_dataset(name, root=, split=, resolution=, download=)."""
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "absent")):
        build_dataset(name, root=str(tmp_path / "absent"), split="train", resolution=None, download=False)
    assert len(build_dataset("toy2d", root=None, split="train", resolution=None, download=False,
                             kind="two_moons", n=7)) == 7


def test_gaussian_consistency_function_solves_the_pf_ode() -> None:
    """Heun-integrating dx/dsigma = (x - D(x, sigma)) / sigma with the Gaussian's exact denoiser
    D = x s^2 / (s^2 + sigma^2) from sigma down to eps lands on gaussian_consistency_function(x, sigma)."""
    from act.data.toy import gaussian_consistency_function

    x = torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=torch.float64) * 40
    sigmas = torch.logspace(math.log10(80.0), math.log10(0.002), 4001, dtype=torch.float64)
    slope = lambda y, s: y * s / (0.25 + s * s)  # noqa: E731  (x - D(x)) / sigma
    y = x.clone()
    for s0, s1 in zip(sigmas[:-1], sigmas[1:]):
        d0 = slope(y, s0)
        y_euler = y + (s1 - s0) * d0
        y = y + (s1 - s0) * 0.5 * (d0 + slope(y_euler, s1))
    assert torch.allclose(y, gaussian_consistency_function(x, 80.0), rtol=1e-6)
    assert torch.equal(gaussian_consistency_function(x, 0.002), x)

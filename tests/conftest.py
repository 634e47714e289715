import gzip
import socket
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)  # tests run in parallel workers on 2 cores


def pytest_collection_modifyitems(config, items):
    """The longest chain first: the tests on the local CI run and the local cluster (the end-to-end run, the
    cluster runs, one compared with it), ~10 minutes in a row. At the front of the collection they fall into the first worker's first batch
    of tests, so they share its session fixture and overlap the rest of the suite. (pytest-xdist's loadgroup
    would say so explicitly, but 3.8 does not group under pytest 9: the group name never reaches the node id.)"""
    chain = {"ci_local_run", "cluster"}  # tests/test_workflow.py's end-to-end run, tests/test_slurm.py's cluster
    items.sort(key=lambda item: not chain & set(getattr(item, "fixturenames", ())))


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """No test touches the network: any socket connection but a local (AF_UNIX) one raises. (The workflow's
    end-to-end test blocks it in its subprocesses too, through a sitecustomize.)"""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(real):
        def blocked(self, address):
            if self.family == getattr(socket, "AF_UNIX", None):
                return real(self, address)
            raise OSError(f"a test tried to connect to {address!r}: tests may not touch the network")
        return blocked

    monkeypatch.setattr(socket.socket, "connect", guard(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guard(connect_ex))


def write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file (the MNIST/Fashion-MNIST format), gzipped."""
    magic = {1: 0x0801, 3: 0x0803}[array.ndim]
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="session")
def fmnist_root(tmp_path_factory) -> Path:
    """A tiny Fashion-MNIST in the official idx format: 64 train and 32 test images of blobs."""
    root = tmp_path_factory.mktemp("fmnist")
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("t10k", 32)):
        yy, xx = np.mgrid[:28, :28]
        cx, cy = rng.uniform(8, 20, n), rng.uniform(8, 20, n)
        imgs = (255 * (((xx[None] - cx[:, None, None]) ** 2 + (yy[None] - cy[:, None, None]) ** 2) < 40)).astype(np.uint8)
        write_idx(root / f"{split}-images-idx3-ubyte.gz", imgs)
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    return root


@pytest.fixture(scope="session")
def ci_local_run(tmp_path_factory):
    """config/ci.yaml run locally end to end, once per session (tests/test_workflow.py checks it; tests/test_slurm.py
    compares a cluster run with it): (its results root, holding ci.yaml; snakemake's config arguments). Its users
    come first in the collection (above), so one worker runs it once."""
    from test_workflow import run_ci_locally

    return run_ci_locally(tmp_path_factory.mktemp("ci_local"))

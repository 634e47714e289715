"""One-step sample quality on 2-D toy data: exact W1 to held-out data (the toy counterpart of FID).

Exact W1 (Euclidean ground cost, :func:`act.theory.wasserstein.exact_w1`) between the
samples and as many fresh points of the same distribution (the reference set), drawn with
seeds far from the training set's and the theory probe's. Each evaluation seed ``E``
(``act score-run --eval-seed``: a run's training seed) has its own reference set, so an
interval over seeds includes the evaluation's noise. Three trivial generators are
measured against the same reference set, at the same size n:

- ``w1_data_floor``: a second fresh data set (what a perfect generator reaches);
- ``w1_gaussian``: the Gaussian with the data distribution's mean and covariance;
- ``w1_pointmass``: n copies of the data mean (a collapse onto the mean).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, NamedTuple, Optional, Tuple, Union

import numpy as np

from act.errors import InputError
from act.io import open_npz

EVAL_SEED_OFFSET = 2_000_000  # act.theory.probe uses 1_000_000 + ...; training sets use small seeds
# The moment-matched Gaussian's draws: 3_000_000 + E stays apart from the reference and floor seeds
# (2_000_000 + 2E, + 1) of every eval seed below 500_000.
GAUSSIAN_SEED_OFFSET = 3_000_000
# The moments of a non-Gaussian kind: one large sample with a seed no other draw uses, the same in
# every process, so w1_gaussian is a function of (kind, n, eval seed) alone. At 200k points the
# mean's standard error is ~0.001, far below the W1 differences it separates (~0.2).
MOMENT_SEED = 9_000_000
MOMENT_POINTS = 200_000


@lru_cache(maxsize=None)
def data_moments(kind: str) -> Tuple[np.ndarray, np.ndarray, str]:
    """(mean (2,), covariance (2, 2), how they were obtained) of the ``kind`` distribution."""
    from act.data import sample_toy
    from act.schedules import SIGMA_DATA

    if kind == "gaussian":  # N(0, sigma_data^2 I) by definition: exact
        return np.zeros(2), SIGMA_DATA**2 * np.eye(2), "exact"
    x = sample_toy(kind, MOMENT_POINTS, MOMENT_SEED).double().numpy()
    return x.mean(axis=0), np.cov(x, rowvar=False), f"estimated from {MOMENT_POINTS} points, seed {MOMENT_SEED}"


def pointmass_w1(points: np.ndarray, at: np.ndarray) -> float:
    """Exact W1 between n copies of the point ``at`` and ``points`` (n, 2): every point is moved to ``at``,
    so it is the mean distance to it (no assignment to solve)."""
    return float(np.linalg.norm(points - at, axis=1).mean())


def reference_seeds(seed: int) -> Tuple[int, int, int]:
    """The seeds of eval seed ``seed``'s reference set, its floor set and its moment-matched Gaussian."""
    return EVAL_SEED_OFFSET + 2 * seed, EVAL_SEED_OFFSET + 2 * seed + 1, GAUSSIAN_SEED_OFFSET + seed


class EvalReferences(NamedTuple):
    """The reference set of one (kind, n, eval seed) and the trivial generators' W1 to it."""

    ref: np.ndarray  # (n, 2), read-only
    ref_seed: int
    floor_seed: int
    gaussian_seed: int
    w1_data_floor: float
    w1_gaussian: float
    w1_pointmass: float
    moments: str


@lru_cache(maxsize=8)
def eval_references(kind: str, n: int, seed: int = 0) -> EvalReferences:
    """Cached: act score-run scores every checkpoint and NFE of a run against one reference set, and the
    three trivial W1s (two exact assignments of n points) are the same for all of them."""
    import torch

    from act.data import sample_toy
    from act.theory.wasserstein import exact_w1

    ref_seed, floor_seed, gaussian_seed = reference_seeds(seed)
    ref = sample_toy(kind, n, ref_seed).double().numpy()
    ref.flags.writeable = False  # shared by every caller of the cache
    floor = exact_w1(sample_toy(kind, n, floor_seed).double().numpy(), ref)
    mean, cov, how = data_moments(kind)
    z = torch.randn((n, 2), generator=torch.Generator().manual_seed(gaussian_seed), dtype=torch.float64).numpy()
    gaussian = mean + z @ np.linalg.cholesky(cov).T
    return EvalReferences(ref, ref_seed, floor_seed, gaussian_seed, floor, exact_w1(gaussian, ref),
                          pointmass_w1(ref, mean), how)


def toy_w1(samples: Union[str, Path], kind: Optional[str] = None, num: Optional[int] = None, seed: int = 0) -> Dict[str, Any]:
    """W1 of ``samples.npz`` points to the held-out ``kind`` data of eval seed ``seed`` (kind: from the
    sample.json beside it by default), beside the data floor, the moment-matched Gaussian and the point mass."""
    from act.theory.wasserstein import exact_w1

    samples = Path(samples)
    with open_npz(samples, "toy samples.npz") as f:
        if "points" not in f:
            raise InputError(f"{samples} holds no 'points': toy metrics need a 2-D toy sample set (images: act evaluate)")
        points = f["points"].astype(np.float64)
    meta_file = samples.parent / "sample.json"
    data = json.loads(meta_file.read_text()).get("config", {}).get("data", {}) if meta_file.is_file() else {}
    kind = kind or (data.get("options") or {}).get("kind")
    if kind is None:
        raise InputError(f"no toy kind given and none in {meta_file}; pass --kind")
    if num is not None:
        points = points[:num]
    n = len(points)
    if n < 1:
        raise InputError(f"{samples} holds no points")
    train_seed = (data.get("options") or {}).get("seed")
    if train_seed in reference_seeds(seed):
        raise InputError(f"evaluation seed {seed} would reuse the training data seed {train_seed}; pick another seed")
    refs = eval_references(kind, n, seed)
    return {"w1": exact_w1(points, refs.ref), "w1_data_floor": refs.w1_data_floor, "w1_gaussian": refs.w1_gaussian,
            "w1_pointmass": refs.w1_pointmass, "distance": "exact W1 (l2 ground cost)", "num_samples": n,
            "num_ref": n, "kind": kind, "eval_seed": seed, "ref_seed": refs.ref_seed, "floor_seed": refs.floor_seed,
            "gaussian_seed": refs.gaussian_seed, "moments": refs.moments, "samples": str(samples)}

"""One-step sample quality on 2-D toy data: exact W1 to held-out data (the toy counterpart of FID).

Exact W1 (Euclidean ground cost, :func:`act.theory.wasserstein.exact_w1`) between the
samples and as many fresh points of the same distribution, drawn with seeds far from
the training set's and the theory probe's; the W1 between two such fresh sets is the
finite-sample floor a perfect generator would reach.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np

from act.errors import InputError
from act.io import open_npz

EVAL_SEED_OFFSET = 2_000_000  # act.theory.probe uses 1_000_000 + ...; training sets use small seeds


def toy_w1(samples: Union[str, Path], kind: Optional[str] = None, num: Optional[int] = None, seed: int = 0) -> Dict[str, Any]:
    """W1 of ``samples.npz`` points to held-out ``kind`` data (kind: from the sample.json beside it by default)."""
    from act.data import sample_toy
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
    ref_seed, floor_seed = EVAL_SEED_OFFSET + 2 * seed, EVAL_SEED_OFFSET + 2 * seed + 1
    train_seed = (data.get("options") or {}).get("seed")
    if train_seed in (ref_seed, floor_seed):
        raise ValueError(f"evaluation seed {seed} would reuse the training data seed {train_seed}; pick another --seed")
    ref, other = sample_toy(kind, n, ref_seed).double().numpy(), sample_toy(kind, n, floor_seed).double().numpy()
    return {"w1": exact_w1(points, ref), "w1_data_floor": exact_w1(other, ref), "distance": "exact W1 (l2 ground cost)",
            "num_samples": n, "num_ref": n, "kind": kind, "ref_seed": ref_seed, "floor_seed": floor_seed,
            "samples": str(samples)}

"""Distances between a generated point cloud and data: exact W1 (the default, 2-D points and images alike),
sliced W1 or sliced W2 (images, as options).

Exact W1 between two empirical measures with uniform weights and Euclidean ground
cost: an assignment problem for equal sizes (scipy's ``linear_sum_assignment``,
exact), POT's network simplex ``ot.emd2`` otherwise. Sliced W_p (Rabin et al. 2011;
Bonneel et al. 2015) projects flattened images on random unit directions drawn from
a fixed seed, so every checkpoint and timestep is measured along the same directions.
Sliced W1 <= W1 (each projection is 1-Lipschitz); sliced W2 is a proxy with no such
relation to W1. What the theory's bound B_k bounds is W1 (docs/METHOD.md s.5): exact W1 and
sliced W1 lie below it, sliced W2 does not.
"""

from __future__ import annotations

import numpy as np
import torch

from act.config import check_choice
from act.metrics.protocol import BOUNDED_DISTANCES, IMAGE_DISTANCES  # noqa: F401  (BOUNDED_DISTANCES re-exported)

DEFAULT_PROJECTIONS = 256  # enough for a stable estimate at CIFAR size, cheap on a CPU
DEFAULT_PROJECTION_SEED = 0


def _as_points(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """(B, ...) -> (B, D) float64 numpy."""
    arr = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    return arr.reshape(arr.shape[0], -1)


def pairwise_euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) matrix of ||a_i - b_j||_2, by differences (no ||a||^2 + ||b||^2 - 2ab cancellation)."""
    from scipy.spatial.distance import cdist

    return cdist(a, b, metric="euclidean")


def exact_w1(x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray) -> float:
    """Exact W1 between the uniform empirical measures on the rows of ``x`` and ``y`` (Euclidean cost)."""
    a, b = _as_points(x), _as_points(y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"point dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    cost = pairwise_euclidean(a, b)
    if len(a) == len(b):
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        return float(cost[rows, cols].mean())
    import ot

    wa, wb = np.full(len(a), 1.0 / len(a)), np.full(len(b), 1.0 / len(b))
    return float(ot.emd2(wa, wb, cost, numItermax=10_000_000))


def sliced_wasserstein(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    p: int = 2,
    n_projections: int = DEFAULT_PROJECTIONS,
    seed: int = DEFAULT_PROJECTION_SEED,
) -> float:
    """Sliced W_p between the rows of ``x`` and ``y`` flattened (pixel space), fixed projection seed."""
    import ot

    a, b = _as_points(x), _as_points(y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"point dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    return float(ot.sliced_wasserstein_distance(a, b, n_projections=n_projections, p=p, seed=seed))


def _is_points(x: torch.Tensor) -> bool:
    return x.ndim == 2 and x.shape[1] == 2


def distance_to_data(x: torch.Tensor, y: torch.Tensor, image_distance: str = "w1",
                     n_projections: int = DEFAULT_PROJECTIONS, seed: int = DEFAULT_PROJECTION_SEED) -> float:
    """Exact W1 for 2-D points (B, 2); for images (B, C, H, W) ``image_distance``: exact W1 between the
    flattened images (l2 ground cost in pixel space), or sliced W1 / W2 along fixed projections."""
    check_choice("image distance", image_distance, IMAGE_DISTANCES)
    if _is_points(x) or image_distance == "w1":
        return exact_w1(x, y)
    return sliced_wasserstein(x, y, p=int(image_distance[-1]), n_projections=n_projections, seed=seed)


def distance_name(x: torch.Tensor, image_distance: str = "w1") -> str:
    """Label of :func:`distance_to_data` for these points, for CSV metadata and plot axes."""
    check_choice("image distance", image_distance, IMAGE_DISTANCES)
    if _is_points(x) or image_distance == "w1":
        return "exact W1"
    return f"sliced W{image_distance[-1]}"

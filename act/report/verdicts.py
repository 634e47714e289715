"""The statistics behind each claim's verdict: Welch intervals of contrasts, and the verdict rule.

A difference is oriented so that positive means the claim. Its interval is a linear contrast
of independent groups (per-seed values), with Welch-Satterthwaite degrees of freedom; the
verdict is **holds** when the interval lies above 0, **does not hold** when below 0,
**inconclusive** when it contains 0 or a group has fewer than ``MIN_SEEDS`` seeds, and
**not run at this scale** when the runs a test needs are not in the experiment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

LEVEL = 0.95
HOLDS, FAILS, INCONCLUSIVE, NOT_RUN = "holds", "does not hold", "inconclusive", "not run at this scale"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_RUN)
MIN_SEEDS = 2  # a group with fewer seeds has no spread: never decisive


@dataclass
class Interval:
    """A contrast sum_g c_g mean_g with its Welch standard error, degrees of freedom and interval."""

    estimate: float
    se: float
    df: float
    low: float
    high: float


def welch_contrast(groups: Sequence[Sequence[float]], coefs: Sequence[float], level: float = LEVEL) -> Optional[Interval]:
    """Interval of ``sum c_g mean(groups[g])`` from independent groups (Welch-Satterthwaite df).

    One group with coefficient 1 is the one-sample t interval. None when a group has fewer
    than ``MIN_SEEDS`` finite values (no spread to judge from).
    """
    from scipy import stats

    vals = [np.asarray([v for v in g if v is not None and np.isfinite(v)], dtype=np.float64) for g in groups]
    if len(vals) != len(coefs) or any(len(v) < MIN_SEEDS for v in vals):
        return None
    est = float(sum(c * v.mean() for c, v in zip(coefs, vals)))
    var = [c * c * v.var(ddof=1) / len(v) for c, v in zip(coefs, vals)]
    se = math.sqrt(sum(var))
    if se == 0.0:  # identical values in every group: the interval is the point
        return Interval(est, 0.0, math.inf, est, est)
    df = sum(var) ** 2 / sum(w * w / (len(v) - 1) for w, v in zip(var, vals) if w > 0)
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return Interval(est, se, df, est - half, est + half)


def verdict(interval: Optional[Interval]) -> Tuple[str, str]:
    """(verdict, why) of a difference oriented so that positive is the claimed direction."""
    if interval is None:
        return INCONCLUSIVE, f"fewer than {MIN_SEEDS} seeds in a group: no interval"
    if interval.low > 0:
        return HOLDS, f"the {LEVEL:.0%} interval lies above 0"
    if interval.high < 0:
        return FAILS, f"the {LEVEL:.0%} interval lies below 0: the opposite of the claim"
    return INCONCLUSIVE, f"the {LEVEL:.0%} interval contains 0"


@dataclass
class Group:
    """The per-seed values of one side of a comparison."""

    label: str
    values: List[float]
    steps: List[float] = field(default_factory=list)
    flops: List[float] = field(default_factory=list)
    flattening: Optional[float] = None  # mean relative change of the metric over the last checkpoint interval

    def describe(self) -> Dict[str, Any]:
        v = np.asarray(self.values, dtype=np.float64)
        return {"label": self.label, "n": int(np.isfinite(v).sum()),
                "mean": float(np.nanmean(v)) if len(v) else math.nan,
                "std": float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else math.nan,
                "steps": float(np.mean(self.steps)) if self.steps else math.nan,
                "flops": float(np.mean(self.flops)) if self.flops else math.nan,
                "flattening": self.flattening if self.flattening is not None else math.nan}

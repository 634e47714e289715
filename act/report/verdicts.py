"""The statistics behind each claim's verdict: Welch intervals of contrasts, the verdict rule, Holm's adjustment.

A difference is oriented so that positive means the claim. Its interval is a linear contrast
of independent groups (per-seed values, each seed with its own evaluation draws, so the spread
over seeds holds training and evaluation noise), with Welch-Satterthwaite degrees of freedom.
The verdict of one row (:func:`verdict`):

- **undecidable (n < 2)** when a group has fewer than ``MIN_SEEDS`` seeds (no spread to judge from);
- **inconclusive** when every group's seeds agree exactly (zero spread: the interval is not
  defined, a point is no evidence) or when the interval contains 0;
- **holds** when the interval lies above 0, **does not hold** when it lies below 0.

Rows that compare with a baseline that failed (no better than a trivial reference) are
relabelled **against a failed baseline** by :mod:`act.report.claims`; rows the experiment
cannot test are **not run at this scale**; bookkeeping rows decided from the papers' recipes
are **holds (by recipe)** / **does not hold (by recipe)**; descriptive rows are **described**.

Over the tested rows of one table, :func:`holm` adjusts the two-sided p-values (Holm 1979) and
gives the verdict a row keeps when the whole table is read as one family of tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

LEVEL = 0.95
HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
UNDECIDABLE = "undecidable (n < 2)"
FAILED_BASELINE = "against a failed baseline"
NOT_RUN = "not run at this scale"
HOLDS_RECIPE, FAILS_RECIPE = "holds (by recipe)", "does not hold (by recipe)"
DESCRIBED = "described"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, UNDECIDABLE, FAILED_BASELINE, NOT_RUN, HOLDS_RECIPE, FAILS_RECIPE, DESCRIBED)
MIN_SEEDS = 2  # a group with fewer seeds has no spread: never decisive


@dataclass
class Interval:
    """A contrast sum_g c_g mean_g with its Welch standard error, degrees of freedom, interval and two-sided p."""

    estimate: float
    se: float
    df: float
    low: float
    high: float
    p: float = math.nan  # two-sided, H0: the contrast is 0; NaN without spread


def _finite(values: Sequence[Optional[float]]) -> np.ndarray:
    return np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)


def welch_contrast(groups: Sequence[Sequence[float]], coefs: Sequence[float], level: float = LEVEL) -> Optional[Interval]:
    """Interval of ``sum c_g mean(groups[g])`` from independent groups (Welch-Satterthwaite df).

    One group with coefficient 1 is the one-sample t interval. None when a group has fewer
    than ``MIN_SEEDS`` finite values; a zero-width interval (se = 0, df and p NaN) when no
    group has any spread.
    """
    from scipy import stats

    vals = [_finite(g) for g in groups]
    if len(vals) != len(coefs) or any(len(v) < MIN_SEEDS for v in vals):
        return None
    est = float(sum(c * v.mean() for c, v in zip(coefs, vals)))
    if all(np.ptp(v) == 0 for v in vals):  # identical values in every group (var() would give rounding noise)
        return Interval(est, 0.0, math.nan, est, est, math.nan)
    var = [c * c * v.var(ddof=1) / len(v) for c, v in zip(coefs, vals)]
    se = math.sqrt(sum(var))
    df = sum(var) ** 2 / sum(w * w / (len(v) - 1) for w, v in zip(var, vals) if w > 0)
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    p = float(2 * stats.t.sf(abs(est) / se, df))
    return Interval(est, se, df, est - half, est + half, p)


def verdict(interval: Optional[Interval]) -> Tuple[str, str]:
    """(verdict, why) of a difference oriented so that positive is the claimed direction."""
    if interval is None:
        return UNDECIDABLE, f"a group has fewer than {MIN_SEEDS} seeds: no spread, no interval"
    if interval.se == 0.0:
        return INCONCLUSIVE, "no spread: every group's seeds give the same value, so there is no interval"
    if interval.low > 0:
        return HOLDS, f"the {LEVEL:.0%} interval lies above 0"
    if interval.high < 0:
        return FAILS, f"the {LEVEL:.0%} interval lies below 0: the opposite of the claim"
    return INCONCLUSIVE, f"the {LEVEL:.0%} interval contains 0"


def holm(p_values: Sequence[float]) -> List[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted in the family)."""
    p = np.asarray(p_values, dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(p))
    out = np.full(len(p), math.nan)
    m, running = len(ok), 0.0
    for rank, i in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def holm_verdict(row_verdict: str, estimate: float, p_holm: float, alpha: float = 1 - LEVEL) -> str:
    """The verdict of a tested row read with Holm's adjustment; other verdicts carry over unchanged."""
    if row_verdict not in (HOLDS, FAILS, INCONCLUSIVE) or not math.isfinite(p_holm):
        return row_verdict
    if p_holm < alpha:
        return HOLDS if estimate > 0 else FAILS
    return INCONCLUSIVE


@dataclass
class Group:
    """The per-seed values of one side of a comparison (``seeds[i]`` gave ``values[i]``)."""

    label: str
    values: List[float]
    seeds: List[int] = field(default_factory=list)
    steps: List[float] = field(default_factory=list)
    flops: List[float] = field(default_factory=list)
    flattening: Optional[float] = None  # mean relative change of the metric over the last checkpoint interval

    def per_seed(self) -> str:
        """``s0=0.235 s1=0.236``: the values by seed, compact."""
        seeds = self.seeds if len(self.seeds) == len(self.values) else list(range(len(self.values)))
        return " ".join(f"s{s}={v:.4g}" for s, v in zip(seeds, self.values))

    def describe(self) -> Dict[str, Any]:
        v = _finite(self.values)
        return {"label": self.label, "n": int(len(v)),
                "mean": float(v.mean()) if len(v) else math.nan,
                "std": float(v.std(ddof=1)) if len(v) > 1 else math.nan,
                "values": self.per_seed(),
                "steps": float(np.mean(self.steps)) if self.steps else math.nan,
                "flops": float(np.mean(self.flops)) if self.flops else math.nan,
                "flattening": self.flattening if self.flattening is not None else math.nan}

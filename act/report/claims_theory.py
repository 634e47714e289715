"""The theory rows of ``act claims`` (C3), from ``act theory``'s summary of each run's final model.

The paper's bound: W1 at timestep k is at most B_k = eps E||z|| + sum_{n<k} l_n, the CT losses
accumulated up to k (docs/METHOD.md s.5). Measured per run on its own probe (``act theory``):

- C3a: B at sigma_max (``final_bound_online``) of CT at its smallest batch minus at its largest:
  the paper's reason why CT needs large batches;
- C3b: does the coupled distance w(sigma_k) (of f(x0 + sigma_k z, sigma_k) to the probe's own x0)
  keep growing along sigma? The Spearman correlation of w with k over the upper half of the grid
  (``w_coupled_growth_upper``): the lower half rises from w(eps) = 0 for any imperfect model, so
  the endpoints alone would test nothing; positive = still growing, negative = it peaks and falls;
- C3c: B(sigma_max) / w(sigma_max) (``bound_tightness``), described per arm and batch.
"""

from __future__ import annotations

import math
from typing import Dict, List

import pandas as pd

from act.report.claim_rows import BASELINE, Arm, ClaimRow, arm_label, group, not_run
from act.report.verdicts import DESCRIBED, verdict, welch_contrast

BOUND = "theory_final_bound_online"
GROWTH = "theory_w_coupled_growth_upper"
TIGHTNESS = "theory_bound_tightness"


def theory_rows(final: pd.DataFrame, arms: Dict[str, Arm], dataset: str) -> List[ClaimRow]:
    """C3a, C3b and C3c; not run without act theory's numbers."""
    runs = final.drop_duplicates(["method", "batch", "seed"]) if len(final) else final
    if BOUND not in runs or runs[BOUND].notna().sum() == 0:
        return [not_run(c, dataset, "no act theory numbers at the final models (theory disabled?)")
                for c in ("C3a", "C3b", "C3c")]
    runs = runs[runs[BOUND].notna()]
    out: List[ClaimRow] = []
    ct = arms.get(BASELINE)
    metric = "B(sigma_max), the accumulated l2 CT loss"
    if ct is None or len(ct.batches) < 2:
        out.append(not_run("C3a", dataset, "needs CT's theory numbers at two batch sizes", metric))
    else:
        s, b = ct.batches[0], ct.batches[-1]
        small, large = group(runs, BASELINE, s, BOUND), group(runs, BASELINE, b, BOUND)
        iv = welch_contrast([small.values, large.values], [1.0, -1.0])
        v, why = verdict(iv)
        out.append(ClaimRow("C3a", dataset, f"CT b{s} vs b{b}, final models", metric, [small, large], iv, v, why))
    shown = [a for a in arms.values() if a.name == BASELINE or a.is_act or a.method == "ict"]
    for arm in shown:
        for b in arm.batches:
            if GROWTH in runs:
                g = group(runs, arm.name, b, GROWTH)
                iv = welch_contrast([g.values], [1.0])
                v, why = verdict(iv)
                out.append(ClaimRow("C3b", dataset, arm_label(arm.name, b), "Spearman rho(k, w(sigma_k)), k >= N/2",
                                    [g], iv, v, why))
            if TIGHTNESS in runs:
                g = group(runs, arm.name, b, TIGHTNESS)
                out.append(ClaimRow("C3c", dataset, arm_label(arm.name, b), "B(sigma_max) / w(sigma_max)", [g], None,
                                    DESCRIBED, "a description: the ratio over seeds, no test", ratio=_mean(g.values)))
    return out


def _mean(values: List[float]) -> float:
    v = [x for x in values if math.isfinite(x)]
    return sum(v) / len(v) if v else math.nan

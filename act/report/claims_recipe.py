"""Rows decided from the papers' recipes, without training: C6 (parameters, steps) and C2's batch ratios.

The abstract: ACT "uses less than 1/6 of the original batch size and fewer than 1/2 of the model
parameters and training steps compared to the baseline method". Read against the recipes of
``reported_settings.csv`` (the official ACT scripts' defaults and parameter counts, the same as
this suite's presets; the Consistency Models paper's Table 3 and network sizes for CT), per
dataset: generator parameters, generator + discriminator parameters (ACT trains both), training
steps, and the batch counted as generator batch and as images loaded per step (ACT loads 2B:
B for the generator, B/2 + B/2 for the discriminator). "Fewer" and "less" are strict.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import pandas as pd

from act.report.claim_rows import ClaimRow, not_run
from act.report.verdicts import FAILS_RECIPE, HOLDS_RECIPE

ACT_IMAGES_PER_BATCH = 2  # ACT loads 2B images per step (docs/METHOD.md s.4)

Quantity = Tuple[str, str, float, Callable[[pd.Series], Optional[float]], Callable[[pd.Series], Optional[float]]]


def _num(row: pd.Series, key: str) -> Optional[float]:
    v = pd.to_numeric(pd.Series([row.get(key)]), errors="coerce").iloc[0]
    return float(v) if pd.notna(v) else None


def _sum(*values: Optional[float]) -> Optional[float]:
    return None if any(v is None for v in values) else float(sum(values))  # type: ignore[arg-type]


QUANTITIES: List[Quantity] = [
    ("C6", "generator parameters (M)", 1 / 2, lambda a: _num(a, "generator_params_M"),
     lambda c: _num(c, "generator_params_M")),
    ("C6", "generator + discriminator parameters (M)", 1 / 2,
     lambda a: _sum(_num(a, "generator_params_M"), _num(a, "discriminator_params_M")),
     lambda c: _num(c, "generator_params_M")),
    ("C6", "training steps", 1 / 2, lambda a: _num(a, "training_iterations"), lambda c: _num(c, "training_iterations")),
    ("C2", "batch (generator)", 1 / 6, lambda a: _num(a, "batch_size"), lambda c: _num(c, "batch_size")),
    ("C2", "batch (images per step)", 1 / 6,
     lambda a: None if _num(a, "batch_size") is None else ACT_IMAGES_PER_BATCH * _num(a, "batch_size"),
     lambda c: _num(c, "batch_size")),
]


def recipe_rows(settings: Optional[pd.DataFrame]) -> List[ClaimRow]:
    """One row per reported dataset and quantity: the ratio ACT / CT of the two recipes against its threshold."""
    if settings is None or not len(settings):
        return []
    out = []
    for dataset in dict.fromkeys(settings["dataset"]):
        rows = settings[settings["dataset"] == dataset]
        act, ct = rows[rows["method"] == "ACT"], rows[rows["method"] == "CT"]
        label = f"{dataset} (recipes)"
        for claim, what, threshold, of_act, of_ct in QUANTITIES:
            metric = f"{what}: ACT / CT < {threshold:.3g}"
            a = of_act(act.iloc[0]) if len(act) else None
            c = of_ct(ct.iloc[0]) if len(ct) else None
            if a is None or c is None or c == 0:
                row = not_run(claim, label, f"reported_settings.csv gives no {what} of the "
                              f"{'ACT' if a is None else 'CT'} recipe", metric)
                row.scale = what
                out.append(row)
                continue
            ratio = a / c
            ok = ratio < threshold
            why = f"{a:,.4g} / {c:,.4g} = {ratio:.3f} {'<' if ok else '>='} {threshold:.3g}"
            out.append(ClaimRow(claim, label, what, metric, [], None, HOLDS_RECIPE if ok else FAILS_RECIPE, why,
                                test="ACT / CT in the papers' recipes (reported_settings.csv); no training",
                                ratio=ratio))
    return out


__all__ = ["recipe_rows", "QUANTITIES", "ACT_IMAGES_PER_BATCH"]

"""Claims and verdicts: for each claim of the ACT paper, does it hold at this experiment's scale?

One row per statement (:mod:`act.report.claim_texts`: the paper's words, its kind, the test),
dataset, scale and number of sampling steps:

- S1 (check): each arm beats a Gaussian with the data's moments on the same evaluation draws;
  rows whose CT groups do not are "against a failed baseline";
- P1 (premise): CT improves with the batch;
- C1a / C1b: ACT beats CT with no more compute / at the same steps, each run its own schedule;
- C2: ACT with < 1/6 of CT's batch and < 1/2 of its steps beats CT (batch counted as generator
  batch and as images per step);
- C3a / C3b / C3c (theory): CT's accumulated loss B falls with the batch; the coupled distance
  keeps growing along sigma; how tightly B bounds it;
- C4: ACT reaches CT's final quality with less compute (convergence);
- C5a / C5b: zero-shot inpainting;
- C6 and C2 by recipe: parameter, step and batch ratios of the papers' recipes (no training);
- C7: the adversarial term causes the gain (ACT vs ACT with lambda_max 0);
- X1 (extension): ACT depends less on the batch than CT.

Evidence per row: per group mean, standard deviation, seeds and per-seed values; the difference
in the claimed direction with a 95% Welch interval, its degrees of freedom and p-value, and the
Holm-adjusted p-value over the table's tests (:mod:`act.report.verdicts`).
"""

from __future__ import annotations

from typing import Dict, List, Optional

import pandas as pd

from act.errors import ConfigError

from act.report.claim_rows import ClaimRow, arms_of, at_nfe, final_rows, not_run, quality_metric
from act.report.claim_texts import CLAIMS, ORDER
from act.report.claims_quality import QualityRows, convergence_rows, inpaint_rows
from act.report.claims_recipe import recipe_rows
from act.report.claims_theory import theory_rows
from act.report.verdicts import holm, holm_verdict

HOLM_KINDS = ("claim", "premise", "theory", "extension")  # the family Holm adjusts over: not the S1 checks


def reported_difference(reported: Optional[pd.DataFrame], name: Optional[str]) -> str:
    """The papers' one-step FID of CT and ACT on ``name`` (reported_results.csv), as text."""
    if reported is None or not name:
        return ""
    r = reported[(reported["dataset"] == name) & (reported["metric"] == "fid") & (reported["steps_sampling"] == 1)]
    vals = {m: float(v) for m, v in zip(r["method"], r["value"])}
    if "ACT" in vals and "CT" in vals:
        return f"papers: CT {vals['CT']:g} vs ACT {vals['ACT']:g} (FID, one step)"
    return ""


def dataset_claims(rows: pd.DataFrame, dataset: str, reported: Optional[pd.DataFrame] = None,
                   reported_as: Optional[str] = None, metric: Optional[str] = None) -> List[ClaimRow]:
    """Every row of one dataset (or of the recipes reported as one dataset); ``metric``: its quality column
    (default: exact W1 on 2-D toy data, else FID)."""
    metric, lower = quality_metric(rows, metric)
    final = final_rows(rows)
    arms = arms_of(final)
    nfes = [n for n in (1, 2) if len(at_nfe(final, n, metric))]
    out: List[ClaimRow] = []
    for nfe in nfes:
        q = QualityRows(dataset, final, rows, arms, metric, lower, nfe)
        out += q.rows()
        if nfe == 1:
            out += convergence_rows(q)
    if not nfes:
        out += [not_run(c, dataset, f"no final model has a {metric}", metric) for c in ("P1", "C1a", "C1b", "C2", "C4")]
    out += theory_rows(final, arms, dataset)
    out += inpaint_rows(final, dataset, metric == "w1")
    text = reported_difference(reported, reported_as)
    for r in out:
        if r.claim in ("C1a", "C1b", "C2") and text:
            r.reported = text
    return out


def claims_table(summary: pd.DataFrame, reported: Optional[pd.DataFrame] = None,
                 reported_as: Optional[Dict[str, str]] = None, settings: Optional[pd.DataFrame] = None,
                 metrics: Optional[Dict[str, str]] = None) -> pd.DataFrame:
    """Every row of the experiment (a row per claim, dataset, scale and NFE), then the recipe rows of ``settings``
    (reported_settings.csv), with Holm-adjusted p-values over the tests."""
    mapping = reported_as or {}
    datasets = set(summary["dataset"].astype(str))
    unknown = sorted(set(metrics or {}) - datasets)
    if unknown:  # a typo would silently leave the dataset on its default metric
        raise ConfigError(f"a claims metric names dataset(s) {unknown} that the summary does not have; "
                          f"its datasets are {sorted(datasets)}")
    rows: List[ClaimRow] = []
    # Dataset keys reported as one dataset (the paper configs: one key per recipe) are compared together.
    names = summary["dataset"].astype(str).map(lambda d: mapping.get(d) or d)
    for name, part in summary.groupby(names, sort=False):
        keys = sorted(set(part["dataset"].astype(str)))
        label = str(name) if keys == [str(name)] else f"{name} ({', '.join(keys)})"
        chosen = {(metrics or {}).get(k) for k in keys} - {None}
        if len(chosen) > 1:
            raise ConfigError(f"dataset keys {keys} are compared together but name different claims metrics "
                              f"{sorted(chosen)}: give them one")
        rows += dataset_claims(part, label, reported, str(name), chosen.pop() if chosen else None)
    rows += recipe_rows(settings)
    rows.sort(key=lambda r: ORDER.index(r.claim))  # stable: within a claim, the order built
    family = [i for i, r in enumerate(rows) if CLAIMS[r.claim].kind in HOLM_KINDS and r.interval is not None]
    adjusted = holm([rows[i].interval.p for i in family])  # type: ignore[union-attr]
    for i, p in zip(family, adjusted):
        rows[i].p_holm = p
        rows[i].verdict_holm = holm_verdict(rows[i].verdict, rows[i].interval.estimate, p)  # type: ignore[union-attr]
    return pd.DataFrame.from_records([r.record() for r in rows])


__all__ = ["claims_table", "dataset_claims", "reported_difference", "HOLM_KINDS"]

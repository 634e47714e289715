"""The rows of ``act claims`` and what they are built from: final models, arms, groups, the baseline check.

Each row tests one statement (:mod:`act.report.claim_texts`: the paper's words, the kind of
statement, the difference formed) on the experiment's **final models**: every run trains its own
schedule (its curriculum and EMA reach their end), so no mid-schedule checkpoint stands in for a
shorter run. An experiment's ``methods`` are arms (:mod:`act.plan.experiment`): ``ct`` is the CT
baseline; arms of method ``act`` with ``lambda_max > 0`` are ACT; an arm of method ``act`` with
``lambda_max = 0`` is ACT without its adversarial term (the ablation of C7). The summary carries
each run's method and ``lambda_max`` (``act aggregate``).

Quality rows (S1, P1, C1a, C1b, C2, C7, X1) are formed for one-step and two-step samples alike;
C4 on the one-step curve. A row whose CT groups are no better than a Gaussian with the data's
moments, scored on the same evaluation draws (toy data: ``w1_gaussian``), compares with a
baseline that does not work: its verdict is **against a failed baseline**, whatever the interval.
The statistics and the verdict rule are in :mod:`act.report.verdicts`; the quality rows in
:mod:`act.report.claims_quality`; the theory rows (C3) in :mod:`act.report.claims_theory`; the rows
decided from the papers' recipes (C6, C2 by recipe) in :mod:`act.report.claims_recipe`; the table
of them all in :mod:`act.report.claims`; the files in :mod:`act.report.claims_output`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from act.errors import ConfigError
from act.report.aggregate import flag
from act.report.claim_texts import CLAIMS
from act.report.style import method_label
from act.report.verdicts import FAILED_BASELINE, NOT_RUN, Group, Interval, verdict, welch_contrast

SMALL_BATCH_RATIO = 1 / 6  # C2: "less than 1/6 of the original batch size"
FEWER_STEPS_RATIO = 1 / 2  # C2: "fewer than 1/2 of the ... training steps"
FLOP_TOLERANCE = 1e-3  # "no more compute": an ACT run may exceed CT's FLOPs by this share (rounding of steps)
BASELINE = "ct"  # the arm with the CT paper's recipe: every "ACT beats CT" row compares with it
REFERENCES = {"w1": "w1_gaussian", "classifier_fd": "classifier_fd_gaussian"}  # quality column -> the moment-matched
# Gaussian scored on the same draws (images: as many images as samples, against the same reference set)


@dataclass
class ClaimRow:
    claim: str
    dataset: str
    scale: str  # which runs: batch sizes, steps
    metric: str
    groups: List[Group]
    interval: Optional[Interval]
    verdict: str
    why: str
    nfe: Optional[int] = None  # sampling steps of the quality compared (None: not a sample-quality row)
    test: str = ""  # default: the claim's
    baseline: str = ""  # the baseline check of the row's CT groups
    reported: str = ""  # what the papers report for the same comparison, when known
    ratio: float = math.nan  # rows decided by recipe: ACT / baseline
    p_holm: float = math.nan
    verdict_holm: str = ""

    def record(self) -> Dict[str, Any]:
        c = CLAIMS[self.claim]
        out: Dict[str, Any] = {"claim": self.claim, "kind": c.kind, "statement": c.statement, "quote": c.quote,
                               "dataset": self.dataset, "scale": self.scale, "nfe": self.nfe,
                               "test": self.test or c.test, "metric": self.metric}
        for i, g in enumerate(self.groups[:4]):
            for k, v in g.describe().items():
                out[f"g{i + 1}_{k}"] = v
        iv = self.interval
        out.update({"difference": iv.estimate if iv else self.ratio, "ci_low": iv.low if iv else math.nan,
                    "ci_high": iv.high if iv else math.nan, "se": iv.se if iv else math.nan,
                    "df": iv.df if iv else math.nan, "p": iv.p if iv else math.nan, "p_holm": self.p_holm,
                    "verdict": self.verdict, "verdict_holm": self.verdict_holm or self.verdict, "why": self.why,
                    "baseline": self.baseline, "reported": self.reported})
        return out


def not_run(claim: str, dataset: str, why: str, metric: str = "", nfe: Optional[int] = None, scale: str = "-") -> ClaimRow:
    return ClaimRow(claim, dataset, scale, metric, [], None, NOT_RUN, why, nfe)


def compare(claim: str, dataset: str, scale: str, metric: str, nfe: Optional[int], better: Group, worse: Group,
            lower_is_better: bool = True) -> ClaimRow:
    """Claim: ``better`` beats ``worse``; the difference is oriented so that positive is the claim."""
    sign = 1.0 if lower_is_better else -1.0
    iv = welch_contrast([worse.values, better.values], [sign, -sign])
    v, why = verdict(iv)
    return ClaimRow(claim, dataset, scale, metric, [better, worse], iv, v, why, nfe)


# ----------------------------------------------------------------------------- runs and arms
# Columns a dataset's claims may name (act claims --metric): all lower-is-better distances.
CLAIMS_METRICS = ("fid", "classifier_fd", "kid_mean", "w1")


def quality_metric(rows: pd.DataFrame, column: Optional[str] = None) -> Tuple[str, bool]:
    """(column, lower is better) of sample quality: ``column`` when given, else exact W1 on 2-D toy data (the
    summary's ``toy``), else FID."""
    if column is not None:
        if column not in CLAIMS_METRICS:
            raise ConfigError(f"claims metric {column!r} is not one of {', '.join(CLAIMS_METRICS)}: name one of them")
        if column not in rows or rows[column].notna().sum() == 0:
            raise ConfigError(f"claims metric {column!r} was not measured in this summary: enable it (classifier_fd "
                              "needs the dataset's classifier) or name a measured metric")
        return column, True
    return ("w1" if flag(rows, "toy").any() else "fid"), True


def final_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of each run's final model (its own schedule's end: the summary's ``final``)."""
    return rows[flag(rows, "final")]


def at_nfe(rows: pd.DataFrame, nfe: int, column: str) -> pd.DataFrame:
    n = pd.to_numeric(rows["nfe"], errors="coerce").astype("float64")  # nullable Int64 -> NaN
    return rows[(n == nfe) & rows[column].notna()]


@dataclass
class Arm:
    """One arm of the experiment: its method, whether its adversarial term is on, and its runs' sizes by batch."""

    name: str
    method: str
    adversarial: bool
    steps: Dict[int, float] = field(default_factory=dict)  # batch -> train steps
    flops: Dict[int, float] = field(default_factory=dict)  # batch -> final training FLOPs (mean over seeds)
    images: Dict[int, float] = field(default_factory=dict)  # batch -> images loaded per step
    recipe: Optional[str] = None  # the CT settings its consistency loss uses (s0, s1, mu0, target); None: unknown

    @property
    def batches(self) -> List[int]:
        return sorted(self.steps)

    @property
    def is_act(self) -> bool:
        return self.method == "act" and self.adversarial

    def same_recipe(self, other: Optional["Arm"]) -> bool:
        """Whether the two arms' consistency losses share their CT settings (unknown on either side: assumed)."""
        return other is None or self.recipe is None or other.recipe is None or self.recipe == other.recipe


def arms_of(final: pd.DataFrame) -> Dict[str, Arm]:
    """{arm: Arm} from the final rows (method and lambda_max columns of act aggregate; arm name as fallback)."""
    out: Dict[str, Arm] = {}
    for (name, batch), g in final.groupby(["method", "batch"]):
        first = g.iloc[0]
        method = str(first.get("method_name")) if isinstance(first.get("method_name"), str) else str(name)
        lam = pd.to_numeric(pd.Series([first.get("lambda_max")]), errors="coerce").iloc[0]
        recipe = first.get("ct_recipe")
        arm = out.setdefault(str(name), Arm(str(name), method, method == "act" and not (pd.notna(lam) and lam == 0),
                                            recipe=recipe if isinstance(recipe, str) else None))
        steps = g["train_steps"].dropna() if "train_steps" in g else pd.Series(dtype=float)
        arm.steps[int(batch)] = float(steps.iloc[0]) if len(steps) else float(g["ckpt_step"].max())
        arm.flops[int(batch)] = float(pd.to_numeric(g.get("train_flops"), errors="coerce").mean()) \
            if "train_flops" in g else math.nan
        ips = pd.to_numeric(g["images_per_step"], errors="coerce").dropna() if "images_per_step" in g else []
        arm.images[int(batch)] = float(ips.iloc[0]) if len(ips) else float(batch)
    return out


def arm_label(arm: str, batch: int) -> str:
    return f"{method_label(arm)} b{batch}"


def group(final: pd.DataFrame, arm: str, batch: int, column: str, runs: Optional[pd.DataFrame] = None,
          label: Optional[str] = None) -> Group:
    """Per seed, the final model's ``column`` of (arm, batch); ``runs`` (every checkpoint) gives the flattening."""
    from act.report.tables import last_change

    sel = final[(final["method"] == arm) & (final["batch"] == batch)].sort_values("seed")
    g = Group(label or arm_label(arm, batch), [float(v) for v in sel[column]], [int(s) for s in sel["seed"]],
              [float(v) for v in sel["ckpt_step"]],
              [float(v) for v in sel["train_flops"]] if "train_flops" in sel else [])
    if runs is not None and len(sel):
        mine = runs[(runs["method"] == arm) & (runs["batch"] == batch)]
        changes = [last_change(mine[mine["seed"] == s], column, int(k)) for s, k in zip(g.seeds, g.steps)]
        changes = [c for c in changes if math.isfinite(c)]
        g.flattening = float(np.mean(changes)) if changes else None
    return g


# ----------------------------------------------------------------------------- the baseline check
def baseline_check(final: pd.DataFrame, arm: str, batch: int, column: str, lower: bool
                   ) -> Tuple[Optional[bool], str, Optional[ClaimRow]]:
    """(works?, text, S1 row) of (arm, batch): better than the moment-matched Gaussian on the same draws?

    Paired per run: each run's Gaussian reference is scored against the run's own reference set, so the
    per-run difference is free of that set's noise. None when no reference was measured (images) or a
    group has under two seeds."""
    ref = REFERENCES.get(column)
    if ref is None or ref not in final or final[ref].notna().sum() == 0:
        return None, "", None
    sel = final[(final["method"] == arm) & (final["batch"] == batch) & final[ref].notna()]
    method = group(sel, arm, batch, column)
    gauss = group(sel, arm, batch, ref, label=f"Gaussian (draws of {arm_label(arm, batch)})")
    sign = 1.0 if lower else -1.0
    diff = [sign * (r - m) for r, m in zip(gauss.values, method.values)]
    iv = welch_contrast([diff], [1.0])
    v, why = verdict(iv)
    row = ClaimRow("S1", "", arm_label(arm, batch), column, [method, gauss], iv, v, why + " (paired per run)")
    if iv is None or iv.se == 0:
        return None, "", row
    works = iv.low > 0
    text = (f"{arm_label(arm, batch)} {'beats' if works else 'is not shown better than'} a moment-matched Gaussian "
            f"({method.describe()['mean']:.4g} vs {gauss.describe()['mean']:.4g})")
    return works, text, row


def mark_baseline(row: ClaimRow, checks: Sequence[Tuple[Optional[bool], str, Any]]) -> ClaimRow:
    """Relabel ``row`` 'against a failed baseline' when every CT group it holds failed its check."""
    known = [c for c in checks if c[0] is not None]
    row.baseline = "; ".join(c[1] for c in known)
    if known and not any(c[0] for c in known) and row.verdict != NOT_RUN:
        row.why = f"the baseline does not work: {row.baseline}; the interval alone would say: {row.verdict}"
        row.verdict = FAILED_BASELINE
    return row

"""Claims and verdicts: for each claim of the ACT paper, does it hold at this experiment's scale?

The paper (Kong et al., CVPR 2024, abstract and sections 3-5) claims, for one-step generation:

- C1: ACT gives better one-step quality than CT at lower cost. Tested twice per batch size:
  C1a at matched compute (each ACT run's latest checkpoint whose training FLOPs do not exceed
  the CT run's final FLOPs), C1b at the same number of training steps.
- C2: ACT does so with less than 1/6 of CT's batch size and fewer steps: ACT at a batch at
  most 1/6 of the largest, at its latest checkpoint with no more steps than CT's, against CT
  at the largest batch, final model.
- C3: CT's Wasserstein bound accumulates over timesteps, ACT's per-timestep JS term does not:
  C3a the distance of f(x0 + sigma z, sigma) to independent data (``act theory``) grows from
  the smallest to the largest sigma for CT; C3b it grows less for ACT.
- C4: CT needs large batches: at a fixed number of steps, CT's quality loss from the smaller
  batch exceeds ACT's (the batch effect of CT minus that of ACT).
- C5: ACT keeps zero-shot inpainting: C5a its filled-region PSNR beats a trivial fill (the
  mean of the known pixels), C5b it is not below CT's.
- C6: ACT uses fewer than 1/2 of CT's model parameters: only an experiment that varies the
  generator size can test it.

Evidence for each row: per group mean, standard deviation and number of seeds, and the
difference in the claimed direction (positive = as claimed) with a 95% Welch interval
(a linear contrast of independent groups; paired per-seed differences where the two
values come from the same run). Verdict rule: **holds** when the interval lies above 0,
**does not hold** when it lies below 0, **inconclusive** when it contains 0 or any group
has fewer than 2 seeds (one seed is never decisive), **not run at this scale** when the
runs the test needs are not in the experiment.

The statistics and the verdict rule are in :mod:`act.report.verdicts`; the files (Markdown, CSV,
JSON, forest plot) in :mod:`act.report.claims_output`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import pandas as pd

from act.report.verdicts import (FAILS, HOLDS, INCONCLUSIVE, LEVEL, MIN_SEEDS, NOT_RUN, VERDICTS, Group, Interval,
                                 verdict, welch_contrast)

PathLike = Union[str, Path]
SMALL_BATCH_RATIO = 1 / 6  # C2: "less than 1/6 of the original batch size"
FLOP_TOLERANCE = 1e-3  # matched compute: an ACT checkpoint may exceed CT's FLOPs by this share (rounding)

CLAIMS: Dict[str, str] = {
    "C1a": "ACT gives better one-step quality than CT at matched compute",
    "C1b": "ACT gives better one-step quality than CT at the same number of training steps",
    "C2": "ACT beats CT with less than 1/6 of CT's batch size and no more steps",
    "C3a": "CT's distance of f(x0 + sigma z, sigma) to the data grows with sigma (the bound accumulates)",
    "C3b": "ACT's distance grows less with sigma than CT's",
    "C4": "CT's quality depends on the batch size (at fixed steps) more than ACT's",
    "C5a": "ACT keeps zero-shot inpainting: its filled-region PSNR beats a trivial fill",
    "C5b": "ACT inpaints at least as well as CT",
    "C6": "ACT needs fewer than 1/2 of CT's generator parameters",
}



@dataclass
class ClaimRow:
    claim: str
    dataset: str
    scale: str  # which runs: batch sizes, steps
    test: str  # how the difference is formed
    metric: str
    groups: List[Group]
    interval: Optional[Interval]
    verdict: str
    why: str
    reported: str = ""  # what the papers report for the same comparison, when known

    def record(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"claim": self.claim, "statement": CLAIMS[self.claim], "dataset": self.dataset,
                               "scale": self.scale, "test": self.test, "metric": self.metric}
        for i, g in enumerate(self.groups[:4]):
            for k, v in g.describe().items():
                out[f"g{i + 1}_{k}"] = v
        iv = self.interval
        out.update({"difference": iv.estimate if iv else math.nan, "ci_low": iv.low if iv else math.nan,
                    "ci_high": iv.high if iv else math.nan, "df": iv.df if iv else math.nan,
                    "verdict": self.verdict, "why": self.why, "reported": self.reported})
        return out


def not_run(claim: str, dataset: str, why: str, metric: str = "") -> ClaimRow:
    return ClaimRow(claim, dataset, "-", "-", metric, [], None, NOT_RUN, why)


# ----------------------------------------------------------------------------- selecting runs
def quality_metric(rows: pd.DataFrame) -> Tuple[str, bool]:
    """(column, lower is better) of one-step quality: exact W1 on 2-D toy data, else FID."""
    if "w1" in rows and rows["w1"].notna().any() and not ("fid" in rows and rows["fid"].notna().any()):
        return "w1", True
    return "fid", True


def one_step(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows of one-step sample sets with a value of ``metric``."""
    nfe = pd.to_numeric(rows["nfe"], errors="coerce").astype("float64")  # nullable Int64 -> NaN
    return rows[(nfe == 1) & rows[metric].notna()]


def _run_rows(rows: pd.DataFrame, method: str, batch: int) -> Dict[int, pd.DataFrame]:
    """seed -> that run's rows sorted by checkpoint step."""
    sel = rows[(rows["method"] == method) & (rows["batch"] == batch)]
    return {int(s): g.sort_values("ckpt_step") for s, g in sel.groupby("seed")}


def _final_step(run: pd.DataFrame) -> int:
    steps = run.get("train_steps")
    if steps is not None and steps.notna().any():
        return int(steps.dropna().iloc[0])
    return int(run["ckpt_step"].max())


def _flattening(runs: Dict[int, pd.DataFrame], metric: str, at: Dict[int, int]) -> Optional[float]:
    """Mean over seeds of the metric's relative change over the interval ending at the chosen checkpoint
    (:func:`act.report.tables.last_change`); None when no seed has an earlier checkpoint."""
    from act.report.tables import last_change

    out = [last_change(runs[seed], metric, step) for seed, step in at.items()]
    out = [v for v in out if math.isfinite(v)]
    return float(np.mean(out)) if out else None


def pick(rows: pd.DataFrame, method: str, batch: int, metric: str, *, max_step: float = math.inf,
         max_flops: float = math.inf, label: Optional[str] = None) -> Group:
    """Per seed, the run's latest checkpoint with at most ``max_step`` steps and ``max_flops`` training FLOPs
    (its final model when unbounded)."""
    runs = _run_rows(rows, method, batch)
    values, steps, flops, at = [], [], [], {}
    for seed, run in runs.items():
        ok = (run["ckpt_step"] <= _final_step(run)) & (run["ckpt_step"] <= max_step)
        if math.isfinite(max_flops):
            ok &= run["train_flops"].fillna(math.inf) <= max_flops * (1 + FLOP_TOLERANCE)
        chosen = run[ok]
        if not len(chosen):
            continue
        row = chosen.iloc[-1]
        values.append(float(row[metric]))
        steps.append(float(row["ckpt_step"]))
        flops.append(float(row.get("train_flops", math.nan)))
        at[seed] = int(row["ckpt_step"])
    g = Group(label or f"{method.upper() if method != 'ict' else 'iCT'} b{batch}", values, steps, flops)
    g.flattening = _flattening(runs, metric, at)
    return g


def _limit(group: Group, which: str) -> float:
    """The largest steps or FLOPs over a group's seeds (-inf for an empty group: nothing fits under it)."""
    vals = group.steps if which == "steps" else group.flops
    return max(vals) if vals else -math.inf


def _compare(claim: str, dataset: str, scale: str, test: str, metric: str, better: Group, worse: Group,
             lower_is_better: bool) -> ClaimRow:
    """Claim: ``better`` beats ``worse``. Difference oriented so that positive is the claim."""
    sign = 1.0 if lower_is_better else -1.0
    iv = welch_contrast([worse.values, better.values], [sign, -sign])
    if not better.values or not worse.values:
        return not_run(claim, dataset, f"no runs for {better.label if not better.values else worse.label}", metric)
    v, why = verdict(iv)
    return ClaimRow(claim, dataset, scale, test, metric, [better, worse], iv, v, why)


# ----------------------------------------------------------------------------- the claims
def batches_of(rows: pd.DataFrame, method: str) -> List[int]:
    return sorted(int(b) for b in rows.loc[rows["method"] == method, "batch"].dropna().unique())


def batch_pairs(rows: pd.DataFrame) -> List[Tuple[int, int]]:
    """(ACT batch, CT batch) pairs to compare: every batch size both methods ran, else (recipes with
    their own batch sizes, as the paper configs) ACT's largest against CT's largest."""
    act_b, ct_b = batches_of(rows, "act"), batches_of(rows, "ct")
    common = sorted(set(act_b) & set(ct_b))
    if common:
        return [(b, b) for b in common]
    return [(max(act_b), max(ct_b))] if act_b and ct_b else []


def pair_label(a: int, c: int) -> str:
    return f"batch {a}" if a == c else f"ACT b{a} vs CT b{c}"


def quality_claims(rows: pd.DataFrame, dataset: str) -> List[ClaimRow]:
    """C1a, C1b, C2, C4 on one dataset's summary rows."""
    metric, lower = quality_metric(rows)
    rows = one_step(rows, metric)
    methods = set(rows["method"])
    out: List[ClaimRow] = []
    if not {"act", "ct"} <= methods:
        why = f"needs ACT and CT runs; this experiment has {sorted(methods)}"
        return [not_run(c, dataset, why, metric) for c in ("C1a", "C1b", "C2", "C4")]
    for a, c in batch_pairs(rows):
        ct = pick(rows, "ct", c, metric)
        act_c = pick(rows, "act", a, metric, max_flops=_limit(ct, "flops"))
        out.append(_compare("C1a", dataset, pair_label(a, c), "CT(final) - ACT(checkpoint with FLOPs <= CT's)",
                            metric, act_c, ct, lower))
        act_final = pick(rows, "act", a, metric)
        k = min(_limit(ct, "steps"), _limit(act_final, "steps"))
        act_s = pick(rows, "act", a, metric, max_step=k)
        ct_s = pick(rows, "ct", c, metric, max_step=k)
        out.append(_compare("C1b", dataset, f"{pair_label(a, c)}, step <= {int(k)}", "CT - ACT at the same step",
                            metric, act_s, ct_s, lower))
    act_b, ct_b = batches_of(rows, "act"), batches_of(rows, "ct")
    small, big = min(act_b), max(ct_b)
    if small > big * SMALL_BATCH_RATIO:
        out.append(not_run("C2", dataset, f"needs an ACT batch <= 1/6 of CT's largest; ACT {act_b}, CT {ct_b}", metric))
    else:
        ct = pick(rows, "ct", big, metric)
        act_small = pick(rows, "act", small, metric, max_step=_limit(ct, "steps"))
        out.append(_compare("C2", dataset, f"ACT b{small} vs CT b{big}", "CT(b_large, final) - ACT(b_small, steps <= CT's)",
                            metric, act_small, ct, lower))
    both = sorted(set(act_b) & set(ct_b))
    if len(both) < 2:
        out.append(not_run("C4", dataset, f"needs two batch sizes run by both; ACT {act_b}, CT {ct_b}", metric))
    else:
        small, big = both[0], both[-1]
        # at the largest step every run of both batch sizes has reached
        finals = [pick(rows, m, b, metric) for m in ("ct", "act") for b in (small, big)]
        k = min(_limit(g, "steps") for g in finals)
        g = [pick(rows, m, b, metric, max_step=k) for m in ("ct", "act") for b in (small, big)]
        sign = 1.0 if lower else -1.0  # batch effect: quality lost going to the small batch
        iv = welch_contrast([x.values for x in g], [sign, -sign, -sign, sign])
        v, why = verdict(iv)
        out.append(ClaimRow("C4", dataset, f"b{small} vs b{big}, step <= {int(k)}",
                            "[CT(b_small) - CT(b_large)] - [ACT(b_small) - ACT(b_large)]", metric, g, iv, v, why))
    return out


def theory_growth(table: pd.DataFrame, column: str = "w_independent") -> float:
    """Distance at the largest sigma minus that at the smallest, of one ``act theory`` timestep table."""
    t = table.dropna(subset=[column]).sort_values("sigma")
    return float(t[column].iloc[-1] - t[column].iloc[0]) if len(t) >= 2 else math.nan


def growth_group(theory: Dict[Tuple[str, int, int], pd.DataFrame], method: str, batch: int) -> Group:
    vals = [theory_growth(t) for (m, b, s), t in sorted(theory.items()) if m == method and b == batch]
    return Group(f"{method.upper()} b{batch}", [v for v in vals if np.isfinite(v)])


def theory_claims(theory: Dict[Tuple[str, int, int], pd.DataFrame], dataset: str) -> List[ClaimRow]:
    """C3a, C3b from the final checkpoint's timestep table of each run: {(method, batch, seed): table}."""
    if not theory:
        return [not_run(c, dataset, "no act theory tables (theory disabled)") for c in ("C3a", "C3b")]
    out = []
    metric = "growth of w_independent, sigma_min -> sigma_max"
    for b in sorted({b for m, b, _ in theory if m == "ct"}):
        ct = growth_group(theory, "ct", b)
        if ct.values:
            iv = welch_contrast([ct.values], [1.0])
            v, why = verdict(iv)
            out.append(ClaimRow("C3a", dataset, f"batch {b}, final", "CT's growth", metric, [ct], iv, v, why))
    keys = pd.DataFrame([{"method": m, "batch": b} for m, b, _ in theory])
    for a, c in batch_pairs(keys):
        ct, act_ = growth_group(theory, "ct", c), growth_group(theory, "act", a)
        if ct.values and act_.values:
            out.append(_compare("C3b", dataset, f"{pair_label(a, c)}, final", "CT's growth - ACT's growth", metric,
                                act_, ct, True))
    return out or [not_run(c, dataset, "no CT or ACT theory tables") for c in ("C3a", "C3b")]


def inpaint_claims(rows: pd.DataFrame, dataset: str, toy: bool) -> List[ClaimRow]:
    """C5a (ACT vs a trivial fill, paired per run) and C5b (ACT vs CT), final models."""
    if toy:
        return [not_run(c, dataset, "2-D toy data: no images to inpaint") for c in ("C5a", "C5b")]
    if "inpaint_psnr" not in rows or rows["inpaint_psnr"].notna().sum() == 0:
        return [not_run(c, dataset, "no act inpaint results (inpaint disabled)") for c in ("C5a", "C5b")]
    have = rows[rows["inpaint_psnr"].notna()]
    out = []
    metric = "PSNR of the filled region (dB)"
    def final(method: str, batch: int) -> pd.DataFrame:
        sel = have[(have["method"] == method) & (have["batch"] == batch)]
        return sel.sort_values("ckpt_step").groupby("seed").last()

    for b in batches_of(have, "act"):
        act_r = final("act", b)
        if len(act_r) and "inpaint_psnr_trivial" in act_r:
            diff = Group(f"ACT b{b} - trivial fill", list(act_r["inpaint_psnr"] - act_r["inpaint_psnr_trivial"]))
            iv = welch_contrast([diff.values], [1.0])
            v, why = verdict(iv)
            out.append(ClaimRow("C5a", dataset, f"batch {b}, final", "ACT - trivial fill (paired per run)", metric,
                                [Group(f"ACT b{b}", list(act_r["inpaint_psnr"])),
                                 Group("trivial fill", list(act_r["inpaint_psnr_trivial"]))], iv, v, why))
    for a, c in batch_pairs(have):
        act_r, ct_r = final("act", a), final("ct", c)
        out.append(_compare("C5b", dataset, f"{pair_label(a, c)}, final", "ACT - CT", metric,
                            Group(f"ACT b{a}", list(act_r["inpaint_psnr"])), Group(f"CT b{c}", list(ct_r["inpaint_psnr"])),
                            False))
    return out or [not_run(c, dataset, "no ACT inpainting results") for c in ("C5a", "C5b")]


def parameter_claim(rows: pd.DataFrame, dataset: str) -> ClaimRow:
    """C6 needs generators of different sizes for ACT and CT; this suite trains both with the same network."""
    g = rows.get("params_generator")
    sizes = {m: set(rows.loc[rows["method"] == m, "params_generator"].dropna()) for m in ("act", "ct")} if g is not None else {}
    if sizes.get("act") and sizes.get("ct") and sizes["act"] != sizes["ct"]:
        why = "generator sizes differ, but no experiment varies them against quality; compare the table's params columns"
    else:
        why = "ACT and CT train the same generator here (a fair comparison); testing C6 needs a generator-size sweep"
    return not_run("C6", dataset, why, "parameters")


def reported_difference(reported: Optional[pd.DataFrame], name: Optional[str]) -> str:
    """The papers' one-step FID of CT and ACT on ``name`` (reported_results.csv), as text."""
    if reported is None or not name:
        return ""
    r = reported[(reported["dataset"] == name) & (reported["metric"] == "fid") & (reported["steps_sampling"] == 1)]
    vals = {m: float(v) for m, v in zip(r["method"], r["value"])}
    if "ACT" in vals and "CT" in vals:
        return f"papers: CT {vals['CT']:g} vs ACT {vals['ACT']:g} (FID, one step)"
    return ""


def dataset_claims(rows: pd.DataFrame, theory: Dict[Tuple[str, int, int], pd.DataFrame], dataset: str,
                   reported: Optional[pd.DataFrame] = None, reported_as: Optional[str] = None) -> List[ClaimRow]:
    metric, _ = quality_metric(rows)
    toy = metric == "w1"
    out = quality_claims(rows, dataset) + theory_claims(theory, dataset) + inpaint_claims(rows, dataset, toy)
    out.append(parameter_claim(rows, dataset))
    text = reported_difference(reported, reported_as)
    for r in out:
        if r.claim in ("C1a", "C1b", "C2") and text:
            r.reported = text
    order = list(CLAIMS)
    return sorted(out, key=lambda r: order.index(r.claim))


# ----------------------------------------------------------------------------- files
def read_theory_tables(theory_dir: PathLike, dataset: str, final_steps: Dict[Tuple[str, int, int], int]
                       ) -> Dict[Tuple[str, int, int], pd.DataFrame]:
    """{(method, batch, seed): timestep table of the run's final checkpoint} under ``theory_dir/dataset``."""
    from act.checkpoint import checkpoint_path

    out = {}
    for (m, b, s), step in final_steps.items():
        run = Path(theory_dir) / dataset / m / f"b{b}" / f"s{s}"
        csv = run / f"{checkpoint_path(run, step).stem}.csv"
        if csv.is_file():
            out[(m, b, s)] = pd.read_csv(csv)
    return out


def claims_table(summary: pd.DataFrame, theory_dir: Optional[PathLike] = None, reported: Optional[pd.DataFrame] = None,
                 reported_as: Optional[Dict[str, str]] = None) -> pd.DataFrame:
    """Every dataset's claim rows as one table (a row per claim, dataset and scale)."""
    records = []
    mapping = reported_as or {}
    # Dataset keys reported as one dataset (the paper configs: one key per recipe) are compared together.
    groups = summary["dataset"].astype(str).map(lambda d: mapping.get(d) or d)
    for name, rows in summary.groupby(groups, sort=False):
        theory = {}
        for (ds, m, b, s), run in rows.groupby(["dataset", "method", "batch", "seed"]):
            if theory_dir:
                theory.update(read_theory_tables(theory_dir, str(ds), {(str(m), int(b), int(s)): _final_step(run)}))
        keys = sorted(set(rows["dataset"].astype(str)))
        label = str(name) if keys == [str(name)] else f"{name} ({', '.join(keys)})"
        records += [r.record() for r in dataset_claims(rows, theory, label, reported, str(name))]
    return pd.DataFrame.from_records(records)


__all__ = ["CLAIMS", "VERDICTS", "HOLDS", "FAILS", "INCONCLUSIVE", "NOT_RUN", "LEVEL", "MIN_SEEDS", "Interval",
           "welch_contrast", "verdict", "claims_table"]

"""The claims table as files: Markdown (the report's page), CSV, JSON and a forest plot of the intervals."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import pandas as pd

from act.io import write_figure, write_text
from act.report.claim_rows import REFERENCES, final_rows, quality_metric
from act.report.claim_texts import CLAIMS
from act.report.claims import claims_table
from act.report.verdicts import (DESCRIBED, FAILED_BASELINE, FAILS, FAILS_RECIPE, HOLDS, HOLDS_RECIPE, INCONCLUSIVE,
                                 LEVEL, MIN_SEEDS, NOT_RUN, UNDECIDABLE, VERDICTS)

PathLike = Union[str, Path]
REFERENCE_COLUMNS = {"w1": {"data floor": "w1_data_floor", "moment-matched Gaussian": "w1_gaussian",
                             "point mass at the mean": "w1_pointmass"},
                     "classifier_fd": {"moment-matched Gaussian": "classifier_fd_gaussian"}}

HOW_TO_READ = (
    "Each row tests one statement on each run's **final model** (every run trains its own schedule to its end). "
    "CT is the arm named ct; a comparison with ACT uses only ACT arms whose CT term has CT's settings (s0, s1, "
    "mu0, target), so it compares methods, not recipes. "
    "The difference is oriented so that positive means the statement; its {level:.0%} Welch interval is over training "
    "seeds, and each seed draws its own evaluation set (samples, reference points, theory probe), so the interval "
    "holds training and evaluation noise. Verdicts: **holds** (the interval lies above 0), **does not hold** (below "
    "0), **inconclusive** (it contains 0, or no group has any spread), **undecidable (n < {n})** (a group has fewer "
    "than {n} seeds), **against a failed baseline** (the row's CT groups are not shown better than a Gaussian with "
    "the data's mean and covariance: row S1; such a comparison says nothing about ACT), **not run at this scale**, "
    "**holds / does not hold (by recipe)** (ratios of the papers' recipes, no training), **described** (no test). "
    "In brackets: the verdict when all {tests} tests of the claim, premise, theory and extension rows are read as "
    "one family (Holm-adjusted p < {alpha:.2g}), where it differs. Kinds: claim (the paper says it), premise (its "
    "argument rests on it), theory (its bound, measured), extension (this suite's question), check (does the "
    "baseline work?), description.")


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, (float, np.floating)):
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


def _group_text(rec: Dict[str, Any], i: int) -> str:
    label = rec.get(f"g{i}_label")
    if not isinstance(label, str):
        return ""
    text = f"{label}: {_fmt(rec[f'g{i}_mean'])} ± {_fmt(rec[f'g{i}_std'])} (n={int(rec[f'g{i}_n'])}"
    if isinstance(rec.get(f"g{i}_values"), str) and rec[f"g{i}_values"]:
        text += f"; {rec[f'g{i}_values']}"
    flat = rec.get(f"g{i}_flattening", math.nan)
    if isinstance(flat, float) and math.isfinite(flat):
        text += f"; last change {flat:.1%}"
    return text + ")"


def _difference(rec: Dict[str, Any]) -> str:
    if rec["verdict"] in (HOLDS_RECIPE, FAILS_RECIPE) or rec["verdict"] == DESCRIBED:
        return f"ratio {_fmt(rec['difference'])}" if math.isfinite(rec["difference"]) else "–"
    if not math.isfinite(rec["difference"]):
        return "–"
    if not math.isfinite(rec["ci_low"]) or rec["ci_low"] == rec["ci_high"]:
        return _fmt(rec["difference"])
    return f"{_fmt(rec['difference'])} [{_fmt(rec['ci_low'])}, {_fmt(rec['ci_high'])}]"


def _verdict(rec: Dict[str, Any]) -> str:
    text = f"**{rec['verdict']}**"
    if rec.get("verdict_holm") and rec["verdict_holm"] != rec["verdict"]:
        text += f" (Holm: {rec['verdict_holm']})"
    return text


def _key(rec: Dict[str, Any]) -> tuple:
    return rec["claim"], rec["dataset"], rec["scale"]


def _merged(table: pd.DataFrame) -> List[Dict[str, Dict[Any, Dict[str, Any]]]]:
    """Rows of the same claim, dataset and scale, one-step and two-step side by side: [{nfe: record}] in order."""
    out: Dict[tuple, Dict[Any, Dict[str, Any]]] = {}
    for rec in table.to_dict("records"):
        nfe = rec.get("nfe")
        nfe = int(nfe) if isinstance(nfe, (int, float)) and math.isfinite(nfe) else None
        out.setdefault(_key(rec), {})[nfe] = rec
    return list(out.values())


def references_text(summary: pd.DataFrame, metrics: Optional[Dict[str, str]] = None) -> List[str]:
    """Per dataset, the trivial references of the final models' evaluation draws: mean ± std over runs (one-step
    draws; ``metrics``: dataset -> its claims column, as act claims --metric)."""
    lines = []
    for dataset, rows in summary.groupby("dataset", sort=False):
        metric, _ = quality_metric(rows, (metrics or {}).get(str(dataset)))
        if metric not in REFERENCES:
            continue
        final = final_rows(rows)
        if "nfe" in final and (pd.to_numeric(final["nfe"], errors="coerce") == 1).any():
            final = final[pd.to_numeric(final["nfe"], errors="coerce") == 1]
        final = final.drop_duplicates(["method", "batch", "seed"])
        parts = []
        for name, col in REFERENCE_COLUMNS[metric].items():
            if col in final and final[col].notna().any():
                v = final[col].dropna()
                parts.append(f"{name} {v.mean():.4g} ± {v.std(ddof=1):.2g}" if len(v) > 1 else f"{name} {v.mean():.4g}")
        if parts:
            lines.append(f"- {dataset} ({metric}, one draw per run, n = {len(final)}): " + ", ".join(parts))
    return lines


def to_markdown(table: pd.DataFrame, title: str, summary: Optional[pd.DataFrame] = None,
                metrics: Optional[Dict[str, str]] = None) -> str:
    tests = int(table["p_holm"].notna().sum()) if "p_holm" in table else 0
    lines = [f"# Claims of the ACT paper at this scale: {title}", "",
             HOW_TO_READ.format(level=LEVEL, n=MIN_SEEDS, tests=tests, alpha=1 - LEVEL), "", "## Verdicts", "",
             "| row | kind | statement | dataset | scale | 1-step: difference [95% CI] | verdict | "
             "2-step: difference [95% CI] | verdict |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    merged = _merged(table)
    previous = None
    for by_nfe in merged:
        first = next(iter(by_nfe.values()))
        repeat = first["claim"] == previous  # the statement once per claim: its rows follow one another
        previous = first["claim"]
        cells = []
        if set(by_nfe) <= {None}:  # not a sample-quality row: one verdict, in the 1-step columns
            rec = by_nfe[None]
            cells = [_difference(rec), _verdict(rec), "", ""]
        else:
            for nfe in (1, 2):
                rec = by_nfe.get(nfe)
                cells += [_difference(rec), _verdict(rec)] if rec else ["", ""]
        kind, said = ("", "″") if repeat else (first["kind"], first["statement"])
        lines.append(f"| {first['claim']} | {kind} | {said} | {first['dataset']} | "
                     f"{first['scale']} | " + " | ".join(cells) + " |")
    lines += ["", "## Evidence", "", "Per group: mean ± std over seeds (n; the value of each seed; the relative change "
              "of the metric over the run's last checkpoint interval: small = the curve has flattened).", "",
              "| row | dataset | scale | NFE | metric | groups | df | p | Holm p | why |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for rec in table.to_dict("records"):
        if rec["verdict"] in (NOT_RUN, HOLDS_RECIPE, FAILS_RECIPE):
            continue
        ev = "<br>".join(t for t in (_group_text(rec, i) for i in range(1, 5)) if t)
        if rec.get("reported"):
            ev += f"<br>{rec['reported']}"
        if rec.get("baseline"):
            ev += f"<br>baseline: {rec['baseline']}"
        nfe = rec.get("nfe")
        lines.append(f"| {rec['claim']} | {rec['dataset']} | {rec['scale']} | "
                     f"{int(nfe) if isinstance(nfe, float) and math.isfinite(nfe) else '–'} | {rec['metric']} | "
                     f"{ev or '–'} | {_fmt(rec['df'], 2)} | {_fmt(rec['p'], 2)} | {_fmt(rec['p_holm'], 2)} | "
                     f"{rec['why']} |")
    refs = references_text(summary, metrics) if summary is not None else []
    if refs:
        lines += ["", "## Trivial references, scored on the runs' own evaluation draws", ""] + refs
    lines += ["", "## What each row tests", "", "| row | kind | the paper's words (abstract) | test |",
              "| --- | --- | --- | --- |"]
    for claim in dict.fromkeys(table["claim"]):
        c = CLAIMS[claim]
        lines.append(f"| {claim} | {c.kind} | {('“' + c.quote + '”') if c.quote else '(not in the paper)'} | {c.test} |")
    return "\n".join(lines) + "\n"


UNITLESS = ("C3b", "C4")  # rows whose statistic is not a difference of one metric between two groups
VERDICT_COLORS = {HOLDS: "#2ca02c", FAILS: "#d62728", INCONCLUSIVE: "#7f7f7f", UNDECIDABLE: "#bcbd22",
                  FAILED_BASELINE: "#9467bd", NOT_RUN: "#c7c7c7", HOLDS_RECIPE: "#2ca02c", FAILS_RECIPE: "#d62728",
                  DESCRIBED: "#c7c7c7"}


def plot_claims(table: pd.DataFrame, path: PathLike) -> Path:
    """Forest plot: each tested row's difference (relative to the compared group's mean) with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tested = table[np.isfinite(table["ci_low"].astype(float)) & (table["claim"] != "S1")].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * max(len(tested), 2) + 1.6))
    for i, r in tested.iterrows():
        # A difference of two groups of one metric: as a share of the compared group's mean. One-group statistics
        # (C3b's rank correlation, C4's share of CT's compute) are already unitless: x 100.
        ref = abs(float(r.get("g2_mean", math.nan))) if isinstance(r.get("g2_label"), str) else math.nan
        relative = r["claim"] not in UNITLESS and math.isfinite(ref) and ref > 0
        scale = 100.0 / ref if relative else 100.0
        y = len(tested) - 1 - i
        c = VERDICT_COLORS[r["verdict"]]
        ax.plot([float(r["ci_low"]) * scale, float(r["ci_high"]) * scale], [y, y], color=c, lw=2.5)
        ax.plot([float(r["difference"]) * scale], [y], "o", color=c, ms=6)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(tested)))
    labels = [f"{r['claim']} {r['scale'][:48]}" + (f" [{int(r['nfe'])}-step]" if pd.notna(r["nfe"]) else "")
              for _, r in tested.iloc[::-1].iterrows()]
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("difference in the claimed direction, % of the compared group's mean\n"
                  "(C3b: rank correlation x 100; C4: share of CT's compute saved x 100); 95% interval", fontsize=8.5)
    ax.set_title("ACT paper claims: > 0 as claimed (final models; S1 checks not shown)", fontsize=10)
    shown = [HOLDS, FAILS, INCONCLUSIVE, FAILED_BASELINE]
    handles = [plt.Line2D([], [], color=VERDICT_COLORS[v], lw=2.5, label=v) for v in shown]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.05), ncol=4, fontsize=8, frameon=False)
    fig.tight_layout()
    write_figure(path, fig, dpi=130)
    plt.close(fig)
    return Path(path)


def write_claims(summary: pd.DataFrame, out_dir: PathLike, reported: Optional[pd.DataFrame] = None,
                 reported_as: Optional[Dict[str, str]] = None, settings: Optional[pd.DataFrame] = None,
                 title: str = "", metrics: Optional[Dict[str, str]] = None) -> Dict[str, Path]:
    """claims.csv, claims.json, claims.md and claims.png into ``out_dir``; ``metrics``: dataset -> quality column."""
    table = claims_table(summary, reported, reported_as, settings, metrics)  # a config error writes nothing
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "claims.csv", "json": out / "claims.json", "md": out / "claims.md", "png": out / "claims.png"}
    claims = {k: {"kind": c.kind, "quote": c.quote, "statement": c.statement, "test": c.test} for k, c in CLAIMS.items()}
    texts = {"csv": table.to_csv(index=False),
             "json": json.dumps({"level": LEVEL, "min_seeds": MIN_SEEDS, "verdicts": list(VERDICTS), "claims": claims,
                                 "rows": json.loads(table.to_json(orient="records"))}, indent=1),
             "md": to_markdown(table, title, summary, metrics)}
    for k, text in texts.items():
        write_text(paths[k], text)
    plot_claims(table, paths["png"])
    return paths


__all__ = ["to_markdown", "plot_claims", "write_claims", "references_text"]

"""The claims table as files: Markdown (the report's page), CSV, JSON and a forest plot of the intervals."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import pandas as pd

from act.io import write_figure, write_text
from act.report.claims import CLAIMS, claims_table
from act.report.verdicts import FAILS, HOLDS, INCONCLUSIVE, LEVEL, MIN_SEEDS, NOT_RUN, VERDICTS

PathLike = Union[str, Path]


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


def _group_text(rec: Dict[str, Any], i: int) -> str:
    label = rec.get(f"g{i}_label")
    if not isinstance(label, str):
        return ""
    text = f"{label}: {_fmt(rec[f'g{i}_mean'])} ± {_fmt(rec[f'g{i}_std'])} (n={int(rec[f'g{i}_n'])}"
    if math.isfinite(rec.get(f"g{i}_steps", math.nan)):
        text += f", step {int(rec[f'g{i}_steps'])}"
    flat = rec.get(f"g{i}_flattening", math.nan)
    if isinstance(flat, float) and math.isfinite(flat):
        text += f", last change {flat:.1%}"
    return text + ")"


def to_markdown(table: pd.DataFrame, title: str) -> str:
    lines = [f"# Claims of the ACT paper at this scale: {title}", "",
             "Verdict rule: the difference is oriented so that positive means the claim; **holds** when its "
             f"{LEVEL:.0%} Welch interval lies above 0, **does not hold** when below 0, **inconclusive** when it "
             f"contains 0 or a group has fewer than {MIN_SEEDS} seeds, **not run at this scale** when the experiment "
             "lacks the runs. Groups: mean ± std over seeds (n), the checkpoint step used, and the relative change "
             "of the metric over the last checkpoint interval before it (small = the curve has flattened).", "",
             "| claim | dataset | scale | metric | evidence | difference [95% CI] | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in table.iterrows():
        rec = r.to_dict()
        ev = "<br>".join(t for t in (_group_text(rec, i) for i in range(1, 5)) if t)
        if rec.get("reported"):
            ev += f"<br>{rec['reported']}"
        ci = "–" if not math.isfinite(rec["difference"]) else (
            f"{_fmt(rec['difference'])} [{_fmt(rec['ci_low'])}, {_fmt(rec['ci_high'])}]")
        why = f" ({rec['why']})" if rec["verdict"] in (INCONCLUSIVE, NOT_RUN) else ""
        lines.append(f"| {rec['claim']}: {rec['statement']} | {rec['dataset']} | {rec['scale']} | {rec['metric']} | "
                     f"{ev or '–'} | {ci} | **{rec['verdict']}**{why} |")
    return "\n".join(lines) + "\n"


VERDICT_COLORS = {HOLDS: "#2ca02c", FAILS: "#d62728", INCONCLUSIVE: "#7f7f7f", NOT_RUN: "#c7c7c7"}


def plot_claims(table: pd.DataFrame, path: PathLike) -> Path:
    """Forest plot: each tested row's difference (relative to the compared group's mean) with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table[np.isfinite(table["difference"].astype(float))].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(rows), 2) + 1.4))
    for i, r in rows.iterrows():
        ref = abs(float(r.get("g2_mean", math.nan))) if isinstance(r.get("g2_label"), str) else math.nan
        ref = ref if math.isfinite(ref) and ref > 0 else abs(float(r.get("g1_mean", 1.0))) or 1.0
        scale = 100.0 / ref
        y = len(rows) - 1 - i
        lo, hi = float(r["ci_low"]) * scale, float(r["ci_high"]) * scale
        c = VERDICT_COLORS[r["verdict"]]
        ax.plot([lo, hi], [y, y], color=c, lw=2.5)
        ax.plot([float(r["difference"]) * scale], [y], "o", color=c, ms=6)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r['claim']} {r['dataset']} {r['scale']}" for _, r in rows.iloc[::-1].iterrows()], fontsize=8)
    ax.set_xlabel("difference in the claimed direction, % of the compared group's mean (95% interval)")
    ax.set_title("ACT paper claims: > 0 as claimed", fontsize=10)
    handles = [plt.Line2D([], [], color=c, lw=2.5, label=v) for v, c in VERDICT_COLORS.items() if v != NOT_RUN]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.06), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    write_figure(path, fig, dpi=130)
    plt.close(fig)
    return Path(path)


def write_claims(summary: pd.DataFrame, out_dir: PathLike, theory_dir: Optional[PathLike] = None,
                 reported: Optional[pd.DataFrame] = None, reported_as: Optional[Dict[str, str]] = None,
                 title: str = "") -> Dict[str, Path]:
    """claims.csv, claims.json, claims.md and claims.png into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = claims_table(summary, theory_dir, reported, reported_as)
    paths = {"csv": out / "claims.csv", "json": out / "claims.json", "md": out / "claims.md", "png": out / "claims.png"}
    texts = {"csv": table.to_csv(index=False),
             "json": json.dumps({"level": LEVEL, "min_seeds": MIN_SEEDS, "verdicts": list(VERDICTS), "claims": CLAIMS,
                                 "rows": json.loads(table.to_json(orient="records"))}, indent=1),
             "md": to_markdown(table, title)}
    for k, text in texts.items():
        write_text(paths[k], text)
    plot_claims(table, paths["png"])
    return paths


__all__ = ["to_markdown", "plot_claims", "write_claims"]

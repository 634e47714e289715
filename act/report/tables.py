"""Per-dataset result tables: measured rows (final checkpoint, mean ± std over seeds) beside the papers' numbers.

One table per dataset key of the summary, written as Markdown, LaTeX (booktabs) and CSV.
Rows: per method (ACT, CT, iCT) one measured row per batch size, then the row the
papers report for that method on the same dataset (``reported_results.csv``, with its
verified/unverified status, and the training settings of ``reported_settings.csv``).
The CSV holds numbers (means, with a ``<column> std`` beside each metric); Markdown and
LaTeX hold the same table formatted for reading.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd

from act.io import write_csv, write_text
from act.report import style
from act.report.aggregate import flag
from act.report.style import REPORTED_DATASETS, method_label, method_rank

PathLike = Union[str, Path]
REFERENCE_DIR = Path(style.REFERENCE_DIR)
DASH = "–"
TEXT_COLUMNS = ("method", "source", "status", "reference")
INT_COLUMNS = ("batch size", "steps", "n seeds")
INFO = ["method", "source", "status", "batch size", "steps", "n seeds"]
REPORTED_METRIC = {"inception_score": "is"}  # summary column -> metric name in reported_results.csv
COST = ["params G (M)", "params D (M)", "compute (PFLOP)", "images seen", "wall time (min)"]
SOURCE_ORDER = {"measured": 0, "released": 1, "paper": 2}  # within a method: ours, the released file, the paper
LAST_CHANGE = "last change"  # relative change of the 1-step metric over the last checkpoint interval: has it flattened?


def reference_file(name: str) -> Path:
    """``REFERENCE_DIR/name`` from the working directory, else from this checkout (editable installs)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / REFERENCE_DIR / name).is_file():
            return root / REFERENCE_DIR / name
    raise FileNotFoundError(f"{REFERENCE_DIR / name} not found from {Path.cwd()} or the act-bench checkout; pass its path")


def read_reference_csv(path: PathLike) -> pd.DataFrame:
    """A reported_*.csv; unquoted commas in its last (``source``) column stay in that column."""
    import csv

    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path} is empty")
    n = len(rows[0])
    body = [r[: n - 1] + [",".join(r[n - 1:])] if len(r) > n else r for r in rows[1:] if r]
    df = pd.DataFrame(body, columns=rows[0]).replace("", None)
    return df.apply(lambda c: pd.to_numeric(c) if c.name not in ("dataset", "method", "metric", "status", "source", "precision") else c)


def is_toy(rows: pd.DataFrame) -> bool:
    """2-D toy data: the summary's ``toy`` (act.report.aggregate.complete)."""
    return bool(len(rows)) and bool(flag(rows, "toy").any())


def table_kind(rows: pd.DataFrame) -> str:
    """Which metric columns a dataset's table has: ``toy`` (exact W1), ``classifier`` (images with the dataset
    classifier's Frechet distance beside the Inception metrics) or ``images``."""
    if is_toy(rows):
        return "toy"
    return "classifier" if "classifier_fd" in rows and rows["classifier_fd"].notna().any() else "images"


def metric_columns(kind: Union[str, bool]) -> List[Tuple[str, str, Optional[int]]]:
    """(column, summary column, nfe) of the metric columns of a :func:`table_kind` (True: ``toy``, False:
    ``images``); toy data: exact W1 instead of FID, no Inception scores."""
    if isinstance(kind, bool):
        kind = "toy" if kind else "images"
    if kind == "toy":
        return [("1-step W1", "w1", 1), ("2-step W1", "w1", 2), ("W1 data floor", "w1_data_floor", 1)]
    inception = [("1-step FID", "fid", 1), ("2-step FID", "fid", 2), ("IS", "inception_score", 1),
                 ("precision", "precision", 1), ("recall", "recall", 1)]
    if kind == "classifier":
        return inception + [("1-step classifier FD", "classifier_fd", 1), ("2-step classifier FD", "classifier_fd", 2)]
    return inception


def columns(kind: Union[str, bool]) -> List[str]:
    return INFO + [c for c, _, _ in metric_columns(kind)] + [LAST_CHANGE] + COST + ["reference"]


def last_change(run: pd.DataFrame, column: str, step: int) -> float:
    """|m(step) - m(previous evaluated checkpoint)| / |m(step)| of the 1-step ``column``; NaN without two points."""
    one = run[(run["nfe"] == 1) & run[column].notna()].sort_values("ckpt_step")
    now, before = one[one["ckpt_step"] == step], one[one["ckpt_step"] < step]
    if not len(now) or not len(before):
        return math.nan
    m1, m0 = float(now[column].iloc[0]), float(before[column].iloc[-1])
    return abs(m1 - m0) / abs(m1) if m1 else math.nan


def _final_step(run: pd.DataFrame, metric_cols: Sequence[str]) -> int:
    """The latest checkpoint with any metric (the final one once evaluated), else the latest checkpoint."""
    has = run[list(metric_cols)].notna().any(axis=1)
    return int((run[has] if has.any() else run)["ckpt_step"].max())


def _curve_column(run: pd.DataFrame, metrics: Sequence[Tuple[str, str, Optional[int]]]) -> str:
    """The first 1-step metric measured at two or more checkpoints of ``run`` (the one whose last change means
    something: Inception metrics may be measured at the final checkpoint only), else the first."""
    one = run[run["nfe"] == 1]
    for _, src, nfe in metrics:
        if nfe == 1 and one.loc[one[src].notna(), "ckpt_step"].nunique() >= 2:
            return src
    return metrics[0][1]


def measured_rows(rows: pd.DataFrame, kind: Union[str, bool]) -> pd.DataFrame:
    """One row per (method, batch): means and sample stds over seeds at each run's final evaluated checkpoint."""
    metrics = metric_columns(kind)
    per_run = []
    for (method, batch, seed), run in rows.groupby(["method", "batch", "seed"], sort=False):
        step = _final_step(run, sorted({s for _, s, _ in metrics}))
        at = run[run["ckpt_step"] == step]
        first = at.iloc[0]
        r: Dict[str, Any] = {"method": method, "batch size": int(batch), "steps": step}
        for col, src, nfe in metrics:
            vals = at.loc[at["nfe"] == nfe, src].dropna() if nfe is not None else at[src].dropna()
            r[col] = float(vals.iloc[0]) if len(vals) else math.nan
        r[LAST_CHANGE] = last_change(run, _curve_column(run, metrics), step)
        r.update({"params G (M)": first["params_generator"] / 1e6, "params D (M)": first["params_discriminator"] / 1e6,
                  "compute (PFLOP)": first["train_flops"] / 1e15, "images seen": first["images_seen"],
                  "wall time (min)": first["wall_time"] / 60})
        per_run.append(r)
    if not per_run:
        return pd.DataFrame(columns=columns(kind))
    runs = pd.DataFrame(per_run)
    out = []
    for (method, batch), g in runs.groupby(["method", "batch size"], sort=False):
        r = {"method": method_label(method), "source": "measured", "status": "", "batch size": int(batch),
             "steps": float(g["steps"].mean()), "n seeds": len(g), "reference": "this experiment"}
        for col in [c for c, _, _ in metrics] + [LAST_CHANGE] + COST:
            vals = g[col].astype(float)
            r[col] = vals.mean() if vals.notna().any() else math.nan
            if col not in COST and col != LAST_CHANGE:
                r[f"{col} std"] = vals.std(ddof=1) if vals.notna().sum() > 1 else math.nan
        out.append(r)
    return pd.DataFrame(out)


def _status(statuses: Mapping[str, str]) -> str:
    kinds = set(statuses.values())
    if len(kinds) <= 1:
        return next(iter(kinds), "")
    return "; ".join(f"{k}: {', '.join(c for c, s in statuses.items() if s == k)}" for k in sorted(kinds, reverse=True))


def images_per_step_factors(summary: pd.DataFrame) -> Dict[str, Any]:
    """{method: images loaded per step / batch size} of the methods the summary's runs measured (``act cost``'s
    ``images_per_step``; ACT loads 2B: B for the generator, B/2 + B/2 for the discriminator)."""
    if not {"method", "batch", "images_per_step"} <= set(summary.columns):
        return {}
    runs = summary.dropna(subset=["images_per_step", "batch"])
    runs = runs[runs["batch"] > 0]
    out: Dict[str, Any] = {}
    for method, ratio in (runs["images_per_step"].astype(float) / runs["batch"].astype(float)).groupby(runs["method"]):
        f = float(ratio.iloc[0])
        out[str(method).lower()] = int(round(f)) if abs(f - round(f)) < 1e-9 else f
    return out


def reported_rows(reported: pd.DataFrame, settings: pd.DataFrame, name: str, kind: Union[str, bool],
                  factors: Optional[Mapping[str, Any]] = None) -> pd.DataFrame:
    """The papers' rows for dataset ``name``: reported metrics, their status, and the training settings.

    Images seen: batch x iterations x the method's images per step over its batch size (``factors``, from the
    measured runs: :func:`images_per_step_factors`); unknown for a method this experiment did not run.
    """
    factors = factors or {}
    rep = reported[reported["dataset"] == name]
    sett = settings[settings["dataset"] == name] if "dataset" in settings else settings.iloc[:0]
    out = []
    for method in sorted(set(rep["method"]) | set(sett["method"]), key=lambda m: method_rank(m)):
        r: Dict[str, Any] = {"method": method_label(method), "source": "paper"}
        statuses, sources = {}, []
        for col, src, nfe in metric_columns(kind):
            metric = REPORTED_METRIC.get(src, src)
            hit = rep[(rep["method"] == method) & (rep["metric"] == metric) & (rep["steps_sampling"] == (nfe or 1))]
            r[col] = float(hit["value"].iloc[0]) if len(hit) else math.nan
            if len(hit):
                statuses[col] = str(hit["status"].iloc[0])
                sources.append(str(hit["source"].iloc[0]))
        s = sett[sett["method"] == method]
        if len(s):
            s = s.iloc[0]
            batch, iters = s.get("batch_size"), s.get("training_iterations")
            r.update({"batch size": batch, "steps": iters, "params G (M)": s.get("generator_params_M"),
                      "params D (M)": s.get("discriminator_params_M"),
                      "images seen": batch * iters * factors.get(str(method).lower(), math.nan)})
            sources.append(f"settings: {s.get('source')}")
        r["status"] = _status(statuses)
        r["reference"] = "; ".join(dict.fromkeys(sources))
        out.append(r)
    return pd.DataFrame(out)


def reported_name(dataset: str, available: Sequence[str], mapping: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The reported dataset an experiment dataset key stands for: ``mapping``, else the same name; toy/Fashion-MNIST: none."""
    if mapping and dataset in mapping:
        return mapping[dataset] or None
    return dataset if dataset in REPORTED_DATASETS and dataset in set(available) else None


def dataset_table(rows: pd.DataFrame, reported: pd.DataFrame, settings: pd.DataFrame, name: Optional[str],
                  factors: Optional[Mapping[str, Any]] = None, released: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """The numeric table of one dataset: measured, released-checkpoint and paper rows grouped by method, measured first.

    ``factors``: images per step over batch size per method (default: from ``rows``); ``released``: this
    dataset's rows of the summary's released part, a table row per checkpoint."""
    from act.report.released import released_rows

    kind = table_kind(rows)
    parts = [measured_rows(rows, kind)]
    if released is not None and len(released):
        parts.append(released_rows(released, metric_columns(kind),
                                   images_per_step_factors(rows) if factors is None else factors))
    if name is not None:
        parts.append(reported_rows(reported, settings, name, kind,
                                   images_per_step_factors(rows) if factors is None else factors))
    table = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    cols = columns(kind)
    stds = [f"{c} std" for c, _, _ in metric_columns(kind)]
    table = table.reindex(columns=cols + stds)
    if len(table):
        order = table.apply(lambda r: (method_rank(str(r["method"]).lower()), SOURCE_ORDER.get(r["source"], 9),
                                       float(r["batch size"]) if pd.notna(r["batch size"]) else 0.0), axis=1)
        table = table.loc[order.sort_values().index].reset_index(drop=True)
    for c in INT_COLUMNS:  # whole numbers, empty where unknown
        table[c] = pd.to_numeric(table[c]).round().astype("Int64")
    return table


# --- formatting ----------------------------------------------------------------------------------------------------

def _sig(v: Any, digits: int = 3) -> str:
    """3 significant digits, thousands separators, no exponent: 27.5, 0.0331, 4,320."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)) or pd.isna(v):
        return DASH
    v = float(v)
    if v == 0:
        return "0"
    if abs(v) < 1e-3:
        return f"{v:.{digits - 1}e}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    return f"{v:,.{decimals}f}"


def _count(v: Any) -> str:
    """Image counts: 64.0k, 24.0M, 1.28B."""
    if v is None or pd.isna(v):
        return DASH
    v = float(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{_sig(v / div)}{suffix}"
    return f"{v:.0f}"


def _int(v: Any) -> str:
    return DASH if v is None or pd.isna(v) else f"{float(v):,.0f}"


def _metric(mean: Any, std: Any, decimals: int) -> str:
    if mean is None or pd.isna(mean):
        return DASH
    text = f"{float(mean):.{decimals}f}"
    return text + (f" ± {float(std):.{decimals}f}" if std is not None and pd.notna(std) else "")


DECIMALS = {"classifier FD": 3, "FID": 2, "IS": 2, "precision": 3, "recall": 3, "W1": 4}


def display(table: pd.DataFrame, kind: Union[str, bool]) -> pd.DataFrame:
    """The numeric table as strings: mean ± std, thousands separators, dashes for missing."""
    out = pd.DataFrame(index=table.index)
    for col in columns(kind):
        v = table[col]
        if col in TEXT_COLUMNS:
            out[col] = v.fillna("").astype(str)
        elif col in INT_COLUMNS:
            out[col] = v.map(_int)
        elif col == "images seen":
            out[col] = v.map(_count)
        elif col == LAST_CHANGE:
            out[col] = v.map(lambda x: DASH if x is None or pd.isna(x) else f"{float(x):.1%}")
        elif col in COST:
            out[col] = v.map(_sig)
        else:
            dec = next(d for k, d in DECIMALS.items() if k in col)
            out[col] = [_metric(m, s, dec) for m, s in zip(v, table[f"{col} std"])]
    return out


LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_cell(text: str) -> str:
    s = "".join(LATEX_ESCAPES.get(ch, ch) for ch in str(text))
    return s.replace("±", r"$\pm$").replace(DASH, "--")


def to_latex(shown: pd.DataFrame, caption: str) -> str:
    """A booktabs tabular (needs \\usepackage{booktabs}); text columns left, numbers right."""
    align = "".join("l" if c in TEXT_COLUMNS else "r" for c in shown.columns)
    lines = [f"% {caption}", "% needs \\usepackage{booktabs}; a wide table: wrap in \\resizebox{\\textwidth}{!}{...} if needed",
             f"\\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(latex_cell(c) for c in shown.columns) + r" \\", r"\midrule"]
    prev = None
    for _, r in shown.iterrows():
        if prev is not None and r["method"] != prev:
            lines.append(r"\midrule")
        prev = r["method"]
        lines.append(" & ".join(latex_cell(v) for v in r) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def notes(dataset: str, name: Optional[str], kind: Union[str, bool], released: bool = False) -> List[str]:
    toy = kind is True or kind == "toy"
    metric = "exact W1 of one-step (two-step) samples to held-out toy data (`act score-run`, as `act toy-metrics`)" if toy else \
        "FID/IS/precision/recall of `act score-run` (as `act evaluate`; Inception features)"
    if kind == "classifier":
        metric += (" and the Frechet distance in the features of the dataset's own classifier (classifier FD, every "
                   "sample; the Inception metrics may cover a subsample, `evaluate.inception_num`)")
    out = [f"Measured: {metric}, at each run's last evaluated checkpoint (`steps`); mean ± sample std over `n seeds`.",
           "Last change: |m(last) - m(previous checkpoint)| / m(last) of the 1-step metric (the first measured at two "
           "checkpoints or more), mean over seeds: a few percent "
           "means the curve has flattened, tens of percent that the run stopped while still improving.",
           "Compute: `act cost` FLOPs per training step × steps (every phase, forward and backward; ACT's discriminator and R1 "
           "included). Images seen: steps × images per step (ACT loads 2B per step). Wall time: the training log's clock.",
           "Params D: the discriminator as built and trained. The official ACT discriminators also carry an unused "
           "4C+1 logit head (never called), counted in the sizes the ACT code reports: +0.001 M (CIFAR-10 17.977 M), "
           "+0.002 M (ImageNet-64 53.902 M, LSUN 56.985 M); `model.discriminator_overrides.unused_logit_head: true` builds it.",
           "Measured numbers come from this experiment's settings (model size, batch, steps), not the papers' recipes."]
    if released:
        out.append("Released rows: an official checkpoint (`act import-official`, its EMA generator) sampled and scored "
                   "here exactly as the measured rows; one file, so no seeds and no std; steps: the file's training step. "
                   "Not in summary.csv, the figures or the claims.")
    if name:
        out.append(f"Paper rows: reported numbers for `{name}` (reported_results.csv) with their status, training settings "
                   "from reported_settings.csv; compute and wall time are not reported.")
    else:
        out.append(f"No paper reports `{dataset}`: measured rows only.")
    return out


def recipe_note(rows: pd.DataFrame) -> Optional[str]:
    """The consistency recipe (discretisation, target EMA, target network) of each measured arm, grouped by recipe;
    None when the summary does not record it."""
    if "ct_recipe" not in rows or not rows["ct_recipe"].notna().any():
        return None
    arms: Dict[str, List[str]] = {}
    for method, recipe in sorted({(m, r) for m, r in zip(rows["method"], rows["ct_recipe"]) if pd.notna(r)},
                                 key=lambda mr: (method_rank(mr[0]), str(mr[1]))):
        arms.setdefault(str(recipe), []).append(method_label(method))
    return "Consistency recipe of each arm (discretisation s0 to s1, target EMA mu0, target network): " + "; ".join(
        f"{' / '.join(dict.fromkeys(labels))} ({recipe})" for recipe, labels in arms.items()) + "."


def write_tables(summary: pd.DataFrame, reported: pd.DataFrame, settings: pd.DataFrame, out_dir: PathLike,
                 mapping: Optional[Mapping[str, str]] = None,
                 released: Optional[pd.DataFrame] = None) -> Dict[str, pd.DataFrame]:
    """``{out_dir}/{dataset}.{md,tex,csv}`` for every dataset of ``summary`` or of ``released`` (the summary's
    released part); returns the numeric tables."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {}
    factors = images_per_step_factors(summary)  # of every method run here: recipes may be separate dataset keys
    released = released if released is not None else pd.DataFrame(columns=["dataset"])
    for dataset in sorted(set(summary["dataset"].dropna().unique()) | set(released["dataset"].dropna().unique())):
        rows = summary[summary["dataset"] == dataset]
        name = reported_name(dataset, list(reported["dataset"].unique()), mapping)
        kind = table_kind(rows)
        mine = released[released["dataset"] == dataset]
        table = dataset_table(rows, reported, settings, name, factors, mine)
        shown = display(table, kind)
        title = f"{dataset}: one-step generation, measured" + (f" and reported ({name})" if name else "")
        recipe = recipe_note(rows)
        lines = notes(dataset, name, kind, bool(len(mine))) + ([recipe] if recipe else [])
        md = [f"## {title}", "", shown.to_markdown(index=False, disable_numparse=True,
                                                    colalign=["left" if c in TEXT_COLUMNS else "right" for c in shown.columns]), "", *[f"- {n}" for n in lines], ""]
        write_text(out_dir / f"{dataset}.md", "\n".join(md))
        write_text(out_dir / f"{dataset}.tex", to_latex(shown, title))
        write_csv(out_dir / f"{dataset}.csv", table, index=False, float_format="%.6g")
        tables[dataset] = table
    return tables

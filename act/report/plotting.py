"""Shared pieces of the report figures: the Agg backend, PNG+PDF output, metric choice, seed statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, List, NamedTuple, Union

import numpy as np
import pandas as pd

PathLike = Union[str, Path]


class Skip(Exception):
    """A figure whose inputs are missing; the message says which."""


class Metric(NamedTuple):
    column: str
    label: str  # axis label, with what it measures and which way is better
    short: str  # for titles


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "axes.titlesize": 10, "axes.labelsize": 9,
                         "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8, "pdf.fonttype": 42})
    return plt


def save(fig: Any, out_dir: PathLike, name: str) -> List[Path]:
    """``{out_dir}/{name}.png`` and ``.pdf``, each written atomically."""
    from act.io import write_figure

    plt = pyplot()
    out = [write_figure(Path(out_dir) / f"{name}.{ext}", fig, bbox_inches="tight") for ext in ("png", "pdf")]
    plt.close(fig)
    return out


def choose_metric(rows: pd.DataFrame) -> Metric:
    """FID for images (the dataset classifier's Frechet distance where it covers more checkpoints than FID: an
    experiment that runs Inception on its final models only), exact W1 for toy data, else the theory probe's
    one-step distance; Skip when none is measured."""
    def has(col: str) -> bool:
        return col in rows and rows[col].notna().any()

    def points(col: str) -> int:
        return int(rows[col].notna().sum()) if col in rows else 0

    if has("classifier_fd") and points("classifier_fd") > points("fid"):
        return Metric("classifier_fd", "classifier FD (the dataset classifier's features; lower is better)",
                      "classifier FD")
    if has("fid"):
        return Metric("fid", "FID (Inception, lower is better)", "FID")
    elif has("w1"):
        return Metric("w1", "exact W1 to held-out data (lower is better)", "W1")
    elif has("theory_one_step_w_independent"):
        name = rows["theory_distance"].dropna().iloc[0] if rows["theory_distance"].notna().any() else "W"
        return Metric("theory_one_step_w_independent", f"one-step {name} to independent data (theory probe)", str(name))
    else:
        raise Skip("no FID, W1 or theory distance in the summary")


def seed_stats(rows: pd.DataFrame, by: List[str], column: str) -> pd.DataFrame:
    """Mean, sample std and count of ``column`` over seeds, per ``by`` group (rows without a value dropped)."""
    d = rows.dropna(subset=[column])
    if d.empty:
        return pd.DataFrame(columns=by + ["mean", "std", "n"])
    g = d.groupby(by)[column]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "n": g.count()}).reset_index()


def nice_log(ax: Any, values: Iterable[float], axis: str = "y") -> None:
    """Log scale when the positive values span more than a decade (plain tick labels), else linear."""
    from matplotlib.ticker import FuncFormatter

    v = np.asarray([x for x in values if x is not None and np.isfinite(x) and x > 0], dtype=float)
    if v.size and v.max() / v.min() > 10:
        getattr(ax, f"set_{axis}scale")("log")
        plain = FuncFormatter(lambda t, _: f"{t:g}")
        getattr(ax, f"{axis}axis").set_major_formatter(plain)
        if v.max() / v.min() < 100:  # few decades: matplotlib labels minor ticks too, in 6x10^-1 style
            getattr(ax, f"{axis}axis").set_minor_formatter(plain)


def final_steps(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per run, the rows at its latest checkpoint that has ``column``."""
    d = rows.dropna(subset=[column])
    if d.empty:
        return d
    last = d.groupby(["method", "batch", "seed"])["ckpt_step"].transform("max")
    return d[d["ckpt_step"] == last]


def flops_label(x: float) -> str:
    """Tick label for FLOPs: 1e12 -> '1 TFLOP', 2.45e8 -> '245 MFLOP'."""
    for div, unit in ((1e18, "EFLOP"), (1e15, "PFLOP"), (1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"), (1e3, "kFLOP")):
        if abs(x) >= div:
            return f"{x / div:.3g} {unit}"
    return f"{x:.3g} FLOP"


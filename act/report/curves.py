"""Metric curves of one dataset: against training step, batch size and training compute (mean ± std over seeds)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Union

import numpy as np
import pandas as pd

from act.report.plotting import Skip, choose_metric, final_steps, flops_label, nice_log, pyplot, save, seed_stats
from act.report.style import method_color, method_label, method_rank

PathLike = Union[str, Path]
NFE_STYLE = {1: ("-", "o", None), 2: ("--", "s", "white")}  # line, marker, marker face: 2-step hollow squares
BATCH_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _methods(rows: pd.DataFrame) -> List[str]:
    return sorted(rows["method"].dropna().unique(), key=method_rank)


def _seed_note(stats: pd.DataFrame) -> str:
    n = stats["n"].astype(int) if len(stats) else pd.Series([1])
    return f"mean ± std over {n.min()}–{n.max()} seeds" if n.max() > 1 and n.min() != n.max() else \
        (f"mean ± std over {n.max()} seeds" if n.max() > 1 else "one seed")


def _band(ax, x, mean, std, color) -> None:
    if np.isfinite(std).any():
        ax.fill_between(x, mean - np.nan_to_num(std), mean + np.nan_to_num(std), color=color, alpha=0.15, lw=0)


def metric_vs_step(rows: pd.DataFrame, dataset: str, out_dir: PathLike) -> List[Path]:
    """(b) One panel per batch size: the metric of 1-step (solid) and 2-step (dashed) samples over training steps."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    metric = choose_metric(rows)
    stats = seed_stats(rows[rows["nfe"].notna()], ["method", "batch", "nfe", "ckpt_step"], metric.column)
    if stats.empty:
        raise Skip(f"no {metric.short} at any checkpoint")
    batches = sorted(stats["batch"].unique())
    plt = pyplot()
    fig, axes = plt.subplots(1, len(batches), figsize=(4.6 * len(batches) + 0.6, 4.5), sharey=True, squeeze=False)
    for ax, batch in zip(axes[0], batches):
        for method in _methods(stats):
            for nfe, (style, mk, face) in NFE_STYLE.items():
                s = stats[(stats["method"] == method) & (stats["batch"] == batch) & (stats["nfe"] == nfe)].sort_values("ckpt_step")
                if s.empty:
                    continue
                x, m, sd = s["ckpt_step"].to_numpy(float), s["mean"].to_numpy(float), s["std"].to_numpy(float)
                ax.plot(x, m, style, marker=mk, ms=4.5, mfc=face, color=method_color(method), lw=1.6,
                        label=f"{method_label(method)}, {nfe}-step")
                _band(ax, x, m, sd, method_color(method))
        if metric.column == "w1" and rows["w1_data_floor"].notna().any():
            ax.axhline(rows["w1_data_floor"].mean(), color="0.5", lw=1, ls=":",
                       label="floor: W1 between two held-out sets of the same size")
        ax.set_title(f"batch size {batch}")
        ax.set_xlabel("training step")
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))  # steps are whole numbers
        ax.grid(True, which="both", alpha=0.3)
    nice_log(axes[0][0], stats["mean"])
    axes[0][0].set_ylabel(metric.label)
    band = "; band: ± std" if stats["n"].max() > 1 else ""
    fig.suptitle(f"{dataset}: {metric.short} over training ({_seed_note(stats)}{band}; solid: 1-step, dashed: 2-step)", fontsize=11)
    # One legend for all panels, below them: inside a panel it hid the curves. A column per method
    # (1-step above 2-step; a blank where one is missing), the floor in a column of its own.
    found = {}
    for ax in axes[0]:
        found.update(zip(*reversed(ax.get_legend_handles_labels())))
    blank = Line2D([], [], alpha=0)
    labels = [f"{method_label(m)}, {nfe}-step" for m in _methods(stats) for nfe in NFE_STYLE]
    floor = [k for k in found if k.startswith("floor")]
    labels += floor
    fig.legend([found.get(k, blank) for k in labels], [k if k in found else "" for k in labels], loc="lower center",
               ncol=len(_methods(stats)) + len(floor), frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.11, 1, 1))
    return save(fig, out_dir, f"quality_vs_step_{dataset}")


def _budget_note(rows: pd.DataFrame) -> str:
    """How the runs' lengths were set: one FLOP budget (the budget column is filled) or the same steps for all."""
    flops = rows["budget_flops"] if "budget_flops" in rows else pd.Series(dtype=float)
    if flops.notna().any():
        return "matched compute per dataset"
    steps = sorted(rows["train_steps"].dropna().unique()) if "train_steps" in rows else []
    return f"the same {int(steps[0]):,} steps for every run" if len(steps) == 1 else "steps set per run"


def metric_vs_batch(rows: pd.DataFrame, dataset: str, out_dir: PathLike) -> List[Path]:
    """(c) The final 1-step metric of each run against its batch size, per method."""
    metric = choose_metric(rows)
    final = final_steps(rows[rows["nfe"] == 1], metric.column)
    stats = seed_stats(final, ["method", "batch"], metric.column)
    if stats["batch"].nunique() < 2:
        raise Skip(f"{metric.short} at fewer than two batch sizes")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    for method in _methods(stats):
        s = stats[stats["method"] == method].sort_values("batch")
        ax.errorbar(s["batch"], s["mean"], yerr=s["std"].fillna(0), fmt="o-", capsize=3, ms=5, lw=1.6,
                    color=method_color(method), label=method_label(method))
    batches = sorted(stats["batch"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(batches)
    ax.set_xticklabels([str(b) for b in batches])
    ax.minorticks_off()
    nice_log(ax, stats["mean"])
    ax.set_xlabel("batch size B (generator images per step; log scale)")
    ax.set_ylabel(f"final 1-step {metric.label}")
    ax.set_title(f"{dataset}: 1-step {metric.short} at the end of training vs batch size\n"
                 f"({_budget_note(rows)}; {_seed_note(stats)})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(framealpha=0.9)
    fig.tight_layout()
    return save(fig, out_dir, f"quality_vs_batch_{dataset}")


def metric_vs_compute(rows: pd.DataFrame, dataset: str, out_dir: PathLike) -> List[Path]:
    """(d) The 1-step metric against training FLOPs up to each checkpoint; colour: method, marker: batch size."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    metric = choose_metric(rows)
    d = rows[(rows["nfe"] == 1) & rows["train_flops"].notna()]
    stats = seed_stats(d, ["method", "batch", "ckpt_step"], metric.column)
    flops = d.groupby(["method", "batch", "ckpt_step"])["train_flops"].mean().rename("flops").reset_index()
    stats = stats.merge(flops, on=["method", "batch", "ckpt_step"])
    if stats.empty:
        raise Skip(f"no {metric.short} with training FLOPs (cost files missing?)")
    batches = sorted(stats["batch"].unique())
    marker = {b: BATCH_MARKERS[i % len(BATCH_MARKERS)] for i, b in enumerate(batches)}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for method in _methods(stats):
        for b in batches:
            s = stats[(stats["method"] == method) & (stats["batch"] == b)].sort_values("flops")
            if len(s):
                ax.errorbar(s["flops"], s["mean"], yerr=s["std"].fillna(0), fmt="-", marker=marker[b], ms=5, capsize=2,
                            color=method_color(method), lw=1.4, alpha=0.9)
    if stats["flops"].max() / stats["flops"].min() > 10:  # log only where the range asks for it
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        scale = "log scale"
    else:
        ax.xaxis.set_major_locator(MaxNLocator(5))
        scale = "linear scale"
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: flops_label(x)))
    nice_log(ax, stats["mean"])
    ax.set_xlabel(f"training compute up to the checkpoint (FLOPs, {scale}; act cost × steps)")
    ax.set_ylabel(f"1-step {metric.label}")
    ax.set_title(f"{dataset}: 1-step {metric.short} against training compute ({_seed_note(stats)})")
    ax.grid(True, which="both", alpha=0.3)
    handles = [Line2D([], [], color=method_color(m), lw=2, label=method_label(m)) for m in _methods(stats)]
    handles += [Line2D([], [], color="0.3", marker=marker[b], ls="none", label=f"batch {b}") for b in batches]
    ax.legend(handles=handles, framealpha=0.9, ncol=2)
    fig.tight_layout()
    return save(fig, out_dir, f"quality_vs_compute_{dataset}")

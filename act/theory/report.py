"""Files of ``act theory``: per-checkpoint CSV, JSON and PNG, and the over-training table and plot."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Dict, List, Sequence, Union

import numpy as np

from act import io
from act.theory.analysis import COLUMNS, TheoryResult
from act.theory.wasserstein import BOUNDED_DISTANCES

OVER_TRAINING_COLUMNS = ("step", "checkpoint", "one_step_w_probe", "one_step_w_independent", "final_bound_online",
                         "final_bound_target", "one_step_bound_measured", "w_coupled_T", "w_independent_T",
                         "w_data_floor", "lipschitz_max", "lipschitz_mean", "js_mean", "logit_gap_mean")


def _cell(v: Any) -> str:
    """CSV cell: empty for missing (None, NaN), full precision for floats."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def write_rows(path: Union[str, Path], columns: Sequence[str], rows: List[Dict[str, Any]]) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for r in rows:
                w.writerow([_cell(r.get(c)) for c in columns])

    return io.atomic_write(path, write)


def write_table(result: TheoryResult, path: Union[str, Path]) -> Path:
    """One row per timestep k: row k's l_* is the loss of the pair (sigma_k, sigma_{k+1}), bound_* sums rows < k."""
    t = result.table
    rows = [{c: (int(t[c][k]) if c == "k" else float(t[c][k])) for c in COLUMNS} for k in range(len(t["k"]))]
    return write_rows(path, COLUMNS, rows)


def over_training_rows(results: Sequence[TheoryResult]) -> List[Dict[str, Any]]:
    return sorted(({c: r.summary.get(c) for c in OVER_TRAINING_COLUMNS} for r in results), key=lambda r: r["step"])


def _pyplot():
    """pyplot on the Agg backend, imported at the first plot: matplotlib is slow to import."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _nice_yscale(ax, values) -> None:
    """Log scale when the values span more than a decade, else linear from 0 (log ticks vanish on narrow ranges)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x) and x > 0], dtype=float)
    if v.size and v.max() / v.min() > 10:
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # 0.3, 2 rather than 3x10^-1, 2x10^0
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if f"{y:.0e}"[0] in "235" else ""))
    else:
        ax.set_ylim(0, 1.1 * (v.max() if v.size else 1.0))


def plot_bound(result: TheoryResult, path: Union[str, Path]) -> Path:
    """Top: B_k against the measured distances over sigma_k; bottom: the per-timestep losses (and JS)."""
    plt = _pyplot()
    t, s = result.table, result.summary
    sig, net = t["sigma"], s["network"]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 8), dpi=120, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    dname = s["distance"]
    ax.plot(sig, t["bound_online"], color="C0", lw=2.2,
            label=rf"bound $B_k = \varepsilon\,\mathbb{{E}}\|z\| + \Sigma_{{n<k}}\, l_n$, $l_n$: {net} vs itself")
    if s["target_pair"]:
        ax.plot(sig, t["bound_target"], color="C0", lw=1.4, ls="--",
                label=r"same sum with $l_n$: generator vs target (training pair; a proxy)")
    ax.plot(sig, t["e_coupled"], color="C2", lw=1.2, ls=":",
            label=r"$\mathbb{E}\,\|f(x_0+\sigma_k z,\sigma_k)-x_0\|$ (identity coupling; $\leq B_k$)")
    bounded = dname in BOUNDED_DISTANCES  # sliced W2 is not below the identity coupling's mean l2 cost
    ax.plot(sig, t["w_coupled"], color="C2", lw=1.5, marker="o", ms=2.5,
            label=rf"{dname}: $f(x_0+\sigma_k z,\sigma_k)$ vs the probe's own $x_0$ "
                  + (r"(coupled; $\leq B_k$)" if bounded else "(coupled; no guarantee)"))
    ax.plot(sig, t["w_independent"], color="C3", lw=1.5, marker="s", ms=2.5,
            label=rf"{dname}: $f(x_0+\sigma_k z,\sigma_k)$ vs independent data (not bounded)")
    ax.axhline(s["one_step_w_independent"], color="0.35", lw=1.2, ls="-.",
               label=rf"one-step $f(Tz, T)$ vs independent data: {s['one_step_w_independent']:.3g}")
    ax.axhline(s["w_data_floor"], color="0.6", lw=1, ls=":",
               label=f"data vs independent data (finite-sample floor): {s['w_data_floor']:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    if dname == "exact W1":
        ax.set_ylabel("distance to data (exact W1, l2 ground cost)")
    else:
        ax.set_ylabel(f"distance to data ({dname}, pixel space)")
        ax.text(0.01, 0.98, f"{dname} averages 1-D projections: its scale is about l2 / sqrt(d), d = "
                f"{s['data_dim']};\nthe bound and the identity-coupling cost are in l2", transform=ax.transAxes,
                va="top", fontsize=7.5, color="0.3")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    sub = f"{s['num_probe']} probe pairs, N = {s['num_scales']} Karras steps, measured network: {net}"
    ax.set_title(f"{s['method'].upper()}, step {s['step']}: cumulative CT-loss bound vs measured distance\n{sub}", fontsize=10)

    k = np.arange(len(sig) - 1)
    ax2.plot(sig[k], t["l_online"][k], color="C0", lw=1.5, label=rf"$l_k$: {net} vs itself")
    if s["target_pair"]:
        ax2.plot(sig[k], t["l_target"][k], color="C1", lw=1.2, ls="--", label=r"$l_k$: generator vs target")
    ax2.set_yscale("log")
    ax2.set_xlabel(r"noise level $\sigma_k$ (log scale; $l_k$ is drawn at the lower end of its pair $\sigma_k, \sigma_{k+1}$)")
    ax2.set_ylabel(r"per-timestep loss $l_k$ (mean $\ell_2$)")
    ax2.grid(True, which="both", alpha=0.25)
    handles, labels = ax2.get_legend_handles_labels()
    if s["discriminator"]:
        ax3 = ax2.twinx()
        ax3.plot(sig, t["js"], color="C4", lw=1.2, label="discriminator JS estimate (right axis)")
        ax3.set_ylabel("JS estimate (nats; max log 2)", color="C4")
        ax3.axhline(math.log(2), color="C4", lw=0.8, ls=":")
        h3, l3 = ax3.get_legend_handles_labels()
        handles, labels = handles + h3, labels + l3
    ax2.legend(handles, labels, fontsize=7.5, loc="best", framealpha=0.9)
    fig.tight_layout()
    return _save(fig, plt, path)


def plot_over_training(rows: Sequence[Dict[str, Any]], path: Union[str, Path], summary: Dict[str, Any]) -> Path:
    """Final bound B_{N-1} and one-step distances against the training step; ``summary``: any checkpoint's."""
    plt = _pyplot()
    distance, method, net = summary["distance"], summary["method"], summary["network"]
    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    series = [("final_bound_online", "o-", "C0", 2.0, rf"final bound $B_{{N-1}}$ ($l_n$: {net} vs itself)"),
              ("final_bound_target", "o--", "C0", 1.2, r"final bound $B_{N-1}$ ($l_n$: generator vs target)"),
              ("one_step_bound_measured", "d:", "C7", 1.2, r"one-step bound $B_{N-1} + \mathbb{E}\|f(Tz,T)-f(x_0+Tz,T)\|$"),
              ("one_step_w_probe", "s-", "C2", 1.5, f"one-step {distance} vs the probe's own $x_0$"),
              ("one_step_w_independent", "^-", "C3", 1.5, f"one-step {distance} vs independent data")]
    shown = []
    for key, style, color, lw, label in series:
        vals = [r[key] if r[key] is not None else np.nan for r in rows]
        if np.isfinite(vals).any():
            ax.plot(steps, vals, style, color=color, lw=lw, label=label)
            shown += vals
    _nice_yscale(ax, shown)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"distance to data ({distance})")
    sub = f"{summary['num_probe']} probe pairs, N = {summary['num_scales']} Karras steps, measured network: {net}"
    ax.set_title(f"{method.upper()}: CT-loss bound and one-step distance over training\n{sub}", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7.5, framealpha=0.9)
    fig.tight_layout()
    return _save(fig, plt, path)


def _save(fig, plt, path: Union[str, Path]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

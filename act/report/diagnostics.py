"""Figures from ``act theory``'s per-checkpoint timestep tables (the summary's per-sigma part), over every run of a
dataset.

(h) ``distance_vs_sigma_*``: the distance of f(x0 + sigma z, sigma) to independent data against
sigma at each run's final checkpoint, mean ± std over seeds per method and batch size: where
claim C3 (the bound accumulates for CT, not for ACT) is seen. (i) ``discriminator_*``: ACT's
discriminator on the probe, per sigma and checkpoint: the JS estimate and the real-minus-fake
logit gap; both near 0 mean the adversarial term gives the generator no signal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import pandas as pd

from act.report.plotting import Skip, pyplot, save
from act.report.style import method_color, method_label, method_rank

PathLike = Union[str, Path]
Tables = Dict[Tuple[str, int], Dict[int, List[pd.DataFrame]]]  # (method, batch) -> step -> per-seed tables


def theory_tables(sigma: Optional[pd.DataFrame], dataset: str) -> Tables:
    """Every ``act theory`` timestep table of ``dataset`` in the per-sigma summary, grouped by (method, batch) and
    checkpoint step, one table per seed."""
    out: Tables = {}
    if sigma is None:
        return out
    rows = sigma[sigma["dataset"] == dataset]
    for (method, batch, _, step), table in rows.groupby(["method", "batch", "seed", "ckpt_step"], sort=True):
        out.setdefault((method, int(batch)), {}).setdefault(int(step), []).append(table.reset_index(drop=True))
    return out


def _stack(tables: List[pd.DataFrame], column: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sigma, mean, std) over seeds of ``column`` (tables on one grid)."""
    sigma = tables[0]["sigma"].to_numpy()
    vals = np.stack([t[column].to_numpy(dtype=float) for t in tables if len(t) == len(sigma)])
    return sigma, np.nanmean(vals, 0), (np.nanstd(vals, 0, ddof=1) if len(vals) > 1 else np.zeros(len(sigma)))


def distance_vs_sigma(sigma: Optional[pd.DataFrame], dataset: str, out_dir: PathLike) -> List[Path]:
    """(h) Final-checkpoint distance to independent data per sigma: one panel per batch size, one curve per method."""
    tables = theory_tables(sigma, dataset)
    if not tables:
        raise Skip("no act theory tables")
    batches = sorted({b for _, b in tables})
    plt = pyplot()
    fig, axes = plt.subplots(1, len(batches), figsize=(4.6 * len(batches) + 0.4, 3.8), sharey=True, squeeze=False)
    for ax, b in zip(axes[0], batches):
        for method in sorted({m for m, bb in tables if bb == b}, key=method_rank):
            steps = tables[(method, b)]
            final = max(steps)
            sigma, mean, std = _stack(steps[final], "w_independent")
            c = method_color(method)
            ax.plot(sigma, mean, color=c, lw=1.6, label=f"{method_label(method)} (step {final:,}, n={len(steps[final])})")
            ax.fill_between(sigma, mean - std, mean + std, color=c, alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel(r"noise level $\sigma$ (log scale)")
        ax.set_title(f"batch {b}")
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(r"distance of $f(x_0+\sigma z,\sigma)$ to independent data")
    fig.suptitle(f"{dataset}: distance to data against sigma, final checkpoints (mean ± std over seeds; claim C3)",
                 fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, f"distance_vs_sigma_{dataset}")


def discriminator_diagnostics(sigma: Optional[pd.DataFrame], dataset: str, out_dir: PathLike) -> List[Path]:
    """(i) ACT's JS estimate and logit gap per sigma, one curve per checkpoint (mean over seeds), per batch size."""
    tables = {k: v for k, v in theory_tables(sigma, dataset).items()
              if k[0] == "act" and any(t["js"].notna().any() for ts in v.values() for t in ts)}
    if not tables:
        raise Skip("no ACT runs with act theory tables")
    batches = sorted(b for _, b in tables)
    plt = pyplot()
    fig, axes = plt.subplots(2, len(batches), figsize=(4.6 * len(batches) + 0.8, 6.4), sharex=True, squeeze=False)
    for col, b in enumerate(batches):
        steps = tables[("act", b)]
        cmap = plt.get_cmap("viridis")
        order = sorted(steps)
        for i, step in enumerate(order):
            c = cmap(i / max(1, len(order) - 1))
            for row, column in enumerate(("js", "logit_gap")):
                sigma, mean, _ = _stack(steps[step], column)
                axes[row][col].plot(sigma, mean, color=c, lw=1.2, label=f"step {step:,}" if row == 0 else None)
        axes[0][col].set_title(f"ACT, batch {b} (n={len(steps[order[-1]])} seeds)")
        axes[0][col].axhline(np.log(2), color="0.4", lw=0.8, ls=":")
        axes[1][col].axhline(0, color="0.4", lw=0.8, ls=":")
        axes[1][col].set_xscale("log")
        axes[1][col].set_xlabel(r"noise level $\sigma$ (log scale)")
        for row in (0, 1):
            axes[row][col].grid(True, which="both", alpha=0.25)
        axes[0][col].legend(fontsize=6.5, ncol=2)
    axes[0][0].set_ylabel("JS estimate (log 2 = perfect D)")
    axes[1][0].set_ylabel("E D(real) - E D(fake)")
    fig.suptitle(f"{dataset}: is ACT's discriminator telling fakes from data? (act theory probe; 0 = no signal)",
                 fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, f"discriminator_{dataset}")

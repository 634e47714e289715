"""Figures composed per method: sample grids, inpainting, theory bounds; and ACT's lambda schedule.

Each compares methods side by side on one run per method: the largest batch size, the
smallest seed and the latest checkpoint present (the panel titles say which). They read the
summary's rows of a dataset (and its per-sigma part), and the image files those rows name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import pandas as pd

from act.report.plotting import Skip, pyplot, save
from act.report.style import method_color, method_label, method_rank

PathLike = Union[str, Path]
TOY_POINTS = 2000  # points per scatter panel: dense enough to see modes, light enough for a PDF
THEORY_COLUMNS = 4  # theory-bound panels per row: ten arms wrap onto three rows instead of one strip
RUN_STEP = ["method", "batch", "seed", "ckpt_step"]  # a run's checkpoint, within one dataset's rows


def _pick(found: Dict[str, List[tuple]]) -> Dict[str, tuple]:
    """Per method, among (batch, seed, step, ...) entries: largest batch, smallest seed, latest step."""
    return {m: sorted(v, key=lambda e: (-e[0], e[1], -e[2]))[0] for m, v in sorted(found.items(), key=lambda kv: method_rank(kv[0]))}


def _image(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _per_run_step(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows with ``column``, one per run and checkpoint step (the summary repeats a checkpoint's values per NFE)."""
    return rows.dropna(subset=[column]).drop_duplicates(RUN_STEP)


def _toy_panel(ax: Any, folder: Path, kind: Optional[str], color: str) -> None:
    from act.data import sample_toy
    from act.metrics.toy import EVAL_SEED_OFFSET

    with np.load(folder / "samples.npz") as f:
        pts = f["points"][:TOY_POINTS]
    if kind:
        ref = sample_toy(kind, TOY_POINTS, EVAL_SEED_OFFSET).numpy()
        ax.scatter(ref[:, 0], ref[:, 1], s=2, color="0.7", alpha=0.5, label=f"held-out data ({kind})", rasterized=True)
    ax.scatter(pts[:, 0], pts[:, 1], s=2, color=color, alpha=0.6, label="samples", rasterized=True)
    ax.set_aspect("equal")
    scale = float(np.abs(ref).max()) if kind else float(np.percentile(np.abs(pts), 99))
    spread = float(np.percentile(np.abs(pts), 99)) if len(pts) else 0.0
    lim = 1.3 * max(scale, min(spread, 3 * scale))  # the data with a margin; far-off samples clipped at 3x
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(loc="upper right", markerscale=4, fontsize=7, framealpha=0.9)


def sample_grids(rows: pd.DataFrame, dataset: str, out_dir: PathLike) -> List[Path]:
    """(a) Samples of each method side by side (columns), 1-step and 2-step (rows): the sample sets the summary names."""
    found: Dict[str, List[tuple]] = {}
    sets = rows.dropna(subset=["samples_dir", "nfe"])
    for method, batch, seed, step, nfe, folder, kind in sets[["method", "batch", "seed", "ckpt_step", "nfe", "samples_dir",
                                                              "toy_kind"]].itertuples(index=False, name=None):
        d = Path(folder)
        if (d / "grid.png").is_file() or (d / "samples.npz").is_file():
            found.setdefault(method, []).append((batch, seed, step, int(nfe), d, kind if isinstance(kind, str) else None))
    if not found:
        raise Skip("no sample folders")
    chosen, cells = {}, {}
    for method in sorted(found, key=method_rank):
        entries = found[method]
        batch, seed = sorted({(e[0], e[1]) for e in entries}, key=lambda bs: (-bs[0], bs[1]))[0]
        run = [e for e in entries if (e[0], e[1]) == (batch, seed)]
        step = max(e[2] for e in ([e for e in run if e[3] == 1] or run))
        chosen[method] = (batch, seed, step)
        cells.update({(method, e[3]): (e[4], e[5]) for e in run if e[2] == step})
    nfes = sorted({nfe for _, nfe in cells})
    plt = pyplot()
    fig, axes = plt.subplots(len(nfes), len(chosen), figsize=(3.6 * len(chosen), 3.8 * len(nfes)), squeeze=False,
                             layout="constrained")
    for j, (method, (batch, seed, step)) in enumerate(chosen.items()):
        for i, nfe in enumerate(nfes):
            ax, (folder, kind) = axes[i][j], cells.get((method, nfe), (None, None))
            ax.set_title(f"{method_label(method)}: {nfe}-step samples\nbatch {batch}, seed {seed}, step {step:,}",
                         color=method_color(method))
            if folder is None:
                ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
                ax.axis("off")
            elif (folder / "grid.png").is_file():
                ax.imshow(_image(folder / "grid.png"), interpolation="nearest")
                ax.axis("off")
            else:
                _toy_panel(ax, folder, kind, method_color(method))
    fig.suptitle(f"{dataset}: samples of the last checkpoint with samples (no curation)", fontsize=11)
    return save(fig, out_dir, f"samples_{dataset}")


def inpainting(rows: pd.DataFrame, dataset: str, out_dir: PathLike) -> List[Path]:
    """(g) ``act inpaint`` results of each method, one row per method: the grids the summary names."""
    found: Dict[str, List[tuple]] = {}
    for r in _per_run_step(rows, "inpaint_png").itertuples(index=False):
        if Path(r.inpaint_png).is_file():
            meta = {"psnr_filled_mean": None if pd.isna(r.inpaint_psnr) else r.inpaint_psnr,
                    "mask": r.inpaint_mask if isinstance(r.inpaint_mask, str) else "?"}
            found.setdefault(r.method, []).append((r.batch, r.seed, r.ckpt_step, Path(r.inpaint_png), meta))
    if not found:
        raise Skip("no inpaint.png")
    chosen = _pick(found)
    plt = pyplot()
    images = {method: _image(entry[3]) for method, entry in chosen.items()}
    # panel height / width, capped: a strip of a few images is near square, and five arms must stay a readable page
    aspect = min(0.6, max(img.shape[0] / img.shape[1] for img in images.values()))
    fig, axes = plt.subplots(len(chosen), 1, figsize=(9, (9 * aspect + 0.5) * len(chosen) + 0.4), squeeze=False,
                             layout="constrained")
    for ax, (method, (batch, seed, step, png, meta)) in zip(axes[:, 0], chosen.items()):
        ax.imshow(images[method], interpolation="nearest")  # the PNG labels its rows (act.viz.save_grid)
        ax.set_xticks([])
        ax.set_yticks([])
        psnr = meta.get("psnr_filled_mean")
        mask = meta.get("mask", "?")
        ax.set_title(f"{method_label(method)} (batch {batch}, seed {seed}" + (f", step {step:,}" if step else "") + f"), mask: {mask}"
                     + (f", PSNR of the filled region {psnr:.2f} dB" if psnr is not None else ""), color=method_color(method))
    fig.suptitle(f"{dataset}: zero-shot inpainting (rows of each panel: masked input, inpainted, ground truth)", fontsize=11)
    return save(fig, out_dir, f"inpainting_{dataset}")


def _theory_reports(rows: pd.DataFrame, sigma: Optional[pd.DataFrame]) -> Dict[str, tuple]:
    """Per method (:func:`_pick`): a checkpoint with an act theory timestep table, the table and its report's values
    from the summary (the distance's name, the one-step distance)."""
    if sigma is None or sigma.empty:
        return {}
    reports = rows.drop_duplicates(RUN_STEP).set_index(RUN_STEP)
    found: Dict[str, List[tuple]] = {}
    for (method, batch, seed, step), table in sigma.groupby(RUN_STEP, sort=True):
        r = reports.loc[(method, batch, seed, step)] if (method, batch, seed, step) in reports.index else None
        distance = r["theory_distance"] if r is not None and isinstance(r["theory_distance"], str) else "W"
        one_step = None if r is None or pd.isna(r["theory_one_step_w_independent"]) else r["theory_one_step_w_independent"]
        found.setdefault(method, []).append((batch, seed, step, table, {"distance": distance,
                                                                         "one_step_w_independent": one_step}))
    return _pick(found) if found else {}


def theory_bounds(rows: pd.DataFrame, sigma: Optional[pd.DataFrame], dataset: str, out_dir: PathLike) -> List[Path]:
    """(e) Per method: the cumulative CT-loss bound B_k against the measured distances over sigma_k."""
    chosen = _theory_reports(rows, sigma)
    if not chosen:
        raise Skip("no act theory tables")
    plt = pyplot()
    ncols = min(len(chosen), THEORY_COLUMNS)
    nrows = -(-len(chosen) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols + 0.4, 4.4 * nrows), sharey=True, squeeze=False)
    for ax in axes.flat[len(chosen):]:
        ax.axis("off")
    dnames = set()
    for ax, (method, (batch, seed, step, t, s)) in zip(axes.flat, chosen.items()):
        dname = s.get("distance", "W")
        dnames.add(dname)
        ax.plot(t["sigma"], t["bound_online"], color="k", lw=2, label=r"bound $B_k$ (CT losses summed below $\sigma_k$)")
        ax.plot(t["sigma"], t["e_coupled"], color="0.5", lw=1.2, ls=":", label=r"$\mathbb{E}\|f(x_0+\sigma_k z)-x_0\|$ (coupled cost)")
        ax.plot(t["sigma"], t["w_coupled"], color="C2", lw=1.5, marker="o", ms=2, label=f"{dname} to the probe's own $x_0$")
        ax.plot(t["sigma"], t["w_independent"], color="C1", lw=1.5, marker="s", ms=2, label=f"{dname} to independent data")
        if s.get("one_step_w_independent") is not None:
            ax.axhline(s["one_step_w_independent"], color="C1", lw=1, ls="-.",
                       label=f"one-step {dname} to independent data ({s['one_step_w_independent']:.3g})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"noise level $\sigma_k$ (log scale)")
        ax.set_title(f"{method_label(method)} (batch {batch}, seed {seed}, step {step:,})", color=method_color(method))
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=6.5, loc="lower right", framealpha=0.9)
    for row in axes:
        row[0].set_ylabel(f"distance to data ({' / '.join(sorted(dnames))}; log scale)")
    note = "" if dnames <= {"exact W1"} else ("\nbound and coupled cost in l2 (pixel space); sliced W averages 1-D projections, "
                                              "about l2 / sqrt(d): compare shapes, not levels")
    fig.suptitle(f"{dataset}: Wasserstein bound from accumulated CT losses vs measured distance (act theory){note}", fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, f"theory_bound_{dataset}")


def _experiment_lambdas(summary: Optional[pd.DataFrame]) -> List[Tuple[str, str, float, float]]:
    """(dataset, schedule, lambda_max, w_mid) of the ACT runs of this experiment, deduplicated."""
    if summary is None or not len(summary):
        return []
    act = summary[summary["method"] == "act"].dropna(subset=["lambda_schedule", "lambda_max", "w_mid"])
    entries = act[["dataset", "lambda_schedule", "lambda_max", "w_mid"]].itertuples(index=False, name=None)
    return list(dict.fromkeys((d, s, float(lm), float(w)) for d, s, lm, w in entries))


def lambda_schedule(summary: Optional[pd.DataFrame], out_dir: PathLike, num_scales: int = 150) -> List[Path]:
    """(f) ACT's adversarial weight lambda_i = lambda_max w(i) over the noise grid: the official recipes (and this experiment's)."""
    import torch

    from act.adversarial import lambda_weight

    i = torch.arange(num_scales)
    pos = (i / (num_scales - 1)).numpy()
    recipes = [("power", 0.6, 0.2, "power, $\\lambda_{max}$ 0.6, $w_{mid}$ 0.2 (ImageNet-64, LSUN Cat 256)", "-", 2.2),
               ("constant", 0.6, 0.2, "constant, $\\lambda_{max}$ 0.6 (the same maximum, for comparison)", ":", 1.4),
               ("constant", 0.3, 0.2, "constant, $\\lambda_{max}$ 0.3 (CIFAR-10)", "--", 1.6)]
    used: Dict[tuple, List[str]] = {}
    for ds, sched, lmax, wmid in _experiment_lambdas(summary):
        match = next((r for r in recipes if (r[0], r[1]) == (sched, lmax) and (sched == "constant" or r[2] == wmid)), None)
        if match is None:
            match = (sched, lmax, wmid, f"{sched}, $\\lambda_{{max}}$ {lmax:g}" + (f", $w_{{mid}}$ {wmid:g}" if sched == "power" else ""),
                     "-.", 1.4)
            recipes.append(match)
        used.setdefault(match, []).append(ds)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for n, r in enumerate(recipes):
        sched, lmax, wmid, label, ls, lw = r
        label += f"; used here: {', '.join(used[r])}" if r in used else ""
        ax.plot(pos, lmax * lambda_weight(i, num_scales, sched, lmax, wmid).numpy(), ls=ls, lw=lw,
                color=method_color("act") if n < 3 else f"C{n + 1}", label=label)
    ax.plot([0.5], [0.2], "o", color="k", ms=5)
    ax.annotate(r"$\lambda = w_{mid} = 0.2$ at the middle of the grid", (0.5, 0.2), xytext=(0.56, 0.08), fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "0.3"})
    ax.set_xlabel(r"grid position $i / (N-1)$  (0: $\sigma_{min}$, 1: $\sigma_{max}$; any number of scales N)")
    ax.set_ylabel(r"$\lambda_i$: weight of the adversarial term in $L_G$")
    ax.set_ylim(0, 0.7)
    ax.set_xlim(0, 1)
    ax.set_title(r"ACT's adversarial weight: $L_G = (1-\lambda_i) L_{CT} + \lambda_i L_{adv}$, "
                 r"$\lambda_i = \lambda_{max} (i/(N-1))^{\log_{0.5}(w_{mid}/\lambda_{max})}$", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), framealpha=0.9)
    fig.tight_layout()
    return save(fig, out_dir, "lambda_schedule")

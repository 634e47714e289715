"""All report figures of one experiment, PNG and PDF, with a printed note for each one skipped.

Per dataset: (a) ``samples_*``, (b) ``quality_vs_step_*``, (c) ``quality_vs_batch_*``,
(d) ``quality_vs_compute_*``, (e) ``theory_bound_*``, (g) ``inpainting_*``, (h) ``distance_vs_sigma_*``,
(i) ``discriminator_*`` (act.report.diagnostics); once:
(f) ``lambda_schedule``. ``figures.json`` lists what was written, what was skipped for want of inputs, and
what failed (the command then exits non-zero, after writing everything else). Everything comes from
act aggregate's summary and its per-sigma part (act.report.aggregate), and the image files the summary
names (sample sets, inpainting grids).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

import pandas as pd

from act.report.curves import metric_vs_batch, metric_vs_compute, metric_vs_step
from act.report.diagnostics import discriminator_diagnostics, distance_vs_sigma
from act.report.panels import inpainting, lambda_schedule, sample_grids, theory_bounds
from act.report.plotting import Skip

PathLike = Union[str, Path]


def make_figures(summary: pd.DataFrame, sigma: Optional[pd.DataFrame], out_dir: PathLike,
                 base: Optional[PathLike] = None) -> Dict[str, Any]:
    """Render every figure whose inputs exist; ``{"written": [paths], "skipped": [{figure, reason}], "errors": [...]}``.

    ``summary``: act aggregate's summary; ``sigma``: its per-sigma part (None: the figures over sigma are skipped);
    ``base``: the experiment folder, which the summary's file paths are relative to (None: the working directory)."""
    from act.provenance import write_json_atomic
    from act.report.aggregate import resolve_paths

    summary = resolve_paths(summary, base)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: List[str] = []
    skipped: List[Dict[str, str]] = []
    errors: List[Dict[str, str]] = []

    def attempt(name: str, make: Callable[[], List[Path]]) -> None:
        try:
            written.extend(str(p) for p in make())
        except Skip as why:
            skipped.append({"figure": name, "reason": str(why)})
            print(f"figures: skipping {name}: {why}", file=sys.stderr)
        except Exception as err:  # one broken input must not cost the other figures; the command still fails
            errors.append({"figure": name, "error": repr(err)})
            print(f"figures: {name} failed:\n{traceback.format_exc()}", file=sys.stderr)

    datasets = sorted(summary["dataset"].dropna().astype(str).unique()) if "dataset" in summary else []
    for ds in datasets:
        rows = summary[summary["dataset"] == ds]
        sig = sigma[sigma["dataset"] == ds] if sigma is not None else None
        for name, make in (("quality_vs_step", metric_vs_step), ("quality_vs_batch", metric_vs_batch),
                           ("quality_vs_compute", metric_vs_compute)):
            attempt(f"{name}_{ds}", lambda make=make: make(rows, ds, out_dir) if len(rows) else _no_rows())
        attempt(f"samples_{ds}", lambda: sample_grids(rows, ds, out_dir))
        attempt(f"theory_bound_{ds}", lambda: theory_bounds(rows, sig, ds, out_dir))
        attempt(f"inpainting_{ds}", lambda: inpainting(rows, ds, out_dir))
        attempt(f"distance_vs_sigma_{ds}", lambda: distance_vs_sigma(sig, ds, out_dir))
        attempt(f"discriminator_{ds}", lambda: discriminator_diagnostics(sig, ds, out_dir))
    attempt("lambda_schedule", lambda: lambda_schedule(summary, out_dir))
    index = {"written": written, "skipped": skipped, "errors": errors}
    write_json_atomic(out_dir / "figures.json", index)
    return index


def _no_rows() -> List[Path]:
    raise Skip("no rows in the summary")

"""Rows of released (official) checkpoints for the result tables: one file each, scored under this protocol.

A released checkpoint (``act import-official``, then ``act score-run``, in
``{exp}/released/{dataset}/{name}/``: :func:`act.plan.layout.released_dir`) is one trained
network, not a seed of this experiment's runs: act aggregate puts it in the summary's released
part (act.report.aggregate.released_summary), not in summary.csv; the tables give it its own row
(source ``released``), never averaged with the measured seeds, and the figures and the claims,
whose tests compare runs trained here at matched settings, leave it out.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import pandas as pd

from act.errors import InputError, require_file
from act.report.style import method_label

PathLike = Union[str, Path]
SOURCE = "released"


def read_record(folder: PathLike) -> Dict[str, Any]:
    """A released checkpoint's import record (``import.json`` of act import-official --record)."""
    record_file = Path(folder) / "import.json"
    require_file(record_file, "import record", f"run act import-official with --record into {folder}")
    try:
        return json.loads(record_file.read_text())
    except ValueError as e:
        raise InputError(f"{record_file} is not valid JSON ({e}): rerun the step that wrote it") from None


def released_row(rows: pd.DataFrame, metrics: Iterable[Tuple[str, str, Optional[int]]],
                 factors: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """One table row of a released checkpoint (its rows of the summary's released part): its metrics at the latest
    scored step.

    ``metrics``: (column, summary column, nfe) as :func:`act.report.tables.metric_columns`; ``factors``: images
    per step over batch size per method (ACT loads 2B), for the images the official run saw."""
    first = rows.iloc[0]
    scored = rows[rows["nfe"].notna()]
    step = int(scored["ckpt_step"].max()) if len(scored) else (None if pd.isna(first["ckpt_step"]) else int(first["ckpt_step"]))
    batch = None if pd.isna(first["batch"]) else int(first["batch"])
    digest = "" if pd.isna(first["source_sha256"]) else str(first["source_sha256"])[:12]
    row: Dict[str, Any] = {
        "method": method_label("act"), "source": SOURCE, "status": "", "batch size": batch, "steps": step,
        "n seeds": None,
        "reference": f"{first['name']}: {first['source_file']} (sha256 {digest}...), imported and scored here",
    }
    for col, key, nfe in metrics:
        at = scored[(scored["ckpt_step"] == step) & (scored["nfe"] == (nfe or 1))][key].dropna()
        row[col] = float(at.iloc[0]) if len(at) else math.nan
        row[f"{col} std"] = math.nan
    factor = (factors or {}).get("act", 2)  # the official ACT loop also loads 2B per step
    gen, disc = first["params_generator"], first["params_discriminator"]
    row.update({
        "params G (M)": gen / 1e6 if gen > 0 else math.nan,
        "params D (M)": disc / 1e6 if disc > 0 else math.nan,
        "compute (PFLOP)": math.nan,
        "images seen": step * batch * factor if step and batch else math.nan,
        "wall time (min)": math.nan,
    })
    return row


def released_rows(released: pd.DataFrame, metrics: List[Tuple[str, str, Optional[int]]],
                  factors: Optional[Mapping[str, Any]] = None) -> pd.DataFrame:
    """A table row per released checkpoint of one dataset's rows of the summary's released part, in name order."""
    return pd.DataFrame([released_row(rows, metrics, factors) for _, rows in released.groupby("name", sort=True)])

"""Rows of released (official) checkpoints for the result tables: one file each, scored under this protocol.

A released checkpoint (``act import-official``, then ``act score-run``, in
``{exp}/released/{dataset}/{name}/``: :func:`act.plan.layout.released_dir`) is one trained
network, not a seed of this experiment's runs: it gets its own row (source ``released``),
never averaged with the measured seeds, and it stays out of summary.csv, the figures and the
claims, whose tests compare runs trained here at matched settings.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import pandas as pd

from act.errors import InputError, require_file
from act.plan.layout import parse_point, parse_released_dir
from act.report.style import method_label

PathLike = Union[str, Path]
SOURCE = "released"


def read_released(folder: PathLike) -> Dict[str, Any]:
    """{dataset, name, record (import.json), points: {(step, nfe): metrics}} of one released folder."""
    folder = Path(folder)
    dataset, name = parse_released_dir(folder)
    record_file = folder / "import.json"
    require_file(record_file, "import record", f"run act import-official with --record into {folder}")
    points: Dict[Tuple[int, int], Dict[str, Any]] = {}
    for p in sorted((folder / "metrics").glob("*.json")):
        pt = parse_point(p.name)
        if pt:
            points[pt] = _read_json(p)
    return {"dataset": dataset, "name": name, "record": _read_json(record_file), "points": points}


def _read_json(path: Path) -> Dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise InputError(f"{path} is not valid JSON ({e}): rerun the step that wrote it") from None


def _value(metrics: Mapping[str, Any], key: str) -> float:
    v = metrics.get(key)
    if isinstance(v, dict):
        v = v.get("value")
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def released_row(entry: Mapping[str, Any], metrics: Iterable[Tuple[str, str, Optional[int]]],
                 factors: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """One table row of a :func:`read_released` entry: its metrics at the latest scored step.

    ``metrics``: (column, metrics key, nfe) as :func:`act.report.tables.metric_columns`; ``factors``: images
    per step over batch size per method (ACT loads 2B), for the images the official run saw."""
    rec = entry["record"]
    steps = sorted({s for s, _ in entry["points"]})
    step = steps[-1] if steps else rec.get("step")
    train = rec.get("train") or {}
    batch = train.get("batch_size")
    params = rec.get("params") or {}
    digest = str(rec.get("source_sha256") or "")[:12]
    source_file = rec.get("released_as") or Path(str(rec.get("source", entry["name"]))).name
    row: Dict[str, Any] = {
        "method": method_label("act"), "source": SOURCE, "status": "", "batch size": batch, "steps": step,
        "n seeds": None,
        "reference": f"{entry['name']}: {source_file} (sha256 {digest}...), imported and scored here",
    }
    for col, key, nfe in metrics:
        row[col] = _value(entry["points"].get((step, nfe or 1), {}), key)
        row[f"{col} std"] = math.nan
    factor = (factors or {}).get("act", 2)  # the official ACT loop also loads 2B per step
    row.update({
        "params G (M)": params["generator"] / 1e6 if params.get("generator") else math.nan,
        "params D (M)": params["discriminator"] / 1e6 if params.get("discriminator") else math.nan,
        "compute (PFLOP)": math.nan,
        "images seen": step * batch * factor if step and batch else math.nan,
        "wall time (min)": math.nan,
    })
    return row


def released_rows(entries: Iterable[Mapping[str, Any]], dataset: str, metrics: List[Tuple[str, str, Optional[int]]],
                  factors: Optional[Mapping[str, Any]] = None) -> pd.DataFrame:
    """The rows of the released checkpoints of ``dataset``, in name order."""
    rows = [released_row(e, metrics, factors) for e in sorted(entries, key=lambda e: e["name"]) if e["dataset"] == dataset]
    return pd.DataFrame(rows)

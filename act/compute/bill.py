"""The bill of ``act estimate`` as a Markdown table, a CSV or a JSON file (:mod:`act.compute.estimate` computes it)."""

from __future__ import annotations

import csv
import io as _io
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from act.compute.estimate import EstimateError

PathLike = Union[str, Path]

COLUMNS: List[Tuple[str, str, Callable[[Dict[str, Any]], str]]] = [
    ("dataset", "dataset", lambda r: r["dataset"]),
    ("method", "method", lambda r: r["method"]),
    ("batch", "batch", lambda r: str(r["batch"])),
    ("seeds", "seeds", lambda r: str(r["n_seeds"])),
    ("precision", "precision", lambda r: r["precision"]),
    ("steps", "steps", lambda r: f"{r['steps']:,}"),
    ("gflop_per_step", "GFLOP/step", lambda r: _num(r["gflop_per_step"])),
    ("pflop_total", "PFLOP total", lambda r: _num(r["pflop_total"])),
    ("gpus_per_run", "GPUs/run", lambda r: str(r["gpus_per_run"])),
    ("gpu_hours_total", "GPU-h", lambda r: _hours(r["gpu_hours_total"])),
    ("wall_hours_per_run", "wall h/run", lambda r: _hours(r["wall_hours_per_run"])),
    ("allocations", "jobs/run", lambda r: str(r["allocations"])),
    ("images_per_second", "img/s", lambda r: _num(r["images_per_second"], 3)),
    ("basis", "basis", lambda r: f"{r['basis']} ({r['utilization']:.2f})"),
]


def _num(v: float, digits: int = 4) -> str:
    """Thousands separated and no exponent from 1000 up; ``digits`` significant digits below."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}g}"


def _hours(h: float) -> str:
    return _num(h, 3)


def to_markdown(result: Mapping[str, Any]) -> str:
    t = result["totals"]
    lines = [f"Estimate of {result['experiment']} on {result['gpu']['name']}"
             + (f" ({result['experiment_config']})" if result["experiment_config"] else ""), "",
             "| " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|" + "|".join("---" if i < 2 or c[0] in ("precision", "basis") else "---:" for i, c in enumerate(COLUMNS)) + "|"]
    for r in result["rows"]:
        lines.append("| " + " | ".join(c[2](r) for c in COLUMNS) + " |")
    total = {"dataset": "**total**", "seeds": str(t["runs"]), "pflop_total": _num(t["pflop_total"]),
             "gpu_hours_total": _hours(t["gpu_hours_total"]), "wall_hours_per_run": _hours(t["wall_hours_sequential"])}
    lines.append("| " + " | ".join(total.get(c[0], "") for c in COLUMNS) + " |")
    lines += ["", f"Total: {t['runs']} runs, {_hours(t['gpu_hours_total'])} GPU-hours; wall "
              f"{_hours(t['wall_hours_sequential'])} h one run after another, {_hours(t['wall_hours_parallel'])} h "
              "with every run at once (total row's wall h: one after another).", ""]
    if result.get("warnings"):
        lines += ["**Warnings:**"] + [f"- {w}" for w in result["warnings"]] + [""]
    lines += ["Assumptions:"]
    lines += [f"- {a}" for a in result["assumptions"]]
    return "\n".join(lines) + "\n"


CSV_FIELDS = ["dataset", "method", "batch", "n_seeds", "precision", "peak_tflops", "steps", "budget_kind", "flops_per_step",
              "gflop_per_step", "pflop_total", "gpus_per_run", "gpu_seconds_per_step", "utilization", "basis",
              "measured_device", "gpu_hours_total", "wall_hours_per_run", "allocations", "images_per_step", "images_per_second",
              "flops_source", "random_lpips_weights"]


def to_csv(result: Mapping[str, Any]) -> str:
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in result["rows"]:
        w.writerow(r)
    t = result["totals"]
    w.writerow({"dataset": "total", "n_seeds": t["runs"], "pflop_total": t["pflop_total"],
                "gpu_hours_total": t["gpu_hours_total"], "wall_hours_per_run": t["wall_hours_sequential"]})
    return buf.getvalue()


OUT_SUFFIXES = (".md", ".csv", ".json")


def check_out(path: Optional[PathLike]) -> None:
    if path is not None and Path(path).suffix.lower() not in OUT_SUFFIXES:
        raise EstimateError(f"--out {path}: name a .md, .csv or .json file")


def write_result(result: Mapping[str, Any], path: PathLike) -> Path:
    """``path`` by its suffix: .md (the printed table), .csv (one row per run and a total row), .json (everything)."""
    from act import io

    check_out(path)
    suffix = Path(path).suffix.lower()
    if suffix == ".md":
        return io.write_text(path, to_markdown(result))
    elif suffix == ".csv":
        return io.write_text(path, to_csv(result))
    from act.provenance import provenance, write_json_atomic

    write_json_atomic(path, {**result, "provenance": provenance()})
    return Path(path)

"""The summary of an experiment folder: a row per (dataset, method, batch, seed, checkpoint step, NFE); its
per-sigma part, a row per (run, checkpoint step, noise level) of act theory's timestep tables; and its released
part, a row per (released checkpoint, scored point), kept apart because a released file is no seed of the runs.

Tables, figures and claims read these files only (plus the image files the summary names: sample sets,
inpainting grids), through the column lists here.

Rows come from every sample set and metrics file, and from every checkpoint, theory
report or inpainting run that has neither (those rows have an empty ``nfe``): of every
run folder found, or only of the run outputs named (``inputs``: what the workflow's rule
declares, so that folders of runs it no longer plans are left out). Each row
joins its metrics (``act evaluate``: FID, KID, precision/recall, IS, classifier scores;
``act toy-metrics``: exact W1), the run's cost (``act cost``: parameters, FLOPs per step),
its training log at that step (images seen, wall time, losses), the budget, the theory
summary of that checkpoint and the inpainting PSNR. Anything missing is NaN.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Union

import pandas as pd
import yaml

from act.checkpoint import checkpoint_step
from act.io import write_csv
from act.plan.layout import (RunFolders, RunKey, budget_path, config_path, configs_dir, cost_path, parse_point,
                             parse_released_dir, summary_part_path)

PathLike = Union[str, Path]
KEY = ["dataset", "method", "batch", "seed", "ckpt_step", "nfe"]
METRICS = ["fid", "kid_mean", "kid_std", "precision", "recall", "inception_score", "inception_score_std",
           "classifier_is", "classifier_fd", "classifier_fd_gaussian", "w1", "w1_data_floor", "w1_gaussian", "w1_pointmass", "eval_seed",
           "num_eval_samples"]
THEORY = ["final_bound_online", "final_bound_target", "eps_term", "w_coupled_T", "w_independent_T", "w_data_floor",
          "one_step_w_probe", "one_step_w_independent", "one_step_bound_measured", "lipschitz_max", "js_mean",
          "w_coupled_growth_upper", "w_coupled_peak_sigma", "w_coupled_fall", "bound_tightness",
          "bound_holds", "distance", "num_probe"]
COLUMNS = KEY + ["method_name", "lambda_max", "lambda_schedule", "w_mid", "ct_recipe", "final", "train_steps", "data_name", "toy", "toy_kind", *METRICS, "sigmas", "num_samples",
                 "params_generator", "params_discriminator", "images_per_step", "images_seen", "flops_per_step",
                 "train_flops", "seconds_per_step", "wall_time", "budget_flops",
                 *[f"theory_{k}" for k in THEORY], "inpaint_psnr", "inpaint_psnr_trivial", "inpaint_mask", "inpaint_png",
                 "samples_dir", "metrics_file"]
# Files a row names (sample sets, metrics, inpainting grid); summary.csv holds them relative to its own folder, so
# that it stays true wherever it is read from and the experiment folder may move (write_summary, resolve_paths)
PATH_COLUMNS = ["inpaint_png", "samples_dir", "metrics_file"]
# act theory's timestep table (act.theory.COLUMNS: one row per noise level of a checkpoint's grid), keyed by run
THEORY_SIGMA = ["k", "sigma", "l_online", "l_target", "bound_online", "bound_target", "e_coupled", "w_coupled",
                "w_independent", "js", "logit_gap"]
SIGMA_COLUMNS = ["dataset", "method", "batch", "seed", "ckpt_step", *THEORY_SIGMA]
# A released checkpoint ({exp}/released/{dataset}/{name}: act import-official's record, act score-run's metrics)
RELEASED_COLUMNS = ["dataset", "name", "ckpt_step", "nfe", "batch", "params_generator", "params_discriminator",
                    "source_sha256", "source_file", *METRICS, "metrics_file"]


# The consistency-training settings ACT's CT term shares with CT: the claims compare only arms that agree on them.
CT_RECIPE_KEYS = ("s0", "s1", "mu0", "target")


def ct_recipe(method: Dict[str, Any]) -> Any:
    """``"s0 2, s1 150, mu0 0.5, target ema"`` from a run's method section; NaN when it names none of them."""
    parts = [f"{k} {method[k]}" for k in CT_RECIPE_KEYS if method.get(k) is not None]
    return ", ".join(parts) if parts else math.nan


def _num(v: Any) -> float:
    """JSON value -> float; None, strings and dicts without a value become NaN."""
    if isinstance(v, dict):
        v = v.get("value")
    try:
        return float(v) if v is not None and not isinstance(v, bool) else math.nan
    except (TypeError, ValueError):
        return math.nan


def _json(path: Path) -> Optional[Dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        print(f"aggregate: skipping unreadable {path}: {err}", file=sys.stderr)
        return None
    return data if isinstance(data, dict) else None


def read_train_log(path: Path) -> pd.DataFrame:
    """train_log.jsonl -> one row per step (the last line wins), ``wall_time`` made cumulative over resumes.

    ``act train`` restarts its clock on resume: a drop in wall_time adds the time reached before it.
    """
    rows, offset, prev = [], 0.0, None
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return pd.DataFrame()
    for line in lines:
        try:
            r = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        wt = r.get("wall_time")
        if isinstance(wt, (int, float)):
            if prev is not None and wt < prev:
                offset += prev
            prev = wt
            r["wall_time"] = wt + offset
        rows.append(r)
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).drop_duplicates("step", keep="last").set_index("step").sort_index()


def _log_at(log: pd.DataFrame, step: int) -> Dict[str, Any]:
    """The log line at ``step`` (or the last one before it)."""
    if log.empty:
        return {}
    before = log[log.index <= step]
    return before.iloc[-1].to_dict() if len(before) else {}


class _Run:
    """What one run folder and its cost, budget and theory files say, independent of the checkpoint."""

    def __init__(self, exp: Path, key: RunKey, budget: Dict[Tuple[str, str, int], Dict[str, Any]],
                 folders: RunFolders) -> None:
        run_dir = folders.folder("runs", key)
        self.config = self._config(exp, key, run_dir)
        self.log = read_train_log(run_dir / "train_log.jsonl") if run_dir else pd.DataFrame()
        cost = cost_path(exp, key.dataset, key.method, key.batch)
        self.cost = (_json(cost) or {}) if cost.is_file() else {}
        self.budget = budget.get((key.dataset, key.method, key.batch), {})
        self.theory = self._theory(folders.folder("theory", key))
        self.inpaint = self._inpaint(folders.folder("inpaint", key))
        self.checkpoints = sorted({s for p in (run_dir / "checkpoints").glob("step-*.pt") if (s := checkpoint_step(p.name))}) \
            if run_dir else []
        if run_dir and (run_dir / "model.pt").is_file() and self.train_steps:
            self.checkpoints = sorted(set(self.checkpoints) | {self.train_steps})

    @staticmethod
    def _config(exp: Path, key: RunKey, run_dir: Optional[Path]) -> Dict[str, Any]:
        for p in ([run_dir / "config.yaml"] if run_dir else []) + [config_path(configs_dir(exp), *key)]:
            if p.is_file():
                return yaml.safe_load(p.read_text()) or {}
        return {}

    @property
    def train_steps(self) -> Optional[int]:
        steps = self.config.get("train", {}).get("steps") or self.budget.get("steps")
        return int(steps) if steps else None

    @staticmethod
    def _theory(folder: Optional[Path]) -> Dict[int, Dict[str, Any]]:
        out = {}
        for p in sorted(folder.glob("*.json")) if folder else []:
            s = _json(p)
            if s and "final_bound_online" in s and "step" in s:
                out[int(s["step"])] = s
        return out

    def _inpaint(self, folder: Optional[Path]) -> Dict[int, Dict[str, Any]]:
        """step -> the summary's inpainting columns (PSNR of the filled region and of the trivial fill, the mask,
        the grid)."""
        out = {}
        for p in sorted(folder.rglob("inpaint.json")) if folder else []:
            s = _json(p) or {}
            step = checkpoint_step(s.get("checkpoint", "")) or self.train_steps
            if step is not None:
                png = p.with_suffix(".png")
                out[int(step)] = {"inpaint_psnr": _num(s.get("psnr_filled_mean")),
                                  "inpaint_psnr_trivial": _num(s.get("psnr_trivial_mean")),
                                  "inpaint_mask": s.get("mask", math.nan),
                                  "inpaint_png": str(png) if png.is_file() else math.nan}
        return out

    def row(self, step: int) -> Dict[str, Any]:
        data = self.config.get("data", {})
        params = self.cost.get("params") or self.budget.get("params") or {}
        fps = _num(self.cost.get("flops_per_step", self.budget.get("flops_per_step")))
        ips = _num(self.cost.get("images_per_step", self.budget.get("images_per_step")))
        logged = _log_at(self.log, step)
        exact = logged and int(self.log[self.log.index <= step].index[-1]) == step
        theory = self.theory.get(step, {})
        method = self.config.get("method", {})
        row = {
            # The arm's method and adversarial weight: act claims tells ACT, its lambda_max = 0 ablation and CT apart.
            "method_name": method.get("name", math.nan), "lambda_max": _num(method.get("lambda_max")),
            "lambda_schedule": method.get("lambda_schedule", math.nan), "w_mid": _num(method.get("w_mid")),
            "ct_recipe": ct_recipe(method),
            "train_steps": self.train_steps or math.nan,
            "data_name": data.get("name", math.nan), "toy": data.get("name") == "toy2d" if data else math.nan,
            "toy_kind": (data.get("options") or {}).get("kind", math.nan) if data.get("name") == "toy2d" else math.nan,
            "params_generator": _num(params.get("generator")), "params_discriminator": _num(params.get("discriminator")),
            "images_per_step": ips, "flops_per_step": fps, "train_flops": step * fps,
            "images_seen": _num(logged.get("images_seen")) if exact else step * ips,
            "seconds_per_step": _num(self.cost.get("seconds_per_step")),
            "wall_time": _num(logged.get("wall_time")) if exact else math.nan,
            "budget_flops": _num(self.budget.get("budget_flops")),
            **self.inpaint.get(step, {}),
            **{f"theory_{k}": theory.get(k, math.nan) if k in ("distance", "bound_holds") else _num(theory.get(k)) for k in THEORY},
        }
        if exact:
            row.update({k: _num(v) for k, v in logged.items() if k.startswith("loss")})
        return row


def _metrics(path: Path) -> Dict[str, Any]:
    m = _json(path) or {}
    out = {k: _num(m.get(k)) for k in METRICS if k not in ("inception_score_std", "num_eval_samples")}
    isc = m.get("inception_score")
    out["inception_score_std"] = _num(isc.get("std")) if isinstance(isc, dict) else math.nan
    out["num_eval_samples"] = _num(m.get("num_samples"))
    out["metrics_file"] = str(path)
    return out


def _sample(folder: Path) -> Dict[str, Any]:
    s = _json(folder / "sample.json") or {}
    sig = s.get("sigmas")
    return {"sigmas": " ".join(f"{x:g}" for x in sig) if isinstance(sig, list) else math.nan,
            "num_samples": _num(s.get("num")), "samples_dir": str(folder)}


def _budget_index(exp: Path) -> Dict[Tuple[str, str, int], Dict[str, Any]]:
    b = _json(budget_path(exp)) if budget_path(exp).is_file() else None
    return {(r["dataset"], r["method"], int(r["batch"])): r for r in (b or {}).get("runs", [])}


def aggregate(exp_dir: PathLike, inputs: Optional[Iterable[PathLike]] = None) -> pd.DataFrame:
    """The summary table of ``exp_dir`` (columns :data:`COLUMNS`, then ``loss_*``).

    ``inputs``: the run outputs to read (``{exp_dir}/{runs,samples,metrics,theory,inpaint}/{dataset}/{method}/
    b{batch}/s{seed}[/...]``, each standing for its run's folder of that stage); None: every run folder there.
    Costs, the budget and the run configs are read from ``exp_dir`` either way.
    """
    exp = Path(exp_dir)
    folders = RunFolders.of(exp, inputs)
    points: Dict[RunKey, Dict[Tuple[int, Optional[int]], Dict[str, Any]]] = {}
    for key, folder in folders("samples"):
        for d in sorted(folder.iterdir()):
            pt = parse_point(d.name)
            if pt and d.is_dir():
                points.setdefault(key, {}).setdefault(pt, {}).update(_sample(d))
    for key, folder in folders("metrics"):
        for p in sorted(folder.glob("*.json")):
            pt = parse_point(p.name)
            if pt:
                points.setdefault(key, {}).setdefault(pt, {}).update(_metrics(p))
    keys: Set[RunKey] = set(points)
    for stage in ("runs", "theory", "inpaint"):
        keys |= {k for k, _ in folders(stage)}
    budget = _budget_index(exp)
    rows: List[Dict[str, Any]] = []
    for key in sorted(keys):
        run = _Run(exp, key, budget, folders)
        pts = points.get(key, {})
        covered = {step for step, _ in pts}
        for step in sorted(set(run.checkpoints) | set(run.theory) | set(run.inpaint)):
            if step not in covered:
                pts[(step, None)] = {}
        for (step, nfe), values in sorted(pts.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            rows.append({**key._asdict(), "ckpt_step": step, "nfe": nfe, **run.row(step), **values})
    df = pd.DataFrame(rows)
    losses = sorted(c for c in df.columns if c.startswith("loss"))
    df = df.reindex(columns=COLUMNS + losses)
    for c in ("batch", "seed", "ckpt_step"):
        df[c] = df[c].astype("int64")
    df["nfe"] = df["nfe"].astype("Int64")  # empty for checkpoints without samples
    return complete(df)


def _paths(df: pd.DataFrame, change) -> pd.DataFrame:
    df = df.copy()
    for c in PATH_COLUMNS:
        if c in df:
            df[c] = df[c].map(lambda p: change(p) if isinstance(p, str) else p)
    return df


def resolve_paths(df: pd.DataFrame, base: Optional[PathLike]) -> pd.DataFrame:
    """The summary's :data:`PATH_COLUMNS` usable from here: relative ones joined to ``base``, the summary's own
    folder (None: as they are)."""
    return df if base is None else _paths(df, lambda p: os.path.normpath(os.path.join(base, p)))


def theory_sigma(exp_dir: PathLike, inputs: Optional[Iterable[PathLike]] = None) -> pd.DataFrame:
    """The summary's per-sigma part (columns :data:`SIGMA_COLUMNS`): every ``act theory`` timestep table of the runs
    (``inputs`` as :func:`aggregate`'s), keyed by run and checkpoint step."""
    frames = []
    for key, folder in RunFolders.of(Path(exp_dir), inputs)("theory"):
        for csv in sorted(folder.glob("step-*.csv")):
            step = checkpoint_step(csv.with_suffix(".pt").name)
            if step is None:
                continue
            try:
                frames.append(pd.read_csv(csv).assign(**key._asdict(), ckpt_step=step))
            except (OSError, ValueError) as err:
                print(f"aggregate: skipping unreadable {csv}: {err}", file=sys.stderr)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return df.reindex(columns=SIGMA_COLUMNS)


def released_summary(folders: Iterable[PathLike]) -> pd.DataFrame:
    """The summary's released part (columns :data:`RELEASED_COLUMNS`): a row per scored point of each released
    checkpoint's folder (one row without metrics where none is scored yet). A folder without its import record
    is a user error."""
    from act.report.released import read_record

    rows: List[Dict[str, Any]] = []
    for folder in map(Path, folders):
        dataset, name = parse_released_dir(folder)
        rec = read_record(folder)
        params = rec.get("params") or {}
        base = {"dataset": dataset, "name": name, "batch": _num((rec.get("train") or {}).get("batch_size")),
                "params_generator": _num(params.get("generator")), "params_discriminator": _num(params.get("discriminator")),
                "source_sha256": rec.get("source_sha256", math.nan),
                "source_file": rec.get("released_as") or Path(str(rec.get("source", name))).name}
        points = [(pt, p) for p in sorted((folder / "metrics").glob("*.json")) if (pt := parse_point(p.name))]
        rows += [{**base, "ckpt_step": step, "nfe": nfe, **_metrics(p)} for (step, nfe), p in points]
        if not points:
            rows.append({**base, "ckpt_step": _num(rec.get("step"))})
    df = pd.DataFrame(rows).reindex(columns=RELEASED_COLUMNS)
    df["nfe"] = df["nfe"].astype("Int64")
    return df


def complete(df: pd.DataFrame) -> pd.DataFrame:
    """The summary's derived columns, defined here once, filled in where a row lacks them (``final``: every row
    of :func:`aggregate`; ``toy``: a run without its config; a summary from elsewhere): ``final``, each run's own
    end (its ``train_steps``, else its last checkpoint); ``toy``, 2-D toy data (its data config's name, else a
    dataset with exact W1 and no FID).
    Tables, figures and claims read these columns only."""
    df = df.reindex(columns=list(dict.fromkeys(COLUMNS + list(df.columns))))
    if not len(df):
        return df
    run = ["dataset", "method", "batch", "seed"]
    missing = df["final"].isna()
    if missing.any():
        last = df.groupby(run)["ckpt_step"].transform("max")
        end = pd.to_numeric(df["train_steps"], errors="coerce").fillna(last)
        df["final"] = df["final"].astype(object).where(~missing, df["ckpt_step"] == end)
    missing = df["toy"].isna()
    if missing.any():
        w1 = df["w1"].notna().groupby(df["dataset"]).transform("any")
        fid = df["fid"].notna().groupby(df["dataset"]).transform("any")
        df["toy"] = df["toy"].astype(object).where(~missing, w1 & ~fid)
    df["final"], df["toy"] = flag(df, "final"), flag(df, "toy")
    return df


def flag(rows: pd.DataFrame, column: str) -> pd.Series:
    """A yes/no column of the summary (``final``, ``toy``) as bool, an empty value as no: frames that did not go
    through :func:`complete` (a plain read_csv) never count a missing value as yes."""
    return rows[column].astype("boolean").fillna(False).astype(bool)


def write_summary(exp_dir: PathLike, out: PathLike, inputs: Optional[Iterable[PathLike]] = None,
                  sigma_out: Optional[PathLike] = None) -> Tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`aggregate` (its :data:`PATH_COLUMNS` relative to ``out``'s folder) and :func:`theory_sigma` written as
    CSV (atomically), the latter at ``sigma_out`` (default: beside ``out``, act.plan.layout.summary_part_path)."""
    df, sigma = aggregate(exp_dir, inputs), theory_sigma(exp_dir, inputs)
    here = os.path.dirname(os.path.abspath(out))
    write_csv(out, _paths(df, lambda p: os.path.relpath(os.path.abspath(p), here)), index=False)
    write_csv(sigma_out or summary_part_path(out, "sigma"), sigma, index=False)
    return df, sigma


def read_summary(path: PathLike) -> pd.DataFrame:
    """summary.csv with its key columns typed (``nfe`` nullable)."""
    from act.errors import require_file

    require_file(path, "summary", "pass the CSV that act aggregate wrote (results/<experiment>/summary.csv)")
    df = pd.read_csv(path)
    if len(df):
        df["nfe"] = df["nfe"].astype("Int64")
    return complete(df)


def part_beside(summary: PathLike, part: str, given: Optional[PathLike] = None) -> Optional[pd.DataFrame]:
    """A part of the summary (:func:`read_part`): the file ``given``, else the one beside ``summary`` where act
    aggregate wrote it; None where neither is given nor there."""
    path = given or summary_part_path(summary, part)
    return read_part(path, part) if given or Path(path).is_file() else None


def read_part(path: PathLike, part: str) -> pd.DataFrame:
    """A part of the summary (``sigma``: :data:`SIGMA_COLUMNS`; ``released``: :data:`RELEASED_COLUMNS`), as act
    aggregate wrote it."""
    from act.errors import require_file

    require_file(path, f"the summary's {part} part", f"pass the summary_{part}.csv that act aggregate wrote beside "
                                                     "summary.csv")
    df = pd.read_csv(path).reindex(columns=SIGMA_COLUMNS if part == "sigma" else RELEASED_COLUMNS)
    if part == "released":
        df["nfe"] = df["nfe"].astype("Int64")
    return df

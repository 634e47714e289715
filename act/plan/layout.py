"""The experiment folder layout, as paths and parsers: the workflow's rules and the reports spell
every path through these functions (with wildcards such as ``"{dataset}"`` for the rules).

```
{results_dir}/{name}/ = {exp}/
{exp}/cost/{dataset}/{method}_b{batch}.json
{exp}/budget.json
{exp}/configs/{dataset}/{method}/b{batch}/s{seed}.yaml        (and .../b{batch}/cost.yaml for act cost)
{exp}/reference/{dataset}/classifier.{pt,json}
{exp}/runs/{dataset}/{method}/b{batch}/s{seed}/               model.pt, config.yaml, train_log.jsonl, checkpoints/
{exp}/samples/{dataset}/{method}/b{batch}/s{seed}/step{ckpt_step}_nfe{1|2}/
{exp}/metrics/{dataset}/{method}/b{batch}/s{seed}/step{ckpt_step}_nfe{1|2}.json
{exp}/theory/{dataset}/{method}/b{batch}/s{seed}/
{exp}/inpaint/{dataset}/{method}/b{batch}/s{seed}/            inpaint.json, inpaint.png
{exp}/released/{dataset}/{name}/                released checkpoints: model.pt, import.json, samples/, metrics/
{exp}/summary.csv, {exp}/tables/, {exp}/figures/, {exp}/claims.{md,csv,json,png}
{exp}/logs/{stage}/{name}.log, {exp}/benchmarks/{stage}/{name}.tsv
```
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, Iterable, Iterator, Mapping, NamedTuple, Optional, Tuple, Union

from act.errors import InputError

PathLike = Union[str, Path]

COST_RE = re.compile(r"^(?P<method>[A-Za-z0-9]+)_b(?P<batch>\d+)\.json$")
BATCH_RE = re.compile(r"^b(\d+)$")
SEED_RE = re.compile(r"^s(\d+)$")
POINT_RE = re.compile(r"^step(?P<step>\d+)_nfe(?P<nfe>\d+)(\.json)?$")
STAGES = ("runs", "samples", "metrics", "theory", "inpaint")  # the per-run folders


class RunKey(NamedTuple):
    dataset: str
    method: str
    batch: int
    seed: int

    def rel(self) -> Path:
        return Path(self.dataset, self.method, f"b{self.batch}", f"s{self.seed}")


def experiment_dir(results_dir: PathLike, name: str) -> Path:
    return Path(results_dir, name)


def stage_dir(exp: PathLike, stage: str, dataset: str, method: str, batch: int, seed: int) -> Path:
    """``{exp}/{stage}/{dataset}/{method}/b{batch}/s{seed}``, ``stage`` one of :data:`STAGES`."""
    return Path(exp, stage, RunKey(dataset, method, batch, seed).rel())  # type: ignore[arg-type]


def model_path(exp: PathLike, dataset: str, method: str, batch: int, seed: int) -> Path:
    """The final model of a run (``act train`` writes it last)."""
    return stage_dir(exp, "runs", dataset, method, batch, seed) / "model.pt"


def inpaint_path(exp: PathLike, dataset: str, method: str, batch: int, seed: int, suffix: str = ".json") -> Path:
    return stage_dir(exp, "inpaint", dataset, method, batch, seed) / f"inpaint{suffix}"


def released_dir(exp: PathLike, dataset: str, name: str) -> Path:
    """A released (official) checkpoint scored like a run: ``model.pt`` (act import-official), ``import.json``
    (its record), ``samples/step{k}_nfe{n}/`` and ``metrics/step{k}_nfe{n}.json`` (act score-run)."""
    return Path(exp, "released", dataset, name)


def parse_released_dir(path: PathLike) -> Tuple[str, str]:
    """``.../released/{dataset}/{name}`` -> (dataset, name)."""
    p = Path(path)
    if p.parent.parent.name != "released":
        raise InputError(f"{path} is not a released checkpoint's folder (.../released/{{dataset}}/{{name}})")
    return p.parent.name, p.name


def configs_dir(exp: PathLike) -> Path:
    return Path(exp, "configs")


def plan_path(exp: PathLike, part: str) -> Path:
    """A part of the experiment's plan (act.plan.workflow.stage_plans): ``experiment``, the experiment as the
    workflow validated it; every other part, what one act command of the workflow reads (``--plan``)."""
    return Path(exp, "plan", f"{part}.json")


def budget_path(exp: PathLike) -> Path:
    return Path(exp, "budget.json")


def classifier_path(exp: PathLike, dataset: str, suffix: str = ".pt") -> Path:
    return Path(exp, "reference", dataset, f"classifier{suffix}")


def summary_path(exp: PathLike, part: Optional[str] = None) -> Path:
    """act aggregate's summary, or (``part``: ``sigma``, ``released``) one of its parts beside it."""
    summary = Path(exp, "summary.csv")
    return summary if part is None else summary_part_path(summary, part)


def summary_part_path(summary: PathLike, part: str) -> Path:
    """Where a part of the summary at ``summary`` lies: ``{stem}_{part}.csv`` beside it."""
    p = Path(summary)
    return p.with_name(f"{p.stem}_{part}.csv")


def tables_dir(exp: PathLike) -> Path:
    return Path(exp, "tables")


def figures_dir(exp: PathLike) -> Path:
    return Path(exp, "figures")


def claims_path(exp: PathLike, suffix: str) -> Path:
    return Path(exp, f"claims{suffix}")


def log_path(exp: PathLike, stage: str, name: str) -> Path:
    return Path(exp, "logs", stage, f"{name}.log")


def benchmark_path(exp: PathLike, stage: str, name: str) -> Path:
    return Path(exp, "benchmarks", stage, f"{name}.tsv")


def cost_path(exp: PathLike, dataset: str, method: str, batch: int) -> Path:
    return Path(exp, "cost", dataset, f"{method}_b{batch}.json")


def config_path(configs_dir: PathLike, dataset: str, method: str, batch: int, seed: int) -> Path:
    return Path(configs_dir, dataset, method, f"b{batch}", f"s{seed}.yaml")


def cost_config_path(configs_dir: PathLike, dataset: str, method: str, batch: int) -> Path:
    return Path(configs_dir, dataset, method, f"b{batch}", "cost.yaml")


def parse_cost_path(path: PathLike) -> Tuple[str, str, int]:
    """``.../{dataset}/{method}_b{batch}.json`` -> (dataset, method, batch)."""
    p = Path(path)
    m = COST_RE.match(p.name)
    if not m:
        raise InputError(f"cost file {p} is not named {{dataset}}/{{method}}_b{{batch}}.json")
    return p.parent.name, m["method"], int(m["batch"])


def run_dirs(exp: PathLike, stage: str) -> Iterator[Tuple[RunKey, Path]]:
    """(key, folder) of every ``{exp}/{stage}/{dataset}/{method}/b{batch}/s{seed}`` folder, sorted."""
    root = Path(exp, stage)
    if not root.is_dir():
        return
    for d in sorted(root.glob("*/*/b*/s*")):
        b, s = BATCH_RE.match(d.parent.name), SEED_RE.match(d.name)
        if d.is_dir() and b and s:
            yield RunKey(d.parent.parent.parent.name, d.parent.parent.name, int(b.group(1)), int(s.group(1))), d


def parse_point(name: str) -> Optional[Tuple[int, int]]:
    """``step{ckpt_step}_nfe{n}`` (or ``.json``) -> (ckpt_step, nfe); None for other names."""
    m = POINT_RE.match(name)
    return (int(m["step"]), int(m["nfe"])) if m else None


def parse_run_path(exp: PathLike, path: PathLike) -> Tuple[str, RunKey]:
    """``{exp}/{stage}/{dataset}/{method}/b{batch}/s{seed}[/...]`` -> (stage, key)."""
    p, root = Path(os.path.abspath(path)), Path(os.path.abspath(exp))
    parts = p.relative_to(root).parts if p.is_relative_to(root) else ()
    b, s = (BATCH_RE.match(parts[3]), SEED_RE.match(parts[4])) if len(parts) >= 5 else (None, None)
    if not (b and s and parts[0] in STAGES):
        raise ValueError(f"{path} is not a run's output under {exp} ({{stage}}/{{dataset}}/{{method}}/b{{batch}}/s{{seed}}, "
                         f"stage one of {list(STAGES)})")
    return parts[0], RunKey(parts[1], parts[2], int(b.group(1)), int(s.group(1)))


class RunFolders:
    """Per stage (:data:`STAGES`), the folder of each run: every one found in the experiment folder
    (:meth:`walk`), or only those of the paths given (:meth:`named`: a workflow rule's inputs, so
    that files of runs or stages no longer planned are not read)."""

    def __init__(self, exp: PathLike, folders: Optional[Mapping[str, Mapping[RunKey, Path]]] = None) -> None:
        self.exp = Path(exp)
        self._folders = None if folders is None else {stage: dict(folders.get(stage, {})) for stage in STAGES}
        self._walked: Dict[str, Dict[RunKey, Path]] = {}

    @classmethod
    def walk(cls, exp: PathLike) -> "RunFolders":
        """Every run folder under ``exp`` (each stage walked when first asked for)."""
        return cls(exp)

    @classmethod
    def named(cls, exp: PathLike, paths: Iterable[PathLike]) -> "RunFolders":
        """A path stands for its run's folder of its stage (``runs/.../model.pt``: the run folder)."""
        folders: Dict[str, Dict[RunKey, Path]] = {}
        for p in paths:
            stage, key = parse_run_path(exp, p)
            folders.setdefault(stage, {})[key] = Path(exp, stage, key.rel())
        return cls(exp, folders)

    @classmethod
    def of(cls, exp: Union[PathLike, "RunFolders"], paths: Optional[Iterable[PathLike]] = None) -> "RunFolders":
        """``exp`` itself when it is one; else :meth:`named` when ``paths`` are given, :meth:`walk` when not."""
        if isinstance(exp, RunFolders):
            return exp
        return cls.walk(exp) if paths is None else cls.named(exp, paths)

    def _stage(self, stage: str) -> Dict[RunKey, Path]:
        if self._folders is not None:
            return self._folders[stage]
        if stage not in self._walked:
            self._walked[stage] = dict(run_dirs(self.exp, stage))
        return self._walked[stage]

    def __call__(self, stage: str) -> Iterator[Tuple[RunKey, Path]]:
        """(key, folder) of every existing ``stage`` folder, in :func:`run_dirs`' order (sorted by path)."""
        for key, folder in sorted(self._stage(stage).items(), key=lambda kv: kv[1]):
            if folder.is_dir():
                yield key, folder

    def folder(self, stage: str, key: RunKey) -> Optional[Path]:
        """The run's ``stage`` folder, None when it is not one of these (or does not exist)."""
        folder = self._stage(stage).get(key)
        return folder if folder is not None and folder.is_dir() else None

"""The experiment folder layout, as paths and parsers (agreed with the workflow).

```
{exp}/cost/{dataset}/{method}_b{batch}.json
{exp}/budget.json
{exp}/configs/{dataset}/{method}/b{batch}/s{seed}.yaml
{exp}/runs/{dataset}/{method}/b{batch}/s{seed}/
{exp}/samples/{dataset}/{method}/b{batch}/s{seed}/step{ckpt_step}_nfe{1|2}/
{exp}/metrics/{dataset}/{method}/b{batch}/s{seed}/step{ckpt_step}_nfe{1|2}.json
{exp}/theory/{dataset}/{method}/b{batch}/s{seed}/
{exp}/inpaint/{dataset}/{method}/b{batch}/s{seed}/
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, NamedTuple, Optional, Tuple, Union

PathLike = Union[str, Path]

COST_RE = re.compile(r"^(?P<method>[A-Za-z0-9]+)_b(?P<batch>\d+)\.json$")
BATCH_RE = re.compile(r"^b(\d+)$")
SEED_RE = re.compile(r"^s(\d+)$")
POINT_RE = re.compile(r"^step(?P<step>\d+)_nfe(?P<nfe>\d+)(\.json)?$")


class RunKey(NamedTuple):
    dataset: str
    method: str
    batch: int
    seed: int

    def rel(self) -> Path:
        return Path(self.dataset, self.method, f"b{self.batch}", f"s{self.seed}")


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
        raise ValueError(f"cost file {p} is not named {{dataset}}/{{method}}_b{{batch}}.json")
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

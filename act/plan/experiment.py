"""The experiment config of a matched-compute study, parsed in one place.

An experiment names, per dataset key, the training config of each method, the batch
sizes, the seeds and one compute budget. Keys this module does not read (evaluation or
sampling settings of the workflow) are left alone: the workflow validates the whole file
against its JSON schema. Example::

    name: smoke
    defaults: {seeds: [0], checkpoints: 4}     # merged under every dataset
    datasets:
      fashion_mnist:
        config: config/train/ct_fashion_mnist_tiny.yaml   # base config: a path or an inline mapping
        methods:                                          # list of names, or name -> spec
          ct: null                                        # the base, method.name set to ct
          ict: {method: {name: ict}}                      # a mapping: merged over the base
          act: config/train/act_fashion_mnist_tiny.yaml   # a path: that file instead of the base
        overrides: {train: {log_every: 10}}               # or ["train.log_every=10"]: every method
        batch_sizes: [16, 32]
        seeds: [0, 1]
        budget: {reference: {method: ct, batch: 32, steps: 2000}}   # or {flops: 1.2e15} or {steps: 500}
        checkpoints: 4                                    # checkpoints each run leaves (FID vs step)

Relative config paths are looked up from the working directory, then from the folder of
the experiment config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import yaml

from act.errors import ConfigError, MissingInputError

PathLike = Union[str, Path]
BUDGET_KINDS = ("reference", "flops", "steps")
DEFAULT_CHECKPOINTS = 4  # a few checkpoints per run: enough for a FID-vs-step curve


@dataclass
class Budget:
    """One compute budget: ``flops``; ``reference`` (``steps`` of ``method`` at ``batch``); or fixed ``steps``."""

    kind: str
    flops: Optional[float] = None
    method: Optional[str] = None
    batch: Optional[int] = None
    steps: Optional[int] = None


@dataclass
class DatasetPlan:
    key: str  # experiment-level dataset key (fashion_mnist, toy_gmm, cifar10, ...)
    methods: Dict[str, Any]  # method -> None | config path | mapping merged over ``config``
    config: Any  # base training config: None | path | mapping
    overrides: Dict[str, Any]  # nested mapping applied to every method's config
    batch_sizes: List[int]
    seeds: List[int]
    budget: Budget
    checkpoints: int = DEFAULT_CHECKPOINTS


@dataclass
class Experiment:
    name: str
    datasets: Dict[str, DatasetPlan]
    path: Optional[Path] = None  # the experiment config file, when read from one
    raw: Dict[str, Any] = field(default_factory=dict)

    @property
    def base_dir(self) -> Optional[Path]:
        return self.path.parent if self.path else None


def _int_list(value: Any, where: str) -> List[int]:
    values = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) and not (isinstance(v, float) and v.is_integer()):
            raise ConfigError(f"{where}: expected integers, got {value!r}")
        out.append(int(v))
    if not out or len(set(out)) != len(out):
        raise ConfigError(f"{where}: expected distinct integers, got {value!r}")
    return out


def _budget(raw: Any, where: str) -> Budget:
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in BUDGET_KINDS:
        raise ConfigError(f"{where}: give exactly one of {list(BUDGET_KINDS)}, e.g. "
                         "{reference: {method: ct, batch: 32, steps: 2000}} or {flops: 1.2e15}; got " + repr(raw))
    kind, value = next(iter(raw.items()))
    if kind == "reference":
        if not isinstance(value, Mapping) or set(value) != {"method", "batch", "steps"}:
            raise ConfigError(f"{where}.reference: needs exactly method, batch and steps; got {value!r}")
        return Budget(kind, method=str(value["method"]), batch=_int_list(value["batch"], f"{where}.reference.batch")[0],
                      steps=_int_list(value["steps"], f"{where}.reference.steps")[0])
    elif kind == "flops":
        flops = float(value)  # YAML reads 1.2e15 as a string
        if not math.isfinite(flops) or flops <= 0:
            raise ConfigError(f"{where}.flops: expected a positive number, got {value!r}")
        return Budget(kind, flops=flops)
    elif kind == "steps":
        return Budget(kind, steps=_int_list(value, f"{where}.steps")[0])
    else:
        raise ConfigError(f"{where}: unknown budget kind {kind!r}; choose from {BUDGET_KINDS}")


def _overrides(raw: Any, where: str) -> Dict[str, Any]:
    from act.config import merge_config, parse_override

    if raw is None:
        return {}
    elif isinstance(raw, Mapping):
        return dict(raw)
    elif isinstance(raw, (list, tuple)):
        out: Dict[str, Any] = {}
        for text in raw:
            out = merge_config(out, parse_override(str(text)))
        return out
    else:
        raise ConfigError(f"{where}: expected a mapping or a list of section.key=value strings, got {raw!r}")


def _dataset(key: str, raw: Mapping[str, Any]) -> DatasetPlan:
    from act.config import METHOD_NAMES

    methods_known = sorted(METHOD_NAMES)
    where = f"datasets.{key}"
    methods = raw.get("methods")
    if isinstance(methods, (list, tuple)):
        methods = {str(m): None for m in methods}
    if not isinstance(methods, Mapping) or not methods:
        raise ConfigError(f"{where}.methods: expected a list of methods or a mapping method -> config; got {methods!r}")
    unknown = sorted(set(methods) - set(methods_known))
    if unknown:
        raise ConfigError(f"{where}.methods: unknown method(s) {unknown}; choose from {methods_known}")
    base = raw.get("config")
    for m, spec in methods.items():
        if spec is not None and not isinstance(spec, (str, Mapping)):
            raise ConfigError(f"{where}.methods.{m}: expected null, a config path or a mapping; got {spec!r}")
        if base is None and not isinstance(spec, str):
            raise ConfigError(f"{where}.methods.{m}: without a base 'config' each method needs a config path")
    for name in ("batch_sizes", "seeds", "budget"):
        if name not in raw:
            raise ConfigError(f"{where}: missing '{name}'")
    checkpoints = _int_list(raw.get("checkpoints", DEFAULT_CHECKPOINTS), f"{where}.checkpoints")[0]
    if checkpoints < 1:
        raise ConfigError(f"{where}.checkpoints: expected at least 1, got {checkpoints}")
    plan = DatasetPlan(key=key, methods=dict(methods), config=base, overrides=_overrides(raw.get("overrides"), f"{where}.overrides"),
                       batch_sizes=_int_list(raw["batch_sizes"], f"{where}.batch_sizes"),
                       seeds=_int_list(raw["seeds"], f"{where}.seeds"),
                       budget=_budget(raw["budget"], f"{where}.budget"), checkpoints=checkpoints)
    if plan.budget.kind == "reference" and plan.budget.method not in methods_known:
        raise ConfigError(f"{where}.budget.reference.method: unknown method {plan.budget.method!r}; choose from {methods_known}")
    return plan


def config_problem(config: Mapping[str, Any], schema_path: PathLike) -> Optional[str]:
    """The first problem the workflow's JSON schema finds in ``config``, as one line naming the key; None when valid."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(dict(config)))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "the top level"
    message = " ".join(error.message.split())
    return f"{where}: {message[:300]} (workflow/schemas/config.schema.yaml says what each key takes)"


def resource_request(experiment: Mapping[str, Any], dataset: str, rule: str, field: str) -> Any:
    """What a job of ``rule`` on ``dataset`` asks the scheduler for (``field``: threads, mem_mb, runtime, gpu):
    the dataset's ``resources:`` entry (over ``defaults:``), else the experiment's; None when neither sets it."""
    from act.config import deep_update

    datasets = experiment.get("datasets") or {}
    spec = deep_update(dict(experiment.get("defaults") or {}), dict(datasets.get(dataset) or {}))
    for res in (spec.get("resources"), experiment.get("resources")):
        value = ((res or {}).get(rule) or {}).get(field)
        if value is not None:
            return value
    return None


def parse_experiment(source: Union[PathLike, Mapping[str, Any], Experiment]) -> Experiment:
    """An experiment config (a YAML path or its mapping) -> :class:`Experiment`; raises on what budget cannot use."""
    from act.config import deep_update

    if isinstance(source, Experiment):
        return source
    path = None
    if isinstance(source, Mapping):
        raw = dict(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise MissingInputError(f"experiment config {path} does not exist")
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path}: top level must be a mapping")
    datasets = raw.get("datasets")
    if not isinstance(datasets, Mapping) or not datasets:
        raise ConfigError(f"{path or 'experiment config'}: 'datasets' must map dataset keys to their plans")
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"defaults: expected a mapping, got {defaults!r}")
    plans = {}
    for key, d in datasets.items():
        if not isinstance(d, Mapping):
            raise ConfigError(f"datasets.{key}: expected a mapping, got {d!r}")
        plans[str(key)] = _dataset(str(key), deep_update(dict(defaults), d))
    name = str(raw.get("name") or (path.stem if path else "experiment"))
    return Experiment(name=name, datasets=plans, path=path, raw=dict(raw))


def find_file(name: PathLike, base_dir: Optional[Path]) -> Path:
    """``name`` as given (absolute or from the working directory), else from ``base_dir``."""
    p = Path(name)
    tried = [p]
    if p.is_file():
        return p
    if not p.is_absolute() and base_dir is not None:
        q = base_dir / p
        tried.append(q)
        if q.is_file():
            return q
    raise MissingInputError(f"config {name} not found; looked at {[str(t) for t in tried]}")


def _spec_dict(spec: Any, base_dir: Optional[Path]) -> Dict[str, Any]:
    """A config spec (path or mapping, ``base:`` allowed in both) -> the fully resolved nested dict."""
    from act.config import ExperimentConfig, from_dict, load_config, merge_config, to_dict

    if isinstance(spec, (str, Path)):
        return to_dict(load_config(find_file(spec, base_dir)))
    elif isinstance(spec, Mapping):
        raw = dict(spec)
        base = raw.pop("base", None)
        start = _spec_dict(base, base_dir) if base is not None else {}
        return to_dict(from_dict(ExperimentConfig, merge_config(start, raw)))
    else:
        raise ConfigError(f"expected a config path or mapping, got {spec!r}")


def resolve_run_config(exp: Experiment, dataset: str, method: str, batch: int, seed: int = 0,
                       train: Optional[Mapping[str, Any]] = None) -> Any:
    """The :class:`act.config.ExperimentConfig` of one run: method config, dataset overrides, batch, seed, ``train`` extras."""
    from act.config import ExperimentConfig, from_dict, merge_config

    plan = exp.datasets[dataset]
    spec = plan.methods[method]
    if isinstance(spec, (str, Path)):
        raw = _spec_dict(spec, exp.base_dir)
    else:
        raw = merge_config(_spec_dict(plan.config, exp.base_dir), {"method": {"name": method}})
        if isinstance(spec, Mapping):
            raw = merge_config(raw, spec)
    raw = merge_config(raw, plan.overrides)
    raw = merge_config(raw, {"train": {"batch_size": int(batch), "seed": int(seed), **dict(train or {})}})
    cfg = from_dict(ExperimentConfig, raw, where=f"{dataset}/{method}")
    if cfg.method.name != method:
        raise ConfigError(f"datasets.{dataset}.methods.{method}: its config trains method {cfg.method.name!r}")
    return cfg


def cost_jobs(exp: Experiment) -> List[Dict[str, Any]]:
    """Every (dataset, method, batch) whose ``act cost`` the budget needs, the reference included."""
    jobs = []
    for key, plan in exp.datasets.items():
        pairs = [(m, b) for m in plan.methods for b in plan.batch_sizes]
        if plan.budget.kind == "reference":
            ref = (plan.budget.method, plan.budget.batch)
            if ref[0] not in plan.methods:
                raise ConfigError(f"datasets.{key}.budget.reference: method {ref[0]!r} is not among this dataset's methods")
            if ref not in pairs:
                pairs.append(ref)
        jobs += [{"dataset": key, "method": m, "batch": b} for m, b in pairs]
    return jobs

"""The experiment config of a matched-compute study, parsed in one place.

An experiment names, per dataset key, its arms (a method, or a variant of one, each with
its training config), the batch sizes, the seeds and one compute budget; an arm may set its
own batch sizes and budget. An arm's key names its paths and files (runs/{dataset}/{arm}/...,
cost/{dataset}/{arm}_b{batch}.json); a key that is not a method name gets its method from its
config. Keys this module does not read (evaluation or sampling settings of the workflow) are
left alone: the workflow validates the whole file against its JSON schema. Example::

    name: smoke
    defaults: {seeds: [0], checkpoints: 4}     # merged under every dataset
    datasets:
      fashion_mnist:
        config: config/train/ct_fashion_mnist_tiny.yaml   # base config: a path or an inline mapping
        methods:                                          # list of method names, or arm -> spec
          ct: null                                        # the base, method.name set to ct
          ict: {method: {name: ict}}                      # a mapping: merged over the base
          act: config/train/act_fashion_mnist_tiny.yaml   # a path: that file instead of the base
          actnoadv:                                       # an arm: a variant, naming its method
            method: {name: act, lambda_max: 0.0}
            model: {discriminator: tiny}
            batch_sizes: [32]                             # its own batch sizes and budget, over the
            budget: {steps: 500}                          # dataset's: plan keys, not training config
        overrides: {train: {log_every: 10}}               # or ["train.log_every=10"]: every arm (an
                                                          # arm's own keys win: actnoadv keeps its lambda_max)
        batch_sizes: [16, 32]
        seeds: [0, 1]
        budget: {reference: {method: ct, batch: 32, steps: 2000}}   # or {flops: 1.2e15} or {steps: 500};
                                                          # no batch: matched at each run's own batch
        checkpoints: 4                                    # checkpoints each run leaves (FID vs step)

Relative config paths are looked up from the working directory, then from the folder of
the experiment config.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import yaml

from act.errors import ConfigError, MissingInputError

PathLike = Union[str, Path]
BUDGET_KINDS = ("reference", "flops", "steps")
DEFAULT_CHECKPOINTS = 4  # a few checkpoints per run: enough for a FID-vs-step curve
# Arm keys name files ({arm}_b{batch}.json, parsed back by act/plan/layout.py) and a Snakemake
# wildcard ([A-Za-z0-9]+): no underscore, no upper case (folders on case-blind file systems).
ARM_RE = re.compile(r"^[a-z][a-z0-9]*$")
ARM_PLAN_KEYS = ("batch_sizes", "budget")  # an arm mapping's plan keys, taken out of its training config


@dataclass
class Budget:
    """One compute budget: ``flops``; ``reference`` (``steps`` of arm ``method`` at ``batch``; None: at the batch
    of each run it budgets); or fixed ``steps``."""

    kind: str
    flops: Optional[float] = None
    method: Optional[str] = None
    batch: Optional[int] = None
    steps: Optional[int] = None


@dataclass
class DatasetPlan:
    key: str  # experiment-level dataset key (fashion_mnist, toy_gmm, cifar10, ...)
    methods: Dict[str, Any]  # arm -> None | config path | mapping over ``config`` (or over its own ``base:``)
    config: Any  # base training config: None | path | mapping
    overrides: Dict[str, Any]  # nested mapping applied to every arm's config, under the arm's own keys
    batch_sizes: List[int]  # of the arms without their own
    seeds: List[int]
    budget: Budget  # of the arms without their own
    checkpoints: int = DEFAULT_CHECKPOINTS
    arm_batch_sizes: Dict[str, List[int]] = field(default_factory=dict)  # arm -> its own batch sizes
    arm_budgets: Dict[str, Budget] = field(default_factory=dict)  # arm -> its own budget

    def batches(self, arm: str) -> List[int]:
        """The batch sizes ``arm`` trains at: its own, else the dataset's."""
        return self.arm_batch_sizes.get(arm, self.batch_sizes)

    def budget_of(self, arm: str) -> Budget:
        """The budget of ``arm``'s runs: its own, else the dataset's."""
        return self.arm_budgets.get(arm, self.budget)

    def pairs(self) -> List[Tuple[str, int]]:
        """(arm, batch) of every planned run, seeds aside: the arms in the config's order, each at its batch sizes."""
        return [(arm, b) for arm in self.methods for b in self.batches(arm)]


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
        if not isinstance(value, Mapping) or not {"method", "steps"} <= set(value) <= {"method", "batch", "steps"}:
            raise ConfigError(f"{where}.reference: needs method and steps, and batch unless each run is matched at "
                              f"its own batch; got {value!r}")
        batch = None if value.get("batch") is None else _int_list(value["batch"], f"{where}.reference.batch")[0]
        steps = _int_list(value["steps"], f"{where}.reference.steps")[0]
        return Budget(kind, method=str(value["method"]), batch=batch, steps=steps)
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


def _method_name(section: Any) -> Optional[str]:
    return str(section["name"]) if isinstance(section, Mapping) and section.get("name") else None


def _own_config(spec: Any) -> bool:
    """Whether an arm's spec is a whole config (a path, or a mapping with ``base:``) rather than one over the dataset's."""
    return isinstance(spec, (str, Path)) or isinstance(spec, Mapping) and spec.get("base") is not None


def _arms(where: str, methods: Any, base: Any) -> Tuple[Dict[str, Any], Dict[str, List[int]], Dict[str, Budget]]:
    """``methods:`` -> (arm -> training config spec, arm -> its own batch sizes, arm -> its own budget)."""
    from act.config import METHOD_NAMES

    known = sorted(METHOD_NAMES)
    if isinstance(methods, (list, tuple)):
        unknown = sorted({str(m) for m in methods} - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown method(s) {unknown}; choose from {known} (variants: a mapping arm -> config)")
        methods = {str(m): None for m in methods}
    if not isinstance(methods, Mapping) or not methods:
        raise ConfigError(f"{where}: expected a list of methods or a mapping arm -> config; got {methods!r}")
    specs: Dict[str, Any] = {}
    batch_sizes: Dict[str, List[int]] = {}
    budgets: Dict[str, Budget] = {}
    for arm, spec in methods.items():
        at = f"{where}.{arm}"
        if not isinstance(arm, str) or not ARM_RE.match(arm):
            raise ConfigError(f"{where}: arm {arm!r}: name it with lower-case letters and digits, a letter first "
                              "(e.g. actnoadv; it names files {arm}_b{batch}.json)")
        if spec is not None and not isinstance(spec, (str, Mapping)):
            raise ConfigError(f"{at}: expected null, a config path or a mapping; got {spec!r}")
        if isinstance(spec, Mapping):
            if "batch_sizes" in spec:
                batch_sizes[arm] = _int_list(spec["batch_sizes"], f"{at}.batch_sizes")
            if "budget" in spec:
                budgets[arm] = _budget(spec["budget"], f"{at}.budget")
            spec = {k: v for k, v in spec.items() if k not in ARM_PLAN_KEYS}
        if base is None and not _own_config(spec):
            raise ConfigError(f"{at}: without a base 'config' each arm needs a config path (or a mapping with base:)")
        if arm not in known and not _own_config(spec) and not (isinstance(spec, Mapping) and _method_name(spec.get("method"))):
            raise ConfigError(f"{at}: {arm!r} is not a method ({', '.join(known)}), so its config must name one: "
                              "set method: {name: ...}")
        specs[arm] = spec
    return specs, batch_sizes, budgets


def _dataset(key: str, raw: Mapping[str, Any], seeds: bool = True) -> DatasetPlan:
    where = f"datasets.{key}"
    base = raw.get("config")
    methods, arm_batch_sizes, arm_budgets = _arms(f"{where}.methods", raw.get("methods"), base)
    for name in ("batch_sizes", "budget") + (("seeds",) if seeds else ()):
        if name not in raw:
            raise ConfigError(f"{where}: missing '{name}'")
    checkpoints = _int_list(raw.get("checkpoints", DEFAULT_CHECKPOINTS), f"{where}.checkpoints")[0]
    if checkpoints < 1:
        raise ConfigError(f"{where}.checkpoints: expected at least 1, got {checkpoints}")
    plan = DatasetPlan(key=key, methods=methods, config=base, overrides=_overrides(raw.get("overrides"), f"{where}.overrides"),
                       batch_sizes=_int_list(raw["batch_sizes"], f"{where}.batch_sizes"),
                       seeds=_int_list(raw["seeds"], f"{where}.seeds") if "seeds" in raw else [],
                       budget=_budget(raw["budget"], f"{where}.budget"), checkpoints=checkpoints,
                       arm_batch_sizes=arm_batch_sizes, arm_budgets=arm_budgets)
    for owner, b in [("budget", plan.budget), *((f"methods.{a}.budget", b) for a, b in arm_budgets.items())]:
        if b.kind == "reference" and b.method not in methods:
            raise ConfigError(f"{where}.{owner}.reference.method: {b.method!r} is not an arm of this dataset; "
                              f"choose from {list(methods)}")
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
    message = " ".join(error.message.split())[:300]
    # "not valid under any of the given schemas" and type errors say nothing of the fix: the key's description does
    about = error.schema.get("description") if isinstance(error.schema, Mapping) else None
    if error.validator in ("anyOf", "oneOf", "type") and about:
        message += f" ({' '.join(str(about).split())})"
    return f"{where}: {message} (workflow/schemas/config.schema.yaml says what each key takes)"


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


EXPERIMENT_KEYS = ("name", "defaults", "datasets")  # the experiment's part of a workflow config


def parse_experiment(source: Union[PathLike, Mapping[str, Any], Experiment], *, seeds: bool = True) -> Experiment:
    """An experiment config (a YAML path, a JSON file such as the workflow's plan/budget.json, or a mapping) ->
    :class:`Experiment`; raises on what budget cannot use. ``seeds=False``: the datasets may leave out their seeds
    (act cost's configs do not depend on them)."""
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
        # the workflow's plan as JSON: YAML 1.1 would read a float such as 1e-05 as a string
        try:
            raw = (json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())) or {}
        except (ValueError, yaml.YAMLError) as e:
            raise ConfigError(f"{path} is not readable {'JSON' if path.suffix == '.json' else 'YAML'}: "
                              f"{str(e).splitlines()[0]}") from None
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
        plans[str(key)] = _dataset(str(key), deep_update(dict(defaults), d), seeds)
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


def _named_method(spec: Any, base_dir: Optional[Path]) -> Optional[str]:
    """The method.name ``spec`` sets itself: a mapping's, else its ``base:`` chain's; a file's, its chain merged in."""
    from act.config import _read_yaml  # the file as written (base: chain merged), before any default fills it

    if isinstance(spec, (str, Path)):
        return _method_name(_read_yaml(find_file(spec, base_dir)).get("method"))
    elif isinstance(spec, Mapping):
        name = _method_name(spec.get("method"))
        return name if name or spec.get("base") is None else _named_method(spec["base"], base_dir)
    return None


def resolve_run_config(exp: Experiment, dataset: str, arm: str, batch: int, seed: int = 0,
                       train: Optional[Mapping[str, Any]] = None) -> Any:
    """The :class:`act.config.ExperimentConfig` of one run of ``arm``: its config, dataset overrides, batch, seed,
    ``train`` extras."""
    from act.config import METHOD_NAMES, ExperimentConfig, from_dict, merge_config, refuse_ignored_settings

    plan = exp.datasets[dataset]
    spec, where = plan.methods[arm], f"datasets.{dataset}.methods.{arm}"
    if _own_config(spec):
        raw = _spec_dict(spec, exp.base_dir)
    else:
        raw = _spec_dict(plan.config, exp.base_dir)
        if arm in METHOD_NAMES:  # a method's key is its method.name; any other arm's mapping names its own
            raw = merge_config(raw, {"method": {"name": arm}})
        if isinstance(spec, Mapping):
            raw = merge_config(raw, spec)
    raw = merge_config(raw, plan.overrides)
    if isinstance(spec, Mapping):  # the arm's own keys are the more specific: they win over the dataset's overrides
        raw = merge_config(raw, {k: v for k, v in spec.items() if k != "base"})
    raw = merge_config(raw, {"train": {"batch_size": int(batch), "seed": int(seed), **dict(train or {})}})
    cfg = from_dict(ExperimentConfig, raw, where=f"{dataset}/{arm}")
    refuse_ignored_settings(cfg)
    if arm in METHOD_NAMES and cfg.method.name != arm:
        raise ConfigError(f"{where}: its config trains method {cfg.method.name!r}")
    if arm not in METHOD_NAMES and _named_method(spec, exp.base_dir) is None:  # not the default (ct) by oversight
        raise ConfigError(f"{where}: its config names no method, and {arm!r} is not one: set method: {{name: ...}} "
                          f"(one of {sorted(METHOD_NAMES)})")
    return cfg


def config_files(exp: Experiment) -> List[str]:
    """The config files the plan names, sorted: the datasets' and arms' paths, and the ``base:`` of their mappings
    (as found; as given when not found, for the workflow to report missing)."""
    found = set()
    specs = [s for plan in exp.datasets.values() for s in (plan.config, *plan.methods.values())]
    while specs:
        spec = specs.pop()
        if isinstance(spec, Mapping):
            specs.append(spec.get("base"))
        elif isinstance(spec, (str, Path)):
            try:
                found.add(str(find_file(spec, exp.base_dir)))
            except MissingInputError:
                found.add(str(spec))
    return sorted(found)


def cost_jobs(exp: Experiment) -> List[Dict[str, Any]]:
    """Every (dataset, arm, batch) whose ``act cost`` the budget needs: each arm at its batch sizes, and the reference
    arm of each reference budget, at its batch or (a budget without one) at the batch of each run it budgets."""
    jobs = []
    for key, plan in exp.datasets.items():
        pairs = plan.pairs()
        for arm, batch in plan.pairs():
            b = plan.budget_of(arm)
            ref = (b.method, batch if b.batch is None else b.batch)
            if b.kind == "reference" and ref not in pairs:
                pairs.append(ref)
        jobs += [{"dataset": key, "method": m, "batch": b} for m, b in pairs]
    return jobs

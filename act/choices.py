"""Every list of choices a config field takes, and the checks of choices and ranges.

Defined once here (act.config re-exports them; implementations import them from either). No torch,
light: the workflow and ``act --help`` read them.
"""

from __future__ import annotations

from typing import Any, Dict, Literal, Mapping, Optional, Sequence, Tuple, get_args

import yaml

from act.errors import ConfigError

# The choices of the config's fields, as Literal types: act.config annotates its fields with them and checks
# every such field generically when a config is built (act.config.check_literals); the tuples (get_args)
# serve the implementations, which import them from here.
Curriculum = Literal["cm", "act", "doubling"]  # N(k): ceil form (Consistency Models), round form (ACT), iCT's doubling
EmaSchedule = Literal["official", "paper"]  # mu(k) of the CT target EMA: divide by N-1 (official) or by N (paper)
IndexSampling = Literal["uniform", "lognormal"]  # which adjacent pair of the grid: CT uniform, iCT discrete lognormal
Weighting = Literal["uniform", "ict"]  # lambda(sigma_i): 1, or iCT's 1 / (sigma_{i+1} - sigma_i)
Target = Literal["ema", "online"]  # the teacher: an EMA of the student (CT) or the student under stop-gradient (iCT)
Distance = Literal["l2", "pseudo_huber", "lpips"]  # d(x, y) of the consistency loss (act.distances)
LpipsResize = Literal["below256", "always"]  # to 224 px: below 256 px only (CM), or at every size (ACT)
LpipsPooling = Literal["max", "avg"]  # VGG pooling in LPIPS: as trained (CIFAR-10 CT, ACT), or CM's average (ImageNet-64, LSUN)
LambdaSchedule = Literal["constant", "power"]  # ACT's adversarial weight over the grid
AugmentMode = Literal["r1_ema", "ada_sign"]  # ACT-Aug's controller: the official R1-EMA rule, or ADA's sign heuristic
AugmentPipeline = Literal["blit", "geom", "color", "bg", "bgc"]  # ADA's transform groups (act.augment.pipeline)
Precision = Literal["fp32", "bf16", "fp16"]  # train.precision: autocast dtype (weights stay fp32)
Sync = Literal["step", "log"]  # train.sync: when the loop waits on the device (finiteness checks, logged values)
# model.preset and model.discriminator: the tables of act.networks.presets (tests/test_config.py checks they agree)
NetworkPreset = Literal["toy2d", "toy2d_small", "tiny", "micro", "cifar10", "imagenet64", "lsun256"]
# data.name (a toy kind may follow "toy2d:"): the loaders of act.data.registry (tests/test_config.py checks)
DATA_NAMES = ("fashion_mnist", "cifar10", "imagenet64", "lsun_cat", "image_folder", "toy2d", "synthetic")

CT_CURRICULA = ("cm", "act")  # the curricula of CT's own N(k) (act.schedules)
CURRICULA = get_args(Curriculum)
EMA_SCHEDULES = get_args(EmaSchedule)
INDEX_SAMPLINGS = get_args(IndexSampling)
WEIGHTINGS = get_args(Weighting)
TARGETS = get_args(Target)
DISTANCES = get_args(Distance)
LPIPS_RESIZES = get_args(LpipsResize)
LPIPS_POOLINGS = get_args(LpipsPooling)
LAMBDA_SCHEDULES = get_args(LambdaSchedule)
AUGMENT_MODES = get_args(AugmentMode)
AUGMENT_PIPELINES = get_args(AugmentPipeline)
PRECISIONS = get_args(Precision)
SYNCS = get_args(Sync)
NETWORK_PRESETS = get_args(NetworkPreset)
RADAM_D_BETA2_LAZY = 16 / 17  # the official ACT D beta2 is 0.99 * 16/17 (lazy-regularisation correction)


def check_choice(where: str, value: Any, choices: Tuple[Any, ...]) -> None:
    """A ConfigError naming the setting, the bad value and the valid ones, unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"unknown {where} {value!r}; choose from {choices}")


def check_range(where: str, value: Any, low: Optional[float] = None, high: Optional[float] = None,
                low_open: bool = False, high_open: bool = False) -> None:
    """A ConfigError naming the setting unless ``low <= value <= high`` (``*_open``: strict)."""
    if value is None:
        return
    bad = (low is not None and (value <= low if low_open else value < low)) or \
          (high is not None and (value >= high if high_open else value > high))
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        raise ConfigError(f"{where} must be {' and '.join(t for t in (lo, hi) if t)}, got {value!r}")


def check_betas(where: str, betas: Tuple[float, float]) -> None:
    for i, b in enumerate(betas):
        check_range(f"{where}[{i}]", b, 0.0, 1.0, high_open=True)


DATA_SPECIFIC = ("options", "root")  # data keys that belong to one dataset's loader


def check_switches(raw: Mapping[str, Any], overrides: Sequence[Mapping[str, Any]], where: str,
                   method_defaults: Mapping[str, Mapping[str, Any]], default_data: str) -> None:
    """A ConfigError when overrides switch ``method.name`` or ``data.name`` away from the file's and would
    silently drop a value the file set: a method key whose value differs from the new method's default (a
    distance, a curriculum, ...) or the old dataset's ``options``/``root``, unless an override restates it.
    ``method_defaults``: {method name: its config's defaults as a dict}; ``default_data``: data.name's default."""
    def set_in(section: str) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for o in overrides:
            if isinstance(o.get(section), Mapping):
                out.update(o[section])
        return out

    file_method = raw.get("method") if isinstance(raw.get("method"), Mapping) else {}
    new_method = set_in("method")
    name = new_method.get("name")
    if name is not None and name != file_method.get("name", "ct") and name in method_defaults:
        defaults = method_defaults[name]
        dropped = {k: v for k, v in file_method.items()
                   if k != "name" and k not in new_method and defaults.get(k, _UNSET) != _plain(v)}
        if dropped:
            keep = " ".join(f"--set method.{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                            for k, v in dropped.items())
            raise ConfigError(f"--set method.name={name} starts from {name}'s defaults and would drop what {where} sets: "
                              + ", ".join(f"{k}={v!r} ({name}: {defaults.get(k, 'no such key')!r})" for k, v in dropped.items())
                              + f"; keep them with {keep}, or start from a config of {name}")
    file_data = raw.get("data") if isinstance(raw.get("data"), Mapping) else {}
    new_data = set_in("data")
    if "name" in new_data and new_data["name"] != file_data.get("name", default_data):
        stale = [k for k in DATA_SPECIFIC if file_data.get(k) and k not in new_data]
        if stale:
            raise ConfigError(f"--set data.name={new_data['name']} keeps data.{' and data.'.join(stale)} of "
                              f"{file_data.get('name', default_data)!r} from {where}: set them for the new data "
                              f"(e.g. --set 'data.options={{}}' --set data.root=null)")


_UNSET = object()


def _plain(v: Any) -> Any:
    return [_plain(x) for x in v] if isinstance(v, (list, tuple)) else v

"""Typed experiment configuration, loaded from YAML and written back resolved.

nanoGPT-style dataclasses with a "why" on each default. ``load_config`` rejects
unknown keys with the list of valid ones, so a typo never silently falls back to
a default. The method section dispatches on its ``name`` field to the method's
own dataclass (CT, iCT, ACT), k-diffusion factory style. Every configuration
dataclass of the project lives here, with every list of choices a field takes; the
dataclasses check their choices when built, so a bad value fails at load time.
This module imports no torch: the workflow reads it to plan.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Any, ClassVar, Dict, Literal, Mapping, Optional, Tuple, Type, TypeVar, Union, get_args,
                    get_origin, get_type_hints)

import yaml

from act.choices import (  # noqa: F401  (re-exported: the choices are part of the config's interface)
    AUGMENT_MODES, AUGMENT_PIPELINES, CT_CURRICULA, CURRICULA, DATA_NAMES, DISTANCES, EMA_SCHEDULES,
    INDEX_SAMPLINGS, LAMBDA_SCHEDULES, LPIPS_POOLINGS, LPIPS_RESIZES, NETWORK_PRESETS, PRECISIONS, RADAM_D_BETA2_LAZY,
    SYNCS, TARGETS, WEIGHTINGS, AugmentMode, AugmentPipeline, Curriculum, Distance, EmaSchedule,
    IndexSampling, LambdaSchedule, LpipsPooling, LpipsResize, NetworkPreset, Precision, Sync, Target, Weighting,
    check_betas, check_choice, check_range, check_switches)
from act.errors import ConfigError, MissingInputError
from act.metrics.protocol import QUANTIZATIONS

T = TypeVar("T")
# A field's metadata: its value does not change a run's trajectory (where logs and checkpoints go, how fast
# a step runs), so a run resumes across a change of it (act.resume derives its rule from these marks).
FREE = {"trajectory": False}


def literal_choices(tp: Any) -> Optional[Tuple[Any, ...]]:
    """The values a field typed ``Literal[...]`` takes (``Optional[Literal[...]]``: None added); None for other types."""
    if get_origin(tp) is Literal:
        return get_args(tp)
    if get_origin(tp) is Union:
        inner = [literal_choices(a) for a in get_args(tp) if a is not type(None)]
        if len(inner) == 1 and inner[0] is not None:
            return inner[0] + ((None,) if type(None) in get_args(tp) else ())
    return None


@functools.lru_cache(maxsize=None)
def literal_fields(cls: Type[Any]) -> Tuple[Tuple[str, Tuple[Any, ...]], ...]:
    """(field name, choices) of every field of dataclass ``cls`` typed with a Literal, read once per class (the
    workflow builds a config for every run)."""
    hints = get_type_hints(cls)
    return tuple((f.name, c) for f in dataclasses.fields(cls) if (c := literal_choices(hints[f.name])) is not None)


def check_literals(obj: Any, section: str) -> None:
    """Every field of dataclass ``obj`` typed with a Literal holds one of its values, else a ConfigError naming
    ``section.field``, the value and the choices."""
    for name, choices in literal_fields(type(obj)):
        check_choice(f"{section}.{name}", getattr(obj, name), choices)


@dataclass
class NoiseConfig:
    """Variance-exploding noise of Consistency Models (docs/METHOD.md s.1)."""

    sigma_min: float = 0.002  # eps: f(x, eps) = x is the boundary condition
    sigma_max: float = 80.0  # T: one-step sampling starts from N(0, T^2 I)
    sigma_data: float = 0.5  # data std assumed by the c_skip/c_out/c_in scalings
    rho: float = 7.0  # Karras grid curvature

    def __post_init__(self) -> None:
        check_range("noise.sigma_min", self.sigma_min, 0.0, low_open=True)
        if not self.sigma_min < self.sigma_max:
            raise ConfigError(f"noise: sigma_min ({self.sigma_min:g}) must be below sigma_max ({self.sigma_max:g})")
        check_range("noise.sigma_data", self.sigma_data, 0.0, low_open=True)
        check_range("noise.rho", self.rho, 0.0, low_open=True)


@dataclass
class DataConfig:
    name: str = "fashion_mnist"  # the embedded default: ships as a Debian package, no download
    root: Optional[str] = field(default=None, metadata=FREE)  # None: the dataset's standard search path
    split: str = "train"
    resolution: Optional[int] = None  # None: the dataset's native size (Fashion-MNIST padded to 32)
    hflip: bool = False  # random horizontal flips (the CT paper's CIFAR-10 recipe uses them)
    download: bool = field(default=False, metadata=FREE)  # allow a torchvision download when the files are missing
    num_workers: int = field(default=0, metadata=FREE)  # 0 loads in the training process: fastest for in-memory sets
    options: Dict[str, Any] = field(default_factory=dict)  # loader-specific (toy kind, n, ...)

    def __post_init__(self) -> None:
        if self.name.split(":")[0] not in DATA_NAMES:  # "toy2d:<kind>" names a toy kind (act.data.registry)
            raise ConfigError(f"unknown data.name {self.name!r}; choose from {DATA_NAMES}")
        check_range("data.resolution", self.resolution, 1)
        check_range("data.num_workers", self.num_workers, 0)


@dataclass
class ModelConfig:
    preset: NetworkPreset = "tiny"  # act.networks generator preset
    overrides: Dict[str, Any] = field(default_factory=dict)  # passed to build_generator (eps and sigma_data: noise.*)
    discriminator: Optional[NetworkPreset] = None  # ACT only: act.networks discriminator preset
    discriminator_overrides: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_literals(self, "model")


@dataclass
class TrainConfig:
    steps: int = 2000  # K: total training steps; curricula are functions of step / K
    batch_size: int = 32  # B, images per generator step (ACT loads 2B: see docs/METHOD.md s.4)
    lr: float = 1e-4  # constant, no warm-up, as every official recipe here
    betas: Tuple[float, float] = (0.9, 0.999)  # RAdam; ACT's config sets (0, 0.99)
    seed: int = 0  # every random draw of step k derives from (seed, k): resume is exact
    log_every: int = field(default=25, metadata=FREE)  # JSON-lines log interval (steps)
    # periodic checkpoints, kept for FID-vs-step curves; 0 = final only
    ckpt_every: int = field(default=500, metadata=FREE)
    # also a resume-only checkpoint after this much wall time (0: off): a kill loses minutes
    ckpt_minutes: float = field(default=30.0, metadata=FREE)
    # keep only the newest K periodic checkpoints (0: all, as the curves need)
    keep_checkpoints: int = field(default=0, metadata=FREE)
    device: str = field(default="auto", metadata=FREE)  # auto: cuda when available, else cpu
    precision: Precision = "fp32"  # fp32 | bf16 | fp16 (autocast; weights stay fp32)
    compile: bool = field(default=False, metadata=FREE)  # torch.compile the trained networks
    tf32: bool = field(default=False, metadata=FREE)  # allow TF32 matmuls on Ampere+ (faster, not bit-reproducible)
    cudnn_benchmark: bool = field(default=False, metadata=FREE)  # autotune convolutions (faster, not bit-reproducible)
    deterministic: bool = field(default=False, metadata=FREE)  # torch.use_deterministic_algorithms
    # networks and batches in NHWC memory (cuDNN's tensor-core convolutions)
    channels_last: bool = field(default=False, metadata=FREE)
    # torch.compile each RAdam step: torch has no fused RAdam; inductor fuses it
    compile_optimizer: bool = field(default=False, metadata=FREE)
    # host syncs: "step" checks finiteness every phase; "log" only at log steps (logs stay on device)
    sync: Sync = field(default="step", metadata=FREE)
    # TensorBoard events in <run>/tensorboard: losses, schedules, sample grids
    tensorboard: bool = field(default=False, metadata=FREE)
    # also log to Weights & Biases (the wandb extra; WANDB_MODE=offline needs no network)
    wandb: bool = field(default=False, metadata=FREE)

    def __post_init__(self) -> None:  # steps 0: the initial networks, written as model.pt
        for key, low in (("batch_size", 1), ("log_every", 1), ("steps", 0), ("ckpt_every", 0), ("ckpt_minutes", 0.0),
                         ("keep_checkpoints", 0)):
            check_range(f"train.{key}", getattr(self, key), low)
        check_range("train.lr", self.lr, 0.0, low_open=True)
        check_betas("train.betas", self.betas)
        check_literals(self, "train")


@dataclass
class SampleConfig:
    num_samples: int = 1000
    batch_size: int = 250  # does not change the images: image i always comes from seed + i
    seed: int = 0
    sigmas: Tuple[float, ...] = (80.0,)  # one step; e.g. (80.0, 0.661) for two steps
    grid_size: int = 64  # images in the PNG grid
    quantize: str = "truncate"  # images to uint8: "truncate" as the official FID paths (ACT, CM), or "round"

    def __post_init__(self) -> None:
        check_choice("sample.quantize", self.quantize, QUANTIZATIONS)
        check_range("sample.num_samples", self.num_samples, 1)
        check_range("sample.batch_size", self.batch_size, 1)
        check_range("sample.grid_size", self.grid_size, 0)
        if not self.sigmas or any(not s > 0 for s in self.sigmas) or \
                any(a <= b for a, b in zip(self.sigmas, self.sigmas[1:])):
            raise ConfigError(f"sample.sigmas must be positive and decreasing (one per step, the first the "
                              f"starting noise level), got {list(self.sigmas)}")


@dataclass
class CTConfig:
    """Consistency training (docs/METHOD.md s.2-3): CT's defaults; iCT is the same method configured otherwise."""

    name: str = "ct"
    s0: int = 2  # initial number of discretisation points N(0) (doubling: initial N - 1)
    s1: int = 150  # final N (CIFAR-10, LSUN; 200 for ImageNet-64) (doubling: final N - 1)
    curriculum: Curriculum = "cm"  # N(k): "cm" (CM paper and code, ends at s1 + 1), "act" (ACT code, ends at s1), or "doubling"
    mu0: float = 0.9  # target EMA at N = s0 (0.95 for ImageNet-64/LSUN); target "ema" only
    ema_schedule: EmaSchedule = "official"  # mu(k): "official" divides by N-1, "paper" by N
    index_sampling: IndexSampling = "uniform"  # CT: sigma_hi uniform on the grid; iCT: "lognormal"
    p_mean: float = -1.1  # lognormal index distribution (iCT)
    p_std: float = 2.0
    weighting: Weighting = "uniform"  # CT: 1; iCT: "ict", 1 / (sigma_hi - sigma_lo)
    target: Target = "ema"  # CT: an EMA teacher updated with mu(k); iCT: "online" (stop-gradient of the student)
    distance: Distance = "lpips"  # the paper's; needs VGG-16 weights (see act.distances)
    huber_c: Optional[float] = None  # pseudo-Huber c; None derives 0.00054 sqrt(d)
    lpips_weights: Optional[str] = None  # local VGG-16 file for LPIPS
    lpips_resize: LpipsResize = "below256"  # CM resizes to 224 px below 256 px only (ACT: "always")
    lpips_pooling: LpipsPooling = "max"  # CM's ImageNet-64 / LSUN LPIPS: "avg" (replace_pooling=True)
    eval_ema: Optional[float] = None  # separate evaluation EMA (CM paper: 0.9999); None samples the target
    clip_target: bool = False  # CM clips neither output
    batch_multiple: ClassVar[int] = 1  # train.batch_size per process must divide into this many equal parts

    def __post_init__(self) -> None:
        check_literals(self, "method")
        check_range("method.s0", self.s0, 1)
        if self.s1 < self.s0 or (self.curriculum != "doubling" and self.s1 == self.s0):
            raise ConfigError(f"method: s0 ({self.s0}) must be below s1 ({self.s1}): N(k) grows from s0 to s1")
        check_range("method.mu0", self.mu0, 0.0, 1.0, high_open=True)
        check_range("method.p_std", self.p_std, 0.0, low_open=True)
        check_range("method.huber_c", self.huber_c, 0.0, low_open=True)
        check_range("method.eval_ema", self.eval_ema, 0.0, 1.0, high_open=True)


@dataclass
class ICTConfig(CTConfig):
    """Improved consistency training (Song & Dhariwal 2023; docs/METHOD.md s.3). No official code: the paper's settings."""

    name: str = "ict"
    s0: int = 10  # initial N - 1
    s1: int = 1280  # final N - 1
    curriculum: Curriculum = "doubling"  # N(k) = min(s0 2^floor(k/K'), s1) + 1
    index_sampling: IndexSampling = "lognormal"  # P_mean = -1.1, P_std = 2.0
    weighting: Weighting = "ict"
    target: Target = "online"  # no EMA teacher
    distance: Distance = "pseudo_huber"
    eval_ema: Optional[float] = 0.99993  # the iCT paper's sampling EMA


@dataclass
class ACTConfig(CTConfig):
    """Adversarial consistency training (Kong et al. 2024; docs/METHOD.md s.4): CT's fields plus the discriminator's."""

    name: str = "act"
    curriculum: Curriculum = "act"  # the official ACT code's round() form of N(k): ends at N = s1
    distance: Distance = "lpips"  # official: LPIPS-VGG; needs VGG-16 weights
    lpips_resize: LpipsResize = "always"  # official ACT resizes both images to 224 px at every size (LSUN 256 too)
    clip_target: bool = True  # official clips only the target (EMA) output to [-1, 1]
    lambda_schedule: LambdaSchedule = "constant"  # "constant" (CIFAR-10) or "power" (ImageNet-64, LSUN)
    lambda_max: float = 0.3  # CIFAR-10 0.3; ImageNet-64 / LSUN 0.6 with the power schedule
    w_mid: float = 0.2  # power schedule: lambda at the middle of the grid
    r1_gamma: float = 10.0  # 0 turns R1 off
    r1_interval: int = 16  # lazy R1 every this many steps
    augment: bool = False  # ACT-Aug (ADA-style, on reals and fakes alike)
    augment_mode: AugmentMode = "r1_ema"  # official R1-EMA controller, or ADA's "ada_sign" heuristic
    augment_threshold: float = 1.0e4  # R1-EMA threshold: 1e4 CIFAR-10, 1e7 ImageNet-64, 1e9 LSUN
    augment_pipeline: AugmentPipeline = "bgc"  # blit + geometric + colour (the official sym6-filtered resampling)
    time_conditioned_discriminator: bool = True  # ablation: an unconditioned D ignores sigma
    g_betas: Tuple[float, float] = (0.0, 0.99)  # official RAdam betas of G
    d_betas: Tuple[float, float] = (0.0, 0.99 * RADAM_D_BETA2_LAZY)  # and of D
    d_lr: Optional[float] = None  # discriminator lr; None: train.lr (the official d_lr equals lr)
    batch_multiple: ClassVar[int] = 2  # the discriminator's batch is half real, half fake

    def __post_init__(self) -> None:
        super().__post_init__()  # every Literal field, ACT's own included
        check_range("method.r1_interval", self.r1_interval, 1)
        check_range("method.r1_gamma", self.r1_gamma, 0.0)
        check_range("method.lambda_max", self.lambda_max, 0.0)
        check_range("method.w_mid", self.w_mid, 0.0, 1.0, low_open=True, high_open=True)
        check_range("method.augment_threshold", self.augment_threshold, 0.0)
        check_range("method.d_lr", self.d_lr, 0.0, low_open=True)
        check_betas("method.g_betas", self.g_betas)
        check_betas("method.d_betas", self.d_betas)


# The methods by name: the one list of method names (act.registry maps each to its implementation).
METHOD_CONFIGS: Dict[str, Type[CTConfig]] = {"ct": CTConfig, "ict": ICTConfig, "act": ACTConfig}
METHOD_NAMES = tuple(METHOD_CONFIGS)


@dataclass
class ExperimentConfig:
    data: DataConfig = field(default_factory=DataConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: CTConfig = field(default_factory=CTConfig)  # CTConfig, ICTConfig or ACTConfig, chosen by name
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig, metadata=FREE)  # what act train's grids show

    def __post_init__(self) -> None:
        if self.sample.sigmas[0] > self.noise.sigma_max:
            raise ConfigError(f"sample.sigmas starts at {self.sample.sigmas[0]:g}, above noise.sigma_max "
                              f"({self.noise.sigma_max:g}), where the generator never trained")
        if self.train.batch_size % self.method.batch_multiple:
            raise ConfigError(f"{self.method.name} splits train.batch_size (per process) into "
                              f"{self.method.batch_multiple} equal parts: give a multiple of "
                              f"{self.method.batch_multiple}, got {self.train.batch_size}")


def refuse_ignored_settings(cfg: ExperimentConfig) -> None:
    """Settings a user may write that would be ignored or given twice: a ConfigError naming the key and the fix.
    Checked where a user's config enters (:func:`load_config`, the workflow's run configs), not on a
    checkpoint's stored config, which a run written before these checks may hold."""
    for key in ("sigma_min", "sigma_data"):  # one source: the networks' parametrisation and the grid share them
        if key in cfg.model.overrides:
            raise ConfigError(f"model.overrides.{key}: {key} has one source, noise.{key}, which sets the noise "
                              "grid and the network's parametrisation alike: set it there")
    if cfg.method.name == "act" and tuple(cfg.train.betas) != TrainConfig.betas:
        raise ConfigError(f"train.betas {list(cfg.train.betas)} would be ignored: ACT's two optimisers take "
                          "method.g_betas and method.d_betas")
    if cfg.method.name == "act" and cfg.method.index_sampling != "uniform":
        raise ConfigError(f"method.index_sampling is {cfg.method.index_sampling!r}, but ACT's discriminator draws "
                          "its noise levels uniformly on the grid (as the official code does), so only its CT "
                          "term would follow: ACT takes uniform")


def trajectory_free_keys(cls: Type[Any] = None, prefix: str = "") -> Tuple[str, ...]:
    """The dotted keys (a whole section where the section is marked) whose fields are marked :data:`FREE`."""
    cls = ExperimentConfig if cls is None else cls
    out = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("trajectory", True) is False:
            out.append(prefix + f.name)
        elif f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(f.default_factory):
            out.extend(trajectory_free_keys(f.default_factory, f"{prefix}{f.name}."))
    return tuple(out)


def generator_overrides(model: ModelConfig, noise: NoiseConfig) -> Dict[str, Any]:
    """build_generator keyword arguments of a config's ``model`` section: its overrides plus the ``noise``
    constants (their one source)."""
    overrides = dict(model.overrides)
    overrides.setdefault("sigma_min", noise.sigma_min)
    overrides.setdefault("sigma_data", noise.sigma_data)
    return overrides


# Keys no longer in the method configs, with the one value that still means what the code does: configs and
# checkpoints written before their removal load with it (the key dropped); any other value is refused.
REMOVED_METHOD_KEYS = {"augment_fidelity": ("official", "ACT-Aug always resamples through the official "
                                                        "sym6-filtered path; delete the key")}


def drop_removed_keys(d: Mapping[str, Any], other: str = "refuse") -> Dict[str, Any]:
    """A method section without the removed keys that hold their one remaining value. A removed key holding
    another value is, by ``other``: "refuse", a ConfigError (a config to train from); "drop", dropped too
    (:func:`stored_config`); "keep", kept (act.resume.checkpoint_signature: a change the resume sees)."""
    d = dict(d)
    for key, (kept, why) in REMOVED_METHOD_KEYS.items():
        if key not in d or (d[key] != kept and other == "keep"):
            continue
        if d[key] != kept and other == "refuse":
            raise ConfigError(f"method.{key}: {d[key]!r} is no longer available ({why})")
        del d[key]
    return d


def stored_config(d: Mapping[str, Any]) -> "ExperimentConfig":
    """The config a checkpoint stores, for using its networks (sampling, scoring, theory): keys removed since it was
    written are dropped whatever their value (they shaped its training, not its networks). Resuming compares the
    stored config itself (act.resume.checkpoint_signature)."""
    d = dict(d)
    if isinstance(d.get("method"), Mapping):
        d["method"] = drop_removed_keys(d["method"], other="drop")
    return from_dict(ExperimentConfig, d)


def method_config_from_dict(d: Mapping[str, Any]) -> Any:
    d = drop_removed_keys(d)
    name = d.setdefault("name", "ct")  # the default method, as in ExperimentConfig
    if name not in METHOD_CONFIGS:
        raise ConfigError(f"unknown method {name!r}; choose from {sorted(METHOD_CONFIGS)}")
    return from_dict(METHOD_CONFIGS[name], d, where="method")


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
        return from_dict(tp, value, where)
    if origin is Union:  # Optional[X]
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, where)
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, where) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, got {value!r}")
        return tuple(_coerce(a, v, where) for a, v in zip(args, value))
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads 1e-4 as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if tp in (int, str, bool) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def from_dict(cls: Type[T], d: Mapping[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from a mapping; unknown keys raise with the valid ones."""
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {d!r}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys are {sorted(names)}")
    kwargs = {}
    for key, value in d.items():
        if cls is ExperimentConfig and key == "method":
            kwargs[key] = method_config_from_dict(value) if isinstance(value, Mapping) else value
        else:
            kwargs[key] = _coerce(hints[key], value, f"{where}.{key}")
    return cls(**kwargs)


def to_dict(cfg: Any) -> Dict[str, Any]:
    """Plain nested dict (tuples as lists), ready for YAML/JSON."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def deep_update(base: Dict[str, Any], other: Mapping[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for k, v in other.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_update(dict(out[k]), v)
        else:
            out[k] = v
    return out


def merge_config(base: Dict[str, Any], other: Mapping[str, Any]) -> Dict[str, Any]:
    """Deep merge; a ``method`` section naming another method replaces the base's method
    section, so switching ``method.name`` starts from that method's own defaults."""
    out = deep_update(base, other)
    new_method = other.get("method") if isinstance(other.get("method"), Mapping) else None
    old_method = base.get("method") if isinstance(base.get("method"), Mapping) else None
    if new_method and old_method and "name" in new_method and new_method["name"] != old_method.get("name", "ct"):
        out["method"] = dict(new_method)
    return out


def _read_yaml(path: Path, seen: Tuple[Path, ...] = ()) -> Dict[str, Any]:
    """A config file; ``base: other.yaml`` (relative to the file) is loaded first and merged under it."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"config file {path} does not exist: check the path (configs live in config/)")
    if path.resolve() in seen:
        raise ConfigError(f"config {path} includes itself through 'base'")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: top level must be a mapping")
    raw = dict(raw)
    base = raw.pop("base", None)
    if base is not None:
        raw = merge_config(_read_yaml(path.parent / base, seen + (path.resolve(),)), raw)
    return raw


def parse_override(text: str) -> Dict[str, Any]:
    """``train.steps=100`` -> {"train": {"steps": 100}} (value parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    dotted, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(f"override {text!r}: the value {raw!r} is not valid YAML (quote it)") from None
    if not dotted or any(not k for k in dotted.split(".")):
        raise ConfigError(f"override {text!r} must look like section.key=value")
    out: Dict[str, Any] = {}
    node = out
    keys = dotted.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return out


def load_config(path: Optional[Union[str, Path]] = None, overrides: Tuple[str, ...] = ()) -> ExperimentConfig:
    """Load a YAML experiment config (or the defaults) and apply ``section.key=value`` overrides.

    A file may start from another with ``base: other.yaml``. Setting ``method.name`` to another
    method (in a file or an override) resets the method section to that method's defaults.
    """
    raw: Dict[str, Any] = _read_yaml(Path(path)) if path is not None else {}
    parsed = [parse_override(o) for o in overrides]
    check_switches(raw, parsed, str(path) if path else "the defaults",
                   {n: to_dict(c()) for n, c in METHOD_CONFIGS.items()}, DataConfig.name)
    for o in parsed:
        raw = merge_config(raw, o)
        _clear_emptied(raw, o)
    cfg = from_dict(ExperimentConfig, raw, where=str(path) if path else "config")
    refuse_ignored_settings(cfg)
    return cfg


def _clear_emptied(raw: Dict[str, Any], override: Mapping[str, Any]) -> None:
    """An override's empty mapping (``--set 'data.options={}'``) clears that section; a deep merge would keep it."""
    for k, v in override.items():
        if isinstance(v, Mapping) and not v:
            raw[k] = {}
        elif isinstance(v, Mapping) and isinstance(raw.get(k), dict):
            _clear_emptied(raw[k], v)


def save_config(cfg: ExperimentConfig, path: Union[str, Path]) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))

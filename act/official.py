"""Released official ACT checkpoints (kong13661/ACT) as act-bench checkpoints.

The official code (HEAD 94e0853) trains a PyTorch Lightning module and releases the
``.ckpt`` files Lightning writes (README: ``cifar10_fid_6_0.ckpt``, ``imagenet_fid_10_6.ckpt``,
``lsun256_fid_13_0.ckpt``): a dict whose ``state_dict`` is the whole module's. Its attributes,
read in ``train_cifar10.py``, ``train_imagenet64.py`` and ``lsun_cat_256.py`` (class
``TrainingStep``), and in ``models/consistency_wrapper.py``, give the key layout:

- ``model.unet.*``: the online generator, a diffusers ``UNet2DModel`` (``models/unet.py``:
  diffusers' own with one change, 6 output channels -> the last 3) inside the wrapper's
  boundary-condition scalings;
- ``model_ema.unet.*``: its EMA (``copy.deepcopy`` of ``model``, updated by ``ema_update``),
  both the CT teacher and the network every official sampler calls;
- ``model._discriminator.*``: the discriminator (``models/discriminator_*.py``);
- ``model_ema._discriminator.*`` (CIFAR-10 only, its ``del`` is commented out): a copy of the
  initial discriminator, never trained nor called;
- ``fid.*`` (torchmetrics FID: Inception-v3, and reference statistics on ImageNet-64/LSUN)
  and ``distance_loss.*`` (piq LPIPS-VGG): fixed networks of the losses and metrics.

``torch.compile`` (the ImageNet-64 default ``compile=True`` wraps ``fid`` and
``distance_loss``; ``unet_compile`` the UNets) inserts ``_orig_mod.`` segments; they are
removed. Weights are float32 in the file (``precision=32``, or Lightning's ``16`` = 16-mixed:
fp32 weights under autocast); any other float dtype is cast to float32 and recorded.

Mapping: ``model_ema.unet.K`` -> averaged ``target`` ``backbone.unet.K`` (the sampling network),
``model.unet.K`` -> ``generator`` ``backbone.unet.K`` (the EMA's copy when the file has none),
``model._discriminator.K`` -> ``discriminator`` K with ``time_embedding.linear_{1,2}`` ->
``time_embedding.mlp.linear_{1,2}`` and ``conv_norm_out`` -> ``norm_out``; its never-called
``to_logit_fx`` is dropped (the project builds without it), and so is the rest above.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from act import io
from act.errors import InputError

OFFICIAL_CODE = "https://github.com/kong13661/ACT at 94e0853"

# Official prefix -> project network; the EMA first: it is the one a file must hold.
GENERATORS = (("model_ema.unet.", "target"), ("model.unet.", "generator"))
DISCRIMINATOR = "model._discriminator."
GENERATOR_INNER = "backbone.unet."  # ConsistencyFunction.backbone (UNetBackbone).unet (UNet2DModel)
DISCRIMINATOR_RENAMES = (("time_embedding.linear_1.", "time_embedding.mlp.linear_1."),
                         ("time_embedding.linear_2.", "time_embedding.mlp.linear_2."),
                         ("conv_norm_out.", "norm_out."))
UNUSED_HEAD = "to_logit_fx."
COMPILED = "_orig_mod."
DROPPED = {
    DISCRIMINATOR + UNUSED_HEAD: "the official discriminator's second logit layer nn.Linear(4C, 1): built, never "
                                 "called; the project's discriminator has no such layer (unused_logit_head=False)",
    "model_ema._discriminator.": "a deep copy of the initial discriminator inside the EMA wrapper (train_cifar10.py "
                                 "leaves its del commented out): never trained, never called",
}
IGNORED = {"fid.": "torchmetrics FrechetInceptionDistance (Inception-v3 weights, reference statistics)",
           "distance_loss.": "piq LPIPS-VGG of the consistency loss (fixed pretrained weights)",
           # torchmetrics MeanMetric loggers: their states are not persistent, so a file should hold none
           **{f"_{name}_tracker.": "a torchmetrics MeanMetric logger" for name in ("bins", "ema_decay", "aug_p", "r1_ema")}}
NOT_CONVERTED = ("optimizer_states", "lr_schedulers", "loops", "callbacks")


class OfficialImportError(InputError):
    """A file that does not hold an official ACT checkpoint of the expected layout (one-line message)."""


@dataclass(frozen=True)
class OfficialSpec:
    """What an official run is in this project's terms: presets, data, recipe (docs/METHOD.md s.4)."""

    preset: str  # generator and discriminator preset of act.networks
    data: Dict[str, Any]
    method: Dict[str, Any]
    train: Dict[str, Any]
    data_shape: Tuple[int, int, int]
    num_classes: int = 0
    sample: Dict[str, Any] = field(default_factory=dict)
    world_size: int = 1  # GPUs of the official run
    released_as: Optional[str] = None  # README file name
    script: Optional[str] = None
    generator_overrides: Dict[str, Any] = field(default_factory=dict)
    discriminator_overrides: Dict[str, Any] = field(default_factory=dict)


_ACT = {"name": "act", "s0": 2, "distance": "lpips", "r1_gamma": 10.0, "r1_interval": 16, "augment": True}
_POWER = {"lambda_schedule": "power", "lambda_max": 0.6, "w_mid": 0.2}
# The recipes of config/paper/*.yaml (their *_act keys), which read them from the official scripts.
SPECS: Dict[str, OfficialSpec] = {
    "cifar10": OfficialSpec(
        "cifar10", {"name": "cifar10", "split": "train", "hflip": True},
        {**_ACT, "s1": 150, "mu0": 0.9, "lambda_schedule": "constant", "lambda_max": 0.3, "augment_threshold": 1.0e4},
        {"steps": 300000, "batch_size": 80, "lr": 1.0e-4, "device": "cuda", "precision": "fp32"}, (3, 32, 32),
        sample={"num_samples": 50000, "batch_size": 500}, released_as="cifar10_fid_6_0.ckpt", script="train_cifar10.py"),
    "imagenet64": OfficialSpec(
        "imagenet64", {"name": "imagenet64", "split": "train", "hflip": True},
        {**_ACT, **_POWER, "s1": 200, "mu0": 0.95, "augment_threshold": 1.0e7},
        {"steps": 400000, "batch_size": 320, "lr": 5.0e-5, "device": "cuda", "precision": "fp16"}, (3, 64, 64), 1000,
        sample={"num_samples": 50000, "batch_size": 500}, released_as="imagenet_fid_10_6.ckpt",
        script="train_imagenet64.py"),
    "lsun256": OfficialSpec(
        "lsun256", {"name": "lsun_cat", "split": "train", "resolution": 256, "hflip": True},
        {**_ACT, **_POWER, "s1": 150, "mu0": 0.95, "augment_threshold": 1.0e9},
        {"steps": 800000, "batch_size": 640, "lr": 5.0e-5, "device": "cuda", "precision": "fp16"}, (3, 256, 256),
        sample={"num_samples": 50000, "batch_size": 100}, world_size=8, released_as="lsun256_fid_13_0.ckpt",
        script="lsun_cat_256.py"),
    # Not released: this suite's CPU-sized nets in the official layout, for tests and dry runs.
    "tiny": OfficialSpec("tiny", {"name": "fashion_mnist"}, {"name": "act", "distance": "l2"}, {"device": "cpu"},
                         (1, 32, 32)),
}
RELEASED = ("cifar10", "imagenet64", "lsun256")


def official_config(spec: OfficialSpec) -> Any:
    """The ExperimentConfig an imported checkpoint carries."""
    from act.config import ExperimentConfig, from_dict

    model = {"preset": spec.preset, "discriminator": spec.preset, "overrides": dict(spec.generator_overrides),
             "discriminator_overrides": dict(spec.discriminator_overrides)}
    return from_dict(ExperimentConfig, {"data": spec.data, "model": model, "method": spec.method,
                                        "train": spec.train, "sample": spec.sample})


_LAYOUTS: Dict[str, Dict[str, Dict[str, Tuple[int, ...]]]] = {}  # repr(spec) -> expected_layout(spec)


def expected_layout(spec: OfficialSpec) -> Dict[str, Dict[str, Tuple[int, ...]]]:
    """{network: {project key: shape}} of the spec's generator and discriminator (built on the meta device)."""
    import torch

    if repr(spec) in _LAYOUTS:
        return _LAYOUTS[repr(spec)]

    from act.adversarial import build_act_discriminator
    from act.config import generator_overrides
    from act.networks import build_generator

    cfg = official_config(spec)
    with torch.device("meta"):
        g = build_generator(cfg.model.preset, **generator_overrides(cfg.model, cfg.noise))
        d = build_act_discriminator(cfg.model, cfg.method)
    shapes = lambda net: {k: tuple(v.shape) for k, v in net.state_dict().items()}  # noqa: E731
    gen = shapes(g)
    layout = _LAYOUTS[repr(spec)] = {"target": gen, "generator": dict(gen), "discriminator": shapes(d)}
    return layout


def to_project_key(key: str) -> Tuple[str, str]:
    """(kind, name) of one official key: ("network", "<net>/<project key>"), ("dropped", prefix),
    ("ignored", prefix) or ("unknown", key). ``_orig_mod.`` segments are removed first."""
    k = key.replace(COMPILED, "")
    for prefix in IGNORED:
        if k.startswith(prefix):
            return "ignored", prefix
    for prefix in DROPPED:
        if k.startswith(prefix):
            return "dropped", prefix
    for prefix, net in GENERATORS:
        if k.startswith(prefix):
            return "network", f"{net}/{GENERATOR_INNER}{k[len(prefix):]}"
    if k.startswith(DISCRIMINATOR):
        inner = k[len(DISCRIMINATOR):]
        for old, new in DISCRIMINATOR_RENAMES:
            if inner.startswith(old):
                inner = new + inner[len(old):]
                break
        return "network", f"discriminator/{inner}"
    return "unknown", key


def to_official_key(net: str, key: str) -> str:
    """The official spelling of a project key (the inverse of :func:`to_project_key` on networks)."""
    if net == "discriminator":
        for old, new in DISCRIMINATOR_RENAMES:
            if key.startswith(new):
                return DISCRIMINATOR + old + key[len(new):]
        return DISCRIMINATOR + key
    prefix = dict((n, p) for p, n in GENERATORS)[net]
    return prefix + key[len(GENERATOR_INNER):]


@dataclass
class Conversion:
    """The networks of one official state dict and where every official tensor went."""

    preset: str
    networks: Dict[str, Dict[str, Any]]  # generator, target, discriminator (absent when the file has none)
    used: Dict[str, str] = field(default_factory=dict)  # official key -> "<net>/<project key>"
    dropped: Dict[str, List[str]] = field(default_factory=dict)  # DROPPED prefix -> official keys
    ignored: Dict[str, List[str]] = field(default_factory=dict)  # IGNORED prefix -> official keys
    source_dtypes: Dict[str, int] = field(default_factory=dict)
    generator_source: str = "model.unet"


def convert_state_dict(sd: Mapping[str, Any], spec: OfficialSpec) -> Conversion:
    """Official ``state_dict`` -> project state dicts, checked key for key and shape for shape against ``spec``."""
    import torch

    layout = expected_layout(spec)
    conv = Conversion(spec.preset, {})
    for key, value in sd.items():
        kind, name = to_project_key(key)
        if kind == "unknown":
            known = [p for p, _ in GENERATORS] + [DISCRIMINATOR, *DROPPED, *IGNORED]
            raise OfficialImportError(f"unknown key {key!r}: under none of the official ACT prefixes {known}")
        if kind != "network":
            (conv.dropped if kind == "dropped" else conv.ignored).setdefault(name, []).append(key)
            continue
        net, pkey = name.split("/", 1)
        want = layout[net].get(pkey)
        if want is None:
            raise OfficialImportError(f"unknown key {key!r}: preset {spec.preset!r} has no tensor {pkey!r} in its {net}")
        if not isinstance(value, torch.Tensor):
            raise OfficialImportError(f"key {key!r} holds a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != want:
            raise OfficialImportError(f"key {key!r} has shape {tuple(value.shape)}; preset {spec.preset!r} expects {want}")
        if not value.is_floating_point():
            raise OfficialImportError(f"key {key!r} has dtype {value.dtype}, expected a floating-point tensor")
        if pkey in conv.networks.get(net, {}):
            other = next(k for k, v in conv.used.items() if v == name)
            raise OfficialImportError(f"keys {other!r} and {key!r} both hold {net} tensor {pkey!r}")
        conv.used[key] = name
        conv.source_dtypes[str(value.dtype)] = conv.source_dtypes.get(str(value.dtype), 0) + 1
        conv.networks.setdefault(net, {})[pkey] = value.to(torch.float32).contiguous()
    if "target" not in conv.networks:
        raise OfficialImportError(f"no EMA generator: the file has no model_ema.unet.* tensor (preset {spec.preset!r})")
    for net, tensors in conv.networks.items():
        missing = [k for k in layout[net] if k not in tensors]
        if missing:
            raise OfficialImportError(f"missing key {to_official_key(net, missing[0])!r} ({len(missing)} of the "
                                      f"{len(layout[net])} tensors of preset {spec.preset!r}'s {net} are absent)")
    conv.networks = {net: {k: tensors[k] for k in layout[net]} for net, tensors in conv.networks.items()}  # modules' order
    if "generator" not in conv.networks:  # an EMA-only file: the online slot holds the EMA too
        conv.networks["generator"] = dict(conv.networks["target"])
        conv.generator_source = "model_ema.unet (the file holds no online model.unet weights)"
    return conv


def _signature(shapes: Mapping[str, Tuple[int, ...]], prefix: str = GENERATOR_INNER) -> Tuple[Any, ...]:
    """What tells the presets apart: UNet levels, layers, conv_in, conv_out and class embedding shapes."""
    down = prefix + "down_blocks."
    levels = {k[len(down):].split(".")[0] for k in shapes if k.startswith(down)}
    layers = {k for k in shapes if k.startswith(down + "0.resnets.") and k.endswith(".conv1.weight")}
    return (len(levels), len(layers), shapes.get(prefix + "conv_in.weight"), shapes.get(prefix + "conv_out.weight"),
            shapes.get(prefix + "class_embedding.weight"))


def detect_preset(sd: Mapping[str, Any], candidates: Tuple[str, ...] = tuple(SPECS)) -> str:
    """The preset whose EMA generator has the file's structure."""
    ema = {}
    for key, value in sd.items():
        kind, name = to_project_key(key)
        if kind == "network" and name.startswith("target/"):
            ema[name.split("/", 1)[1]] = tuple(getattr(value, "shape", ()))
    if not ema:
        raise OfficialImportError("no EMA generator: the file has no model_ema.unet.* tensor")
    mine = _signature(ema)
    found = [p for p in candidates if _signature(expected_layout(SPECS[p])["target"]) == mine]
    if len(found) != 1:
        raise OfficialImportError(f"cannot tell the preset (EMA generator: {mine[0]} levels, conv_in {mine[2]}, "
                                  f"conv_out {mine[3]}, class embedding {mine[4]}); matches {found or 'none'}: "
                                  f"pass --preset")
    return found[0]


def load_lightning(path: Union[str, Path], unsafe_load: bool = False) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(state_dict, the rest of the file) of a Lightning checkpoint (or of a bare state dict)."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise OfficialImportError(f"no file at {path}")
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=not unsafe_load, mmap=True)
        except RuntimeError as e:  # legacy (non-zip) files cannot be memory-mapped
            if "mmap" not in str(e):
                raise
            obj = torch.load(path, map_location="cpu", weights_only=not unsafe_load)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OfficialImportError(f"{path}: torch's weights-only loader refuses it ({first}); if you trust the "
                                  f"file, rerun with --unsafe-load") from e
    except Exception as e:  # noqa: BLE001  a damaged file fails inside torch's unpickler in many ways
        raise OfficialImportError(f"{path}: not a readable torch checkpoint ({type(e).__name__}: "
                                  f"{str(e).strip().splitlines()[0] if str(e).strip() else ''})") from e
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        return dict(obj["state_dict"]), {k: v for k, v in obj.items() if k != "state_dict"}
    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return dict(obj), {"bare_state_dict": True}
    raise OfficialImportError(f"{path}: neither a Lightning checkpoint (no 'state_dict') nor a state dict")


def import_official(src: Union[str, Path], out: Union[str, Path], preset: Optional[str] = None, *,
                    spec: Optional[OfficialSpec] = None, unsafe_load: bool = False,
                    sha256: Optional[str] = None) -> Dict[str, Any]:
    """Convert official checkpoint ``src`` into act-bench checkpoint ``out``; returns its ``imported`` record.

    ``preset``: a key of :data:`SPECS`, or None to detect it; ``spec`` replaces the preset's spec
    (overrides, other data); ``sha256``: the digest ``src`` must have (checked before it is read).
    Raises :class:`OfficialImportError` before writing anything.
    """
    from act.checkpoint import save_checkpoint
    from act.config import to_dict

    src, out = Path(src), Path(out)
    if not src.is_file():
        raise OfficialImportError(f"no file {src}: pass the path of a downloaded official .ckpt")
    digest = io.file_digest(src, "sha256")
    if sha256 is not None and digest.lower() != sha256.strip().lower():
        raise OfficialImportError(f"{src} has sha256 {digest}, not the expected {sha256.strip()}: "
                                  "download the file again, or correct the expected digest")
    sd, rest = load_lightning(src, unsafe_load)
    if spec is None:
        if preset is not None and preset not in SPECS:
            raise OfficialImportError(f"unknown preset {preset!r}; choose from {sorted(SPECS)}")
        detected = preset is None
        spec = SPECS[preset or detect_preset(sd)]
    else:
        detected = False
    conv = convert_state_dict(sd, spec)
    global_step = rest.get("global_step")
    step = int(global_step) // 2 if isinstance(global_step, int) else 0
    has_disc = "discriminator" in conv.networks
    record = {
        "source": str(src.resolve()), "source_bytes": src.stat().st_size, "source_sha256": digest,
        "official_code": OFFICIAL_CODE, "script": spec.script, "released_as": spec.released_as,
        "preset": spec.preset, "preset_detected": detected, "step": step,
        "lightning": {k: rest.get(k) for k in ("pytorch-lightning_version", "epoch", "global_step")},
        "bare_state_dict": bool(rest.get("bare_state_dict")),
        "step_rule": "step = global_step // 2: Lightning counts the generator's and the discriminator's optimizer "
                     "steps of one training step",
        "networks": {"target": "model_ema.unet (EMA: the official CT teacher and sampling network)",
                     "generator": conv.generator_source,
                     "discriminator": "model._discriminator" if has_disc else None},
        "renames": {**{p: f"{n} {GENERATOR_INNER}" for p, n in GENERATORS},
                    **{DISCRIMINATOR + a: f"discriminator {b}" for a, b in DISCRIMINATOR_RENAMES},
                    DISCRIMINATOR: "discriminator (other keys unchanged)"},
        "dropped": {p: {"tensors": len(ks), "why": DROPPED[p]} for p, ks in conv.dropped.items()},
        "ignored": {p: {"tensors": len(ks), "why": IGNORED[p]} for p, ks in conv.ignored.items()},
        "unused_logit_head_dropped": bool(conv.dropped.get(DISCRIMINATOR + UNUSED_HEAD)),
        "tensors": {"in_file": len(sd), "used": len(conv.used)},
        "params": {k: sum(int(v.numel()) for v in conv.networks[k].values()) if k in conv.networks else None
                   for k in ("generator", "discriminator")},
        "train": {k: spec.train.get(k) for k in ("steps", "batch_size", "lr")},
        "source_dtypes": conv.source_dtypes, "stored_dtype": "torch.float32",
        "not_converted": [k for k in NOT_CONVERTED if k in rest] + ["the augmentation probability (ada_aug_p is not "
                                                                   "saved by the official code)"],
        "resumable": False,
    }
    state = {
        "step": step,
        "config": to_dict(official_config(spec)),
        "data_shape": list(spec.data_shape),
        "num_classes": int(spec.num_classes),
        "networks": {k: conv.networks[k] for k in ("generator", "discriminator") if k in conv.networks},
        "averaged": {"target": conv.networks["target"]},
        "sampling_network": "target",
        "optimizers": {},
        "scalers": {},
        "method_state": {},
        "world_size": spec.world_size,
        "device_type": "cuda" if spec.train.get("device") == "cuda" else "cpu",
        "imported": record,
    }
    save_checkpoint(out, state)  # makes out's folder
    return record


def with_overrides(preset: str, **changes: Any) -> OfficialSpec:
    """A copy of ``SPECS[preset]`` with fields replaced (e.g. generator_overrides, data, data_shape)."""
    return dataclasses.replace(SPECS[preset], **changes)

"""Builders: a preset name plus keyword overrides -> a generator or discriminator.

Overrides are checked against the preset kind's valid names (``UNet2DModel`` keyword
arguments, the wrapper's ``time_input``/``sigma_min``/``sigma_data``, and the aliases
``channels``, ``resolution``, ``num_classes``); the resolved flat config is recorded on the
built module as ``network_config`` so checkpoints and run records can store it.
"""

from __future__ import annotations

import copy
import functools
import inspect
from typing import Any, Callable, Dict, Tuple

from torch import nn

from act.errors import ConfigError
from act.networks.backbones import ToyMLP, UNetBackbone
from act.networks.discriminators import ToyDiscriminator, UNetDiscriminator
from act.networks.presets import ALIASES, DISCRIMINATOR_PRESETS, GENERATOR_PRESETS, block_types
from act.parametrization import TIME_INPUTS, ConsistencyFunction


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (shared tensors counted once, frozen ones included)."""
    return sum(p.numel() for p in module.parameters())


def _kwarg_names(fn: Any) -> Tuple[str, ...]:
    return tuple(n for n in inspect.signature(fn).parameters if n != "self")


# Valid override names per preset kind (after resolving ALIASES).
_WRAPPER_KEYS = ("time_input", "sigma_min", "sigma_data")  # consumed by ConsistencyFunction
_MLP_KEYS = ("in_channels", "hidden_dim", "num_layers", "embedding_dim", "embedding_type", "fourier_scale", "dropout")


@functools.lru_cache(maxsize=None)
def _unet_class() -> Any:
    from diffusers import UNet2DModel  # imported only when a UNet is built (~2-3 CPU-s per process)

    return UNet2DModel


@functools.lru_cache(maxsize=None)
def _unet_kwargs() -> Tuple[str, ...]:
    return _kwarg_names(_unet_class().__init__)


# Per preset kind, a function giving its valid override names (the UNet's need diffusers).
_GENERATOR_KEYS: Dict[str, Callable[[], Tuple[str, ...]]] = {
    "mlp": lambda: _MLP_KEYS + _WRAPPER_KEYS,
    "unet": lambda: _unet_kwargs() + _WRAPPER_KEYS + ("attention_resolutions", "spare_out_channels"),
}
_DISCRIMINATOR_KEYS: Dict[str, Callable[[], Tuple[str, ...]]] = {
    "mlp": lambda: _MLP_KEYS + ("time_conditioned", "time_input"),
    "unet": lambda: _kwarg_names(UNetDiscriminator.__init__),
}


def _resolve(
    presets: Dict[str, Dict[str, Any]], preset: str, overrides: Dict[str, Any],
    valid: Dict[str, Callable[[], Tuple[str, ...]]]
) -> Dict[str, Any]:
    """Preset dict updated with overrides; unknown presets and keys raise with the valid choices."""
    if preset not in presets:
        raise ConfigError(f"unknown preset {preset!r}; choose from {sorted(presets)}")
    cfg = copy.deepcopy(presets[preset])
    allowed = set(valid[cfg["kind"]]())
    for key, value in overrides.items():
        name = ALIASES.get(key, key)
        if name not in allowed:
            choices = sorted(allowed | {a for a, n in ALIASES.items() if n in allowed})
            raise ConfigError(f"unknown override {key!r} for preset {preset!r}; valid overrides: {choices}")
        if name != key and name in overrides:
            raise ConfigError(f"overrides {key!r} and {name!r} set the same thing; pass one")
        cfg[name] = value
    if cfg.get("time_input", "raw") not in TIME_INPUTS:
        raise ConfigError(f"unknown time_input {cfg['time_input']!r}; choose from {TIME_INPUTS}")
    return cfg


def _derive_block_types(cfg: Dict[str, Any], overrides: Dict[str, Any], names: Tuple[str, ...]) -> None:
    """Set ``names`` (down, then up block types) from attention_resolutions unless given explicitly."""
    explicit = [k for k in names if k in overrides]
    if not explicit:
        derived = block_types(cfg["sample_size"], len(cfg["block_out_channels"]), cfg["attention_resolutions"] or ())
        cfg.update(zip(names, derived))
    elif "attention_resolutions" in overrides:
        raise ConfigError(f"pass attention_resolutions or explicit {names}, not both")
    elif len(explicit) != len(names):
        raise ConfigError(f"explicit block types need all of {names}; got only {explicit}")
    else:
        cfg["attention_resolutions"] = None  # the explicit block types decide where attention is


def resolve_generator_config(preset: str, **overrides: Any) -> Dict[str, Any]:
    """Flat generator config: preset + overrides, block types derived; raises ConfigError on unknown names."""
    cfg = _resolve(GENERATOR_PRESETS, preset, overrides, _GENERATOR_KEYS)
    if cfg["kind"] == "unet":
        _derive_block_types(cfg, overrides, ("down_block_types", "up_block_types"))
        # Spare channels follow the data's channels unless out_channels itself is overridden.
        cfg.setdefault("out_channels", cfg["in_channels"] + cfg["spare_out_channels"])
        if cfg["out_channels"] < cfg["in_channels"]:
            raise ConfigError(f"out_channels {cfg['out_channels']} < in_channels {cfg['in_channels']}")
    return {"preset": preset, **cfg}


def config_data_shape(cfg: Dict[str, Any]) -> Tuple[int, ...]:
    """The data shape a resolved network config takes: (C,) for an MLP, (C, H, W) for a UNet."""
    return (cfg["in_channels"],) if cfg["kind"] == "mlp" else (cfg["in_channels"], cfg["sample_size"], cfg["sample_size"])


def image_presets() -> Tuple[str, ...]:
    """The generator presets that take images (UNets)."""
    return tuple(sorted(k for k, v in GENERATOR_PRESETS.items() if v["kind"] == "unet"))


def resolve_discriminator_config(preset: str, **overrides: Any) -> Dict[str, Any]:
    """Flat discriminator config: preset + overrides, block types derived; raises ConfigError on unknown names."""
    cfg = _resolve(DISCRIMINATOR_PRESETS, preset, overrides, _DISCRIMINATOR_KEYS)
    if cfg["kind"] == "unet":
        _derive_block_types(cfg, overrides, ("down_block_types",))
    return {"preset": preset, **cfg}


def build_generator(preset: str, **overrides: Any) -> ConsistencyFunction:
    """Consistency function f(x, sigma) = c_skip x + c_out F(c_in x, c_noise) around a preset backbone."""
    return generator_from_config(resolve_generator_config(preset, **overrides))


def generator_from_config(cfg: Dict[str, Any]) -> ConsistencyFunction:
    """The generator of a resolved config (:func:`resolve_generator_config`, as a checkpoint stores it): no
    preset table is read, so a later edit of the presets cannot change what an old checkpoint builds."""
    cfg = dict(cfg)
    if cfg["kind"] == "mlp":
        backbone: nn.Module = ToyMLP(**{k: cfg[k] for k in _MLP_KEYS})
    elif cfg["kind"] == "unet":
        unet = _unet_class()(**{k: v for k, v in cfg.items() if k in _unet_kwargs()})
        backbone = UNetBackbone(unet, cfg["in_channels"])
    else:
        raise ConfigError(f"unknown generator kind {cfg['kind']!r}; choose from ('mlp', 'unet')")
    net = ConsistencyFunction(backbone, cfg["sigma_min"], cfg["sigma_data"], cfg["time_input"])
    net.network_config = cfg  # the resolved config, for checkpoints and run records
    return net


def build_discriminator(preset: str, **overrides: Any) -> nn.Module:
    """ACT discriminator D(x, sigma, labels=None) -> (B,) logits for a preset."""
    return discriminator_from_config(resolve_discriminator_config(preset, **overrides))


def discriminator_from_config(cfg: Dict[str, Any]) -> nn.Module:
    """The discriminator of a resolved config (:func:`resolve_discriminator_config`), as a checkpoint stores it."""
    cfg = dict(cfg)
    body = {k: v for k, v in cfg.items() if k not in ("preset", "kind")}
    if cfg["kind"] == "mlp":
        net: nn.Module = ToyDiscriminator(**body)
    elif cfg["kind"] == "unet":
        net = UNetDiscriminator(**body)
    else:
        raise ConfigError(f"unknown discriminator kind {cfg['kind']!r}; choose from ('mlp', 'unet')")
    net.network_config = cfg  # the resolved config, for checkpoints and run records
    return net

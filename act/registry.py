"""Method name -> (config dataclass, builder): the one place that maps a config's method to what trains it.

A builder returns an ``act.method.Method`` (networks, loss objects, phase table). CT and iCT are one
builder (``baselines.ct.build_consistency``) under two configurations. The config dataclasses live in
``act.config`` (``METHOD_CONFIGS``, which the workflow reads without importing torch); this table is
checked against it.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Tuple, Type

from act.adversarial import act_discriminator_spec, build_act
from act.config import METHOD_CONFIGS, ACTConfig, CTConfig, ICTConfig, generator_overrides
from act.errors import ConfigError
from act.method import Method
from baselines.ct import build_consistency

Builder = Callable[..., Method]  # builder(cfg, data_shape, num_classes=0, world_size=1)
METHODS: Dict[str, Tuple[Type[CTConfig], Builder]] = {
    "ct": (CTConfig, build_consistency),
    "ict": (ICTConfig, build_consistency),
    "act": (ACTConfig, build_act),
}
assert {k: v[0] for k, v in METHODS.items()} == METHOD_CONFIGS, "act.config.METHOD_CONFIGS disagrees with METHODS"


def build_method(cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0, world_size: int = 1) -> Method:
    """The method of an ExperimentConfig, networks built on the CPU; ``world_size``: processes training it."""
    name = cfg.method.name
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose from {sorted(METHODS)}")
    check_data_fits(cfg, data_shape, num_classes)
    return METHODS[name][1](cfg, data_shape, num_classes=num_classes, world_size=world_size)


def check_data_fits(cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0) -> None:
    """A ConfigError unless the generator (and a discriminator, for a method that trains one) take the data's
    shape and labels; from the resolved preset configs, before any network is built."""
    from act.networks.build import config_data_shape, resolve_discriminator_config, resolve_generator_config

    nets = {"model.preset": resolve_generator_config(cfg.model.preset, **generator_overrides(cfg.model, cfg.noise))}
    if isinstance(cfg.method, ACTConfig):  # a method that trains a discriminator
        preset, overrides = act_discriminator_spec(cfg.model, cfg.method)
        nets["model.discriminator"] = resolve_discriminator_config(preset, **overrides)
    shape = tuple(int(n) for n in data_shape)
    for key, net in nets.items():
        if config_data_shape(net) != shape:
            raise ConfigError(f"{key} {net['preset']!r} takes data of shape {'x'.join(map(str, config_data_shape(net)))}, but "
                              f"data {cfg.data.name!r} gives {'x'.join(map(str, shape))}: choose a preset of that shape "
                              "or set channels / resolution in the model's overrides")
        classes = int(net.get("num_class_embeds") or 0)
        if classes and not num_classes:
            raise ConfigError(f"{key} {net['preset']!r} is class-conditional ({classes} classes), but data "
                              f"{cfg.data.name!r} has no labels: use labelled data or set num_classes: null in the overrides")

"""Method name -> implementation: the one place that maps a config's method to the class that trains it.

The names and their config dataclasses are ``act.config.METHOD_CONFIGS``; CT and iCT are one
implementation (``baselines.ct.ConsistencyTraining``) under two configurations.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple, Type

from act.adversarial import ACTMethod, act_discriminator_spec
from act.config import METHOD_CONFIGS, generator_overrides
from act.errors import ConfigError
from act.method import Method
from baselines.ct import ConsistencyTraining

IMPLEMENTATIONS: Dict[str, Type[Method]] = {"ct": ConsistencyTraining, "ict": ConsistencyTraining, "act": ACTMethod}
assert set(IMPLEMENTATIONS) == set(METHOD_CONFIGS), "every method name needs a config and an implementation"


def build_method(cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0, world_size: int = 1) -> Method:
    """The method of an ExperimentConfig, networks built on the CPU; ``world_size``: processes training it."""
    name = cfg.method.name
    if name not in IMPLEMENTATIONS:
        raise ConfigError(f"unknown method {name!r}; choose from {sorted(IMPLEMENTATIONS)}")
    check_data_fits(cfg, data_shape, num_classes)
    return IMPLEMENTATIONS[name](cfg, data_shape=data_shape, num_classes=num_classes, world_size=world_size)


def check_data_fits(cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0) -> None:
    """A ConfigError unless the generator (and a discriminator, for a method that trains one) take the data's
    shape and labels; from the resolved preset configs, before any network is built."""
    from act.networks.build import config_data_shape, resolve_discriminator_config, resolve_generator_config

    nets = {"model.preset": resolve_generator_config(cfg.model.preset, **generator_overrides(cfg))}
    if "discriminator" in IMPLEMENTATIONS[cfg.method.name].phases:
        preset, overrides = act_discriminator_spec(cfg)
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

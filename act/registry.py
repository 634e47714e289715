"""Method name -> implementation: the one place that maps a config's method to the class that trains it.

The names and their config dataclasses are ``act.config.METHOD_CONFIGS``; CT and iCT are one
implementation (``baselines.ct.ConsistencyTraining``) under two configurations.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple, Type

from act.adversarial import ACTMethod
from act.config import METHOD_CONFIGS
from act.method import Method
from baselines.ct import ConsistencyTraining

IMPLEMENTATIONS: Dict[str, Type[Method]] = {"ct": ConsistencyTraining, "ict": ConsistencyTraining, "act": ACTMethod}
assert set(IMPLEMENTATIONS) == set(METHOD_CONFIGS), "every method name needs a config and an implementation"


def build_method(cfg: Any, data_shape: Tuple[int, ...], num_classes: int = 0, world_size: int = 1) -> Method:
    """The method of an ExperimentConfig, networks built on the CPU; ``world_size``: processes training it."""
    name = cfg.method.name
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"unknown method {name!r}; choose from {sorted(IMPLEMENTATIONS)}")
    return IMPLEMENTATIONS[name](cfg, data_shape=data_shape, num_classes=num_classes, world_size=world_size)

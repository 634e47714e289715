"""Generator and discriminator networks of ACT (Kong et al., CVPR 2024).

Generators: a diffusers ``UNet2DModel`` (the family of the official ACT code, which pins
diffusers 0.23.1) or a toy MLP, wrapped in the boundary-condition parametrisation of
Consistency Models (``act.parametrization.ConsistencyFunction``). Discriminators: the
down path plus middle block of the same UNet family, conditioned on sigma (and the class),
pooled to 2x2 and mapped to one logit. Presets: ``toy2d``, ``tiny`` (CPU-sized),
``cifar10``, ``imagenet64``, ``lsun256`` (the official configurations).
"""

from act.networks.backbones import TimeEmbedding, ToyMLP, UNetBackbone
from act.networks.build import (
    build_discriminator,
    build_generator,
    count_parameters,
    resolve_discriminator_config,
    resolve_generator_config,
)
from act.networks.discriminators import ToyDiscriminator, UNetDiscriminator
from act.networks.presets import DISCRIMINATOR_PRESETS, GENERATOR_PRESETS

__all__ = [
    "DISCRIMINATOR_PRESETS",
    "GENERATOR_PRESETS",
    "TimeEmbedding",
    "ToyDiscriminator",
    "ToyMLP",
    "UNetBackbone",
    "UNetDiscriminator",
    "build_discriminator",
    "build_generator",
    "count_parameters",
    "resolve_discriminator_config",
    "resolve_generator_config",
]

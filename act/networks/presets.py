"""Preset configurations of the ACT generators and discriminators (Kong et al., CVPR 2024).

Values are read from the official ACT code (kong13661/ACT, HEAD 94e0853: ``train_cifar10.py``,
``train_imagenet64.py``, ``lsun_cat_256.py``); ``toy2d`` and ``tiny`` are this suite's own
CPU-sized nets. UNet presets name attention by resolution; block types are derived from it.
Keys are ``UNet2DModel`` keyword arguments where one exists.
"""

from __future__ import annotations

from typing import Any, Dict, Sequence, Tuple

from act.schedules import SIGMA_DATA, SIGMA_MIN

_CONSISTENCY_DEFAULTS = {"time_input": "raw", "sigma_min": SIGMA_MIN, "sigma_data": SIGMA_DATA}

# The MLP of the toy2d_small generator and discriminator (128 x 3, ~58k parameters each).
_TOY_SMALL_MLP: Dict[str, Any] = {"kind": "mlp", "in_channels": 2, "hidden_dim": 128, "num_layers": 3, "embedding_dim": 64,
                                  "embedding_type": "positional", "fourier_scale": 1.0, "dropout": 0.0}

GENERATOR_PRESETS: Dict[str, Dict[str, Any]] = {
    "toy2d": {
        "kind": "mlp",
        "in_channels": 2,
        "hidden_dim": 256,
        "num_layers": 4,
        "embedding_dim": 64,
        "embedding_type": "positional",  # same sinusoidal embedding as the UNets, so "raw" sigma means the same
        "fourier_scale": 1.0,
        "dropout": 0.0,
        **_CONSISTENCY_DEFAULTS,
    },
    # A quarter of toy2d's multiply-adds (58k parameters): the embedded default trains 18 toy runs
    # for 20k steps each, and a step of this net costs about half of toy2d's on one CPU thread.
    "toy2d_small": {**_TOY_SMALL_MLP, **_CONSISTENCY_DEFAULTS},
    "tiny": {
        "kind": "unet",
        "in_channels": 1,  # Fashion-MNIST padded to 32x32
        "sample_size": 32,
        "block_out_channels": (32, 64, 64),
        "layers_per_block": 1,
        "attention_resolutions": (),  # attention only in the 8x8 middle block: cheap on a CPU
        "norm_num_groups": 8,  # 4 channels per group at width 32, like 128/32 in the official nets
        "spare_out_channels": 0,
        **_CONSISTENCY_DEFAULTS,
    },
    # tiny at half the width and half the side (Fashion-MNIST at data.resolution 16): a quarter of tiny's step
    # cost at 16 px on one CPU thread (docs/notes/2026-12-06-images-cpu-scoping/), for config/images_cpu.yaml
    "micro": {
        "kind": "unet",
        "in_channels": 1,
        "sample_size": 16,
        "block_out_channels": (16, 32, 32),
        "layers_per_block": 1,
        "attention_resolutions": (),  # attention only in the 4x4 middle block
        "norm_num_groups": 8,
        "spare_out_channels": 0,
        **_CONSISTENCY_DEFAULTS,
    },
    "cifar10": {
        "kind": "unet",
        "in_channels": 3,
        "sample_size": 32,
        "block_out_channels": (128, 128, 256, 256),
        "layers_per_block": 2,
        "attention_resolutions": (16,),
        # The official net emits 6 channels and keeps the last 3 (out_channels == 6 branch).
        "spare_out_channels": 3,
        **_CONSISTENCY_DEFAULTS,
    },
    "imagenet64": {
        "kind": "unet",
        "in_channels": 3,
        "sample_size": 64,
        "block_out_channels": (128, 256, 256, 512, 512),
        "layers_per_block": 2,
        "attention_resolutions": (16,),
        "attention_head_dim": 16,
        "num_class_embeds": 1000,
        "spare_out_channels": 0,
        **_CONSISTENCY_DEFAULTS,
    },
    "lsun256": {
        "kind": "unet",
        "in_channels": 3,
        "sample_size": 256,
        "block_out_channels": (128, 128, 256, 256, 512, 512),
        "layers_per_block": 2,
        "attention_resolutions": (16,),
        "attention_head_dim": None,  # None = head dim equals the width: one head per attention layer
        "flip_sin_to_cos": False,
        "freq_shift": 1,
        "spare_out_channels": 0,
        **_CONSISTENCY_DEFAULTS,
    },
}

DISCRIMINATOR_PRESETS: Dict[str, Dict[str, Any]] = {
    "toy2d": {
        "kind": "mlp",
        "in_channels": 2,
        "hidden_dim": 256,
        "num_layers": 3,
        "embedding_dim": 64,
        "embedding_type": "positional",
        "fourier_scale": 1.0,
        "dropout": 0.0,
        "time_conditioned": True,
        "time_input": "raw",
    },
    "toy2d_small": {**_TOY_SMALL_MLP, "time_conditioned": True, "time_input": "raw"},  # beside the generator
    "tiny": {
        "kind": "unet",
        "in_channels": 1,
        "sample_size": 32,
        "block_out_channels": (32, 64, 64),
        "layers_per_block": 1,
        "attention_resolutions": (),
        "norm_num_groups": 8,
        "final_norm": True,
    },
    "micro": {  # beside the micro generator
        "kind": "unet",
        "in_channels": 1,
        "sample_size": 16,
        "block_out_channels": (16, 32, 32),
        "layers_per_block": 1,
        "attention_resolutions": (),
        "norm_num_groups": 8,
        "final_norm": True,
    },
    "cifar10": {
        "kind": "unet",
        "in_channels": 3,
        "sample_size": 32,
        "block_out_channels": (128, 256, 256, 256),
        "layers_per_block": 3,
        "attention_resolutions": (16,),
        "final_norm": True,  # only the CIFAR-10 discriminator normalises before the head
    },
    "imagenet64": {
        "kind": "unet",
        "in_channels": 3,
        "sample_size": 64,
        "block_out_channels": (128, 256, 256, 512, 512),
        "layers_per_block": 3,
        "attention_resolutions": (16,),
        "attention_head_dim": 16,
        "num_class_embeds": 1000,
        "final_norm": False,
    },
    "lsun256": {
        "kind": "unet",
        "in_channels": 3,
        "sample_size": 256,
        "block_out_channels": (128, 128, 256, 256, 512, 512),
        "layers_per_block": 3,
        "attention_resolutions": (16,),
        "attention_head_dim": None,
        "flip_sin_to_cos": False,
        "freq_shift": 1,
        "final_norm": False,
    },
}

# Friendly names accepted as overrides, mapped to the config key they set.
ALIASES = {"channels": "in_channels", "resolution": "sample_size", "num_classes": "num_class_embeds"}


def block_types(
    sample_size: int, n_levels: int, attention_resolutions: Sequence[int]
) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Down and up block types with attention at the listed resolutions (level i runs at size / 2^i)."""
    if sample_size % 2 ** (n_levels - 1):
        raise ValueError(f"sample_size {sample_size} is not divisible by 2^{n_levels - 1} ({n_levels} levels)")
    sizes = [sample_size // 2**i for i in range(n_levels)]
    unknown = set(attention_resolutions) - set(sizes)
    if unknown:
        raise ValueError(f"attention_resolutions {sorted(unknown)} match no level; levels run at {sizes}")
    down = tuple("AttnDownBlock2D" if s in attention_resolutions else "DownBlock2D" for s in sizes)
    up = tuple("AttnUpBlock2D" if s in attention_resolutions else "UpBlock2D" for s in reversed(sizes))
    return down, up

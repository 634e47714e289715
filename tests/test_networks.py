"""act.networks: preset sizes against docs/METHOD.md s.4, shapes, boundary condition, conditioning."""

from __future__ import annotations

from typing import Dict, Tuple

import pytest
import torch
from torch import nn

from act.errors import ConfigError
from act.networks import (
    DISCRIMINATOR_PRESETS,
    GENERATOR_PRESETS,
    build_discriminator,
    build_generator,
    count_parameters,
    resolve_generator_config,
)
from act.schedules import SIGMA_MIN

# Official sizes (docs/METHOD.md s.4, from the official ACT code).
OFFICIAL_G = {"cifar10": 27.5e6, "imagenet64": 107.6e6, "lsun256": 113.7e6}
OFFICIAL_D = {"cifar10": 18.0e6, "imagenet64": 53.9e6, "lsun256": 57.0e6}


_CACHE: Dict[Tuple[str, str], nn.Module] = {}


def generator(preset: str) -> nn.Module:
    if ("G", preset) not in _CACHE:  # the big ones take seconds: build each once per module
        _CACHE["G", preset] = build_generator(preset)
    return _CACHE["G", preset]


def discriminator(preset: str) -> nn.Module:
    if ("D", preset) not in _CACHE:
        _CACHE["D", preset] = build_discriminator(preset)
    return _CACHE["D", preset]


@pytest.fixture(scope="module", autouse=True)
def _free_cached_networks():
    yield
    _CACHE.clear()  # ~1.5 GB of official-size weights: do not keep them for later test modules


def test_presets_cover_the_same_names():
    assert set(GENERATOR_PRESETS) == set(DISCRIMINATOR_PRESETS) == {"toy2d", "toy2d_small", "micro", "tiny", "cifar10", "imagenet64",
                                                                    "lsun256"}


@pytest.mark.parametrize("preset", sorted(OFFICIAL_G))
def test_generator_parameter_count_matches_official(preset):
    n = count_parameters(generator(preset))
    assert abs(n - OFFICIAL_G[preset]) / OFFICIAL_G[preset] < 0.01, n


@pytest.mark.parametrize("preset", sorted(OFFICIAL_D))
def test_discriminator_parameter_count_matches_official(preset):
    n = count_parameters(discriminator(preset))
    assert abs(n - OFFICIAL_D[preset]) / OFFICIAL_D[preset] < 0.01, n


def test_unused_logit_head_adds_the_official_extra_layer():
    base = count_parameters(build_discriminator("tiny"))
    width = DISCRIMINATOR_PRESETS["tiny"]["block_out_channels"][-1]
    assert count_parameters(build_discriminator("tiny", unused_logit_head=True)) == base + 4 * width + 1


def test_tiny_is_cpu_sized():
    assert count_parameters(generator("tiny")) <= 2_000_000
    assert count_parameters(discriminator("tiny")) <= 2_000_000


def test_official_architecture_details():
    cifar = resolve_generator_config("cifar10")
    assert cifar["down_block_types"] == ("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D")
    assert cifar["up_block_types"] == ("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D")
    assert cifar["out_channels"] == 6
    lsun = generator("lsun256").backbone.unet
    assert lsun.mid_block.attentions[0].heads == 1  # one head per attention layer
    assert all(a.heads == 1 for b in lsun.down_blocks for a in getattr(b, "attentions", []))
    assert lsun.config.flip_sin_to_cos is False and lsun.config.freq_shift == 1
    imnet = generator("imagenet64").backbone.unet
    assert imnet.down_blocks[2].attentions[0].heads == 256 // 16  # head dim 16 at 16x16
    assert imnet.class_embedding.num_embeddings == 1000
    assert isinstance(discriminator("cifar10").norm_out, nn.GroupNorm)
    assert isinstance(discriminator("imagenet64").norm_out, nn.Identity)
    assert discriminator("imagenet64").class_embedding.num_embeddings == 1000


def _data(preset: str, batch: int = 4) -> torch.Tensor:
    cfg = GENERATOR_PRESETS[preset]
    if preset == "toy2d":
        return torch.randn(batch, cfg["in_channels"])
    return torch.randn(batch, cfg["in_channels"], cfg["sample_size"], cfg["sample_size"])


@pytest.mark.parametrize("preset", ["toy2d", "tiny"])
def test_forward_shapes(preset):
    torch.manual_seed(0)
    x = _data(preset)
    sigma = torch.tensor([0.002, 0.5, 10.0, 80.0])
    with torch.no_grad():
        assert generator(preset)(x, sigma).shape == x.shape
        assert generator(preset)(x, 1.0).shape == x.shape  # scalar sigma broadcasts
        assert discriminator(preset)(x, sigma).shape == (4,)
        assert discriminator(preset)(x[:1], 3.0).shape == (1,)  # a batch of one stays (1,)


@pytest.mark.parametrize("preset", ["toy2d", "tiny"])
def test_boundary_condition_is_exact(preset):
    torch.manual_seed(0)
    x = _data(preset)
    with torch.no_grad():
        assert torch.equal(generator(preset)(x, SIGMA_MIN), x)
        assert not torch.equal(generator(preset)(x, 1.0), x)


def test_spare_output_channels_are_dropped():
    torch.manual_seed(0)
    net = build_generator("tiny", spare_out_channels=3)  # the CIFAR-10 layout: 1 + 3 outputs, keep the last
    x = _data("tiny", 2)
    c = torch.tensor([0.5, 2.0])
    with torch.no_grad():
        full = net.backbone.unet(x, c).sample
        assert full.shape[1] == 4
        assert torch.equal(net.backbone(x, c, None), full[:, -1:])


def test_class_conditional_generator_needs_labels():
    x = _data("tiny", 2)
    with pytest.raises(ValueError, match="class-conditional"):
        generator("imagenet64")(torch.randn(1, 3, 64, 64), 1.0)  # raises before any forward pass
    net = build_generator("tiny", num_classes=10)
    with pytest.raises(ValueError, match="class-conditional"):
        net(x, 1.0)
    with torch.no_grad():
        a = net(x, 1.0, torch.tensor([0, 1]))
        b = net(x, 1.0, torch.tensor([2, 1]))
    assert a.shape == x.shape
    assert not torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    # An unconditional net ignores labels (loaders may hand them over anyway).
    with torch.no_grad():
        assert torch.equal(generator("tiny")(x, 1.0, torch.tensor([0, 1])), generator("tiny")(x, 1.0))


def test_class_conditional_discriminator_needs_labels():
    x = _data("tiny", 2)
    net = build_discriminator("tiny", num_classes=10)
    with pytest.raises(ValueError, match="class-conditional"):
        net(x, 1.0)
    with torch.no_grad():
        assert net(x, 1.0, torch.tensor([3, 4])).shape == (2,)


@pytest.mark.parametrize("builder", [build_generator, build_discriminator])
def test_unknown_preset_or_override_raises(builder):
    with pytest.raises(ConfigError, match="choose from"):
        builder("cifar100")
    with pytest.raises(ConfigError, match="valid overrides"):
        builder("tiny", widht=3)
    with pytest.raises(ConfigError, match="valid overrides"):
        builder("toy2d", resolution=32)  # not a point-cloud setting
    with pytest.raises(ConfigError, match="time_input"):
        builder("tiny", time_input="log")


@pytest.mark.parametrize("preset", ["toy2d", "tiny"])
def test_unconditioned_discriminator_ignores_sigma(preset):
    torch.manual_seed(0)
    x = _data(preset)
    net = build_discriminator(preset, time_conditioned=False)
    with torch.no_grad():
        assert torch.equal(net(x, 0.01), net(x, 80.0))
        cond = discriminator(preset)
        assert not torch.equal(cond(x, 0.01), cond(x, 80.0))


def test_overrides_reach_the_network():
    cfg = resolve_generator_config("cifar10", channels=1, resolution=64, attention_resolutions=(16, 8))
    assert cfg["in_channels"] == 1 and cfg["sample_size"] == 64 and cfg["out_channels"] == 4
    assert cfg["down_block_types"] == ("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D")
    net = build_generator("tiny", time_input="log250", sigma_data=0.25, dropout=0.1)
    assert net.time_input == "log250" and net.sigma_data == 0.25
    assert net.backbone.unet.config.dropout == 0.1
    with pytest.raises(ValueError, match="attention_resolutions"):
        resolve_generator_config("tiny", attention_resolutions=(5,))


@pytest.mark.parametrize("dim,flip,shift", [(64, True, 0), (32, False, 1), (7, True, 0)])
def test_sinusoidal_embedding_equals_diffusers(dim, flip, shift):
    """The toy nets' own sinusoidal features are diffusers' Timesteps (the UNets' embedding), bit for bit."""
    from diffusers.models.embeddings import Timesteps

    from act.networks.backbones import sinusoidal_embedding

    c = torch.tensor([0.002, 0.1, 1.0, 17.3, 80.0])
    assert torch.equal(sinusoidal_embedding(c, dim, flip, shift), Timesteps(dim, flip, shift)(c))


def test_time_embedding_mlp_is_diffusers_timestep_embedding():
    from diffusers.models.embeddings import TimestepEmbedding

    from act.networks import TimeEmbedding

    ours = TimeEmbedding(16, 32, "positional", True, 0, 1.0)
    ref = TimestepEmbedding(16, 32)
    ref.load_state_dict(ours.mlp.state_dict())  # same keys: checkpoints read either way
    x = torch.randn(4, 16)
    assert torch.allclose(ours.mlp(x), ref(x))


def test_toy_networks_do_not_import_diffusers():
    """Most jobs of the embedded default are toy jobs: they must not pay diffusers' import time."""
    import subprocess
    import sys

    code = ("import sys; from act.networks import build_generator, build_discriminator; "
            "build_generator('toy2d'); build_discriminator('toy2d'); import act.train, act.sampling, act.adversarial; "
            "print('diffusers' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"

"""Distances of consistency training (docs/METHOD.md sections 2-4)."""

import math

import pytest
import torch

from act.distances import LPIPSDistance, build_distance, l2_distance, pseudo_huber_c, pseudo_huber_distance
from act.errors import ConfigError, MissingInputError


def test_l2_is_per_sample_mse():
    x, y = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    assert torch.allclose(l2_distance(x, y), ((x - y) ** 2).flatten(1).mean(1))
    assert l2_distance(x, x).abs().max() == 0


def test_pseudo_huber_formula_and_c_from_dimension():
    assert pseudo_huber_c((3, 32, 32)) == pytest.approx(0.00054 * math.sqrt(3072))
    assert pseudo_huber_c((1, 32, 32)) == pytest.approx(0.00054 * 32)  # ACT's fixed constant, for d = 1024
    x, y = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    c = 0.03
    want = torch.sqrt(((x - y) ** 2).flatten(1).sum(1) + c**2) - c
    assert torch.allclose(pseudo_huber_distance(x, y, c), want)
    assert torch.allclose(pseudo_huber_distance(x, x, c), torch.zeros(2))
    d = build_distance("pseudo_huber", (3, 4, 4))
    assert torch.allclose(d(x, y), pseudo_huber_distance(x, y, pseudo_huber_c((3, 4, 4))))


def test_unknown_distance():
    with pytest.raises(ConfigError, match="choose from"):
        build_distance("l3", (1, 4, 4))


def test_lpips_without_weights_names_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("ACT_VGG16_WEIGHTS", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(MissingInputError, match="vgg16-397923af.pth"):
        LPIPSDistance()


def test_lpips_with_local_weights(tmp_path, monkeypatch):
    """A random VGG-16 saved in torchvision's format loads and gives a working distance."""
    import torchvision

    vgg = torchvision.models.vgg16(weights=None)
    path = tmp_path / "vgg16-397923af.pth"
    torch.save(vgg.state_dict(), path)
    d = LPIPSDistance(str(path))
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    y = torch.rand(2, 1, 16, 16) * 2 - 1
    out = d(x, y)
    assert out.shape == (2,)
    assert torch.allclose(d(x, x), torch.zeros(2), atol=1e-6)
    assert bool((out > 0).all())

"""Boundary-condition parametrisation (docs/METHOD.md s.1)."""

import math

import pytest
import torch
from torch import nn

from act.parametrization import ConsistencyFunction, boundary_scalings, time_input


def test_scalings_formula():
    eps, sd = 0.002, 0.5
    s = torch.tensor([0.002, 0.1, 1.0, 80.0], dtype=torch.float64)
    c_skip, c_out, c_in = boundary_scalings(s)
    assert torch.allclose(c_skip, sd**2 / ((s - eps) ** 2 + sd**2))
    assert torch.allclose(c_out, (s - eps) * sd / torch.sqrt(s**2 + sd**2))
    assert torch.allclose(c_in, 1 / torch.sqrt(s**2 + sd**2))


def test_boundary_condition_exact():
    c_skip, c_out, _ = boundary_scalings(torch.tensor([0.002], dtype=torch.float64))
    assert c_skip.item() == 1.0 and c_out.item() == 0.0
    c_skip32, c_out32, _ = boundary_scalings(torch.tensor([0.002], dtype=torch.float32))
    assert c_skip32.item() == 1.0 and c_out32.item() == 0.0


class _Const(nn.Module):
    def forward(self, x, c_noise, labels=None):
        self.seen = c_noise
        return torch.full_like(x, 123.0)


@pytest.mark.parametrize("shape", [(4, 1, 8, 8), (5, 2)])
def test_wrapper_identity_at_eps_and_time_input(shape):
    f = ConsistencyFunction(_Const())
    x = torch.randn(shape)
    assert torch.equal(f(x, torch.full((shape[0],), 0.002)), x)
    out = f(x, torch.full((shape[0],), 1.0))
    assert not torch.allclose(out, x)
    assert torch.allclose(f.backbone.seen, torch.ones(shape[0]))  # raw sigma by default (official ACT)
    g = ConsistencyFunction(_Const(), time_input="log250")
    g(x, torch.full((shape[0],), 2.0))
    assert torch.allclose(g.backbone.seen, torch.full((shape[0],), 250 * math.log(2.0)))


def test_time_input_unknown():
    with pytest.raises(ValueError):
        time_input(torch.ones(1), "nope")
    with pytest.raises(ValueError):
        ConsistencyFunction(_Const(), time_input="nope")

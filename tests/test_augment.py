"""ACT-Aug: the ADA pipeline (act.augment.pipeline) and the p controller (act.augment.controller)."""

from __future__ import annotations

import math

import pytest
import torch

from act.augment import PIPELINES, AugmentController, ada_augment


def _images(b: int = 8, c: int = 3, h: int = 16, w: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g) * 2 - 1  # (B, C, H, W) in [-1, 1]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- the pipeline -------------------------------------------------------------


def test_identity_at_p0():
    x = _images().requires_grad_()
    y = ada_augment(x, 0.0, _gen(0))
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_generator_stream_does_not_depend_on_p():
    g0, g1 = _gen(3), _gen(3)
    ada_augment(_images(), 0.0, g0)
    ada_augment(_images(), 0.8, g1)
    assert torch.equal(torch.rand(5, generator=g0), torch.rand(5, generator=g1))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_shape_and_dtype_preserved(channels, dtype):
    x = _images(c=channels, h=12, w=20).to(dtype)
    y = ada_augment(x, 1.0, _gen(0))
    assert y.shape == x.shape and y.dtype == dtype
    assert torch.isfinite(y.float()).all()


def test_differentiable_at_p1():
    x = _images(b=4).requires_grad_()
    y = ada_augment(x, 1.0, _gen(1))
    (y * torch.randn(y.shape, generator=_gen(2))).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_same_seed_same_output_different_seed_different():
    x = _images()
    a = ada_augment(x, 0.6, _gen(7))
    b = ada_augment(x, 0.6, _gen(7))
    c = ada_augment(x, 0.6, _gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_xflip_only_flips_half_the_samples():
    x = _images(b=2000, c=1, h=4, w=4)
    y = ada_augment(x, 1.0, _gen(0), transforms={"xflip": 1.0})
    flipped = (y - x.flip(-1)).abs().amax(dim=(1, 2, 3)) < 1e-6
    kept = torch.equal(y[~flipped], x[~flipped])  # untouched samples keep their exact values
    assert kept
    assert 0.45 < flipped.float().mean().item() < 0.55  # Binomial(2000, 0.5): sd ~ 0.011


def test_blits_are_exact():
    x = _images(b=64, h=8, w=8)
    y = ada_augment(x, 1.0, _gen(0), transforms={"rotate90": 1.0})
    errs = torch.stack([(y - torch.rot90(x, k, (-2, -1))).abs().amax(dim=(1, 2, 3)) for k in range(4)], 1)
    assert errs.min(dim=1).values.max() < 1e-5
    assert (errs.argmin(dim=1).bincount(minlength=4) > 0).all()  # all four quarter turns occur


def test_probability_scales_the_number_of_augmented_samples():
    x = _images(b=2000, h=4, w=4)
    y = ada_augment(x, 0.3, _gen(0), transforms={"brightness": 1.0})
    changed = (y != x).flatten(1).any(dim=1).float().mean().item()
    assert abs(changed - 0.3) < 0.05


def test_output_range_sane():
    x = _images(b=64, h=16, w=16)
    # Geometric transforms only resample (bilinear, reflection): values stay in the input's range.
    y = ada_augment(x, 1.0, _gen(0), transforms="bg")
    assert y.min() >= x.min() - 1e-5 and y.max() <= x.max() + 1e-5
    # Colour transforms can leave [-1, 1] (ADA's contrast and saturation are lognormal), but rarely far.
    y = ada_augment(x, 1.0, _gen(0), transforms="bgc")
    assert torch.isfinite(y).all()
    assert (y.abs() > 3).float().mean() < 0.02


def test_grey_images_skip_rgb_only_transforms():
    x = _images(b=16, c=1)
    y = ada_augment(x, 1.0, _gen(0), transforms={"hue": 1.0, "saturation": 1.0})
    assert torch.equal(y, x)
    y = ada_augment(x, 1.0, _gen(0), transforms={"lumaflip": 1.0})  # ADA: a luma flip of grey is x -> -x
    for yi, xi in zip(y, x):
        assert torch.equal(yi, xi) or torch.allclose(yi, -xi, atol=1e-6)


def test_unknown_names_raise():
    with pytest.raises(ValueError):
        ada_augment(_images(), 0.5, transforms={"cutout": 1.0})
    with pytest.raises(ValueError):
        ada_augment(_images(), 0.5, transforms="bgcfnc")
    assert set(PIPELINES["bgc"]) == set(PIPELINES["bg"]) | set(PIPELINES["color"])


def test_bfloat16_autocast():
    x = _images(b=4).requires_grad_()
    conv = torch.nn.Conv2d(3, 4, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = ada_augment(x, 0.8, _gen(0))
        out = conv(y)
    assert y.dtype == torch.float32 and out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert torch.isfinite(x.grad).all()


# --- the controller -----------------------------------------------------------


def test_controller_rises_above_threshold_and_clips():
    ctl = AugmentController(threshold=1e4)
    assert ctl.p == 0.0 and ctl.ema == 1e4
    batch = 2 * 40 * 1  # 2B * devices
    step = batch * 16 / 500_000
    ctl.update(2e4, batch)
    assert ctl.ema == pytest.approx(0.93 * 1e4 + 0.07 * 2e4)
    assert ctl.p == pytest.approx(step)
    for _ in range(math.ceil(1 / step) + 10):
        ctl.update(2e4, batch)
    assert ctl.p == 1.0
    p = ctl.update(0.0, batch)
    while ctl.ema > ctl.threshold:  # the EMA lags: p stays clipped at 1 until the EMA crosses
        assert p == 1.0
        p = ctl.update(0.0, batch)
    assert p == pytest.approx(1.0 - step)
    for _ in range(math.ceil(1 / step) + 10):
        ctl.update(0.0, batch)
    assert ctl.p == 0.0


def test_controller_stays_at_zero_below_threshold():
    ctl = AugmentController(threshold=1e4)
    for _ in range(100):
        assert ctl.update(5e3, 80) == 0.0
    ctl.update(1e4, 80)  # EMA below the threshold still: equality or less counts as "below"
    assert ctl.p == 0.0


def test_controller_ada_sign_mode():
    ctl = AugmentController(mode="ada_sign", interval=4)
    ctl.update(0.9, 64)
    assert ctl.p == pytest.approx(64 * 4 / 500_000)
    ctl.update(0.6, 64)  # r_t on target: no change
    assert ctl.p == pytest.approx(64 * 4 / 500_000)
    ctl.update(0.1, 64)
    ctl.update(0.1, 64)
    assert ctl.p == 0.0
    with pytest.raises(ValueError):
        AugmentController(mode="r1_ema")  # needs a threshold
    with pytest.raises(ValueError):
        AugmentController(1e4, mode="ada")


def test_controller_state_dict_round_trip():
    a = AugmentController(threshold=1e4)
    values = torch.linspace(5e3, 3e4, 50, dtype=torch.float64).tolist()
    for v in values[:30]:
        a.update(v, 80)
    b = AugmentController(threshold=1e4)
    b.load_state_dict(a.state_dict())
    for v in values[30:]:
        assert a.update(v, 80) == b.update(v, 80)
    assert a.state_dict() == b.state_dict()
    with pytest.raises(ValueError):
        AugmentController(mode="ada_sign").load_state_dict(a.state_dict())

"""ACT-Aug: the ADA pipeline (act.augment.pipeline, act.augment.filters) and the p controller (act.augment.controller)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from act.augment import SYM6, PIPELINES, AugmentController, ada_augment, antialiased_warp, upfirdn2d


def _images(b: int = 8, c: int = 3, h: int = 16, w: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g) * 2 - 1  # (B, C, H, W) in [-1, 1]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- the pipeline -------------------------------------------------------------


def test_identity_at_p0_without_a_geometric_stage():
    x = _images().requires_grad_()
    y = ada_augment(x, 0.0, _gen(0), transforms="color")
    assert y is x  # no geometric transform enabled: nothing resamples (the filtered p = 0 case: below)
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_generator_stream_does_not_depend_on_p_or_transforms():
    g0, g1, g2 = _gen(3), _gen(3), _gen(3)
    ada_augment(_images(), 0.0, g0)
    ada_augment(_images(), 0.8, g1)
    ada_augment(_images(), 0.8, g2, transforms="color")
    ref = torch.rand(5, generator=g0)
    assert torch.equal(ref, torch.rand(5, generator=g1)) and torch.equal(ref, torch.rand(5, generator=g2))


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
    kept_err = (y - x).abs().amax(dim=(1, 2, 3))
    flipped = (y - x.flip(-1)).abs().amax(dim=(1, 2, 3)) < kept_err  # nearer the mirror image than the image
    assert kept_err[~flipped].max() < 1e-5  # untouched samples: the filtered copy, equal up to rounding
    assert 0.45 < flipped.float().mean().item() < 0.55  # Binomial(2000, 0.5): sd ~ 0.011


def test_probability_scales_the_number_of_augmented_samples():
    x = _images(b=2000, h=4, w=4)
    y = ada_augment(x, 0.3, _gen(0), transforms={"brightness": 1.0})
    changed = (y != x).flatten(1).any(dim=1).float().mean().item()
    assert abs(changed - 0.3) < 0.05


def test_output_range_sane():
    x = _images(b=64, h=16, w=16)
    # The sym6 filter has negative taps: the geometric stage rings past the range, even on white noise mildly.
    y = ada_augment(x, 1.0, _gen(0), transforms="bg")
    assert y.abs().max() < 1.75
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


# --- the official ACT code's sym6 resampling and quarter turns ------------------------------------


def test_sym6_is_an_orthonormal_scaling_filter():
    h = torch.tensor(SYM6, dtype=torch.float64)
    assert h.numel() == 12 and h.sum().item() == pytest.approx(math.sqrt(2), abs=1e-14)
    for k in range(6):  # sum_m h[m] h[m + 2k] = [k == 0]
        assert (h[: 12 - 2 * k] * h[2 * k :]).sum().item() == pytest.approx(float(k == 0), abs=1e-11)


def _reference_upfirdn(x, f, up, down, pad):
    """Zero insertion with a Kronecker product, zero pad / crop, conv2d with the flipped kernel, subsample."""
    (ux, uy), (dx, dy), (x0, x1, y0, y1) = up, down, pad
    spike = torch.zeros(uy, ux, dtype=x.dtype)
    spike[0, 0] = 1
    z = torch.kron(x, spike)  # (B, C, H * uy, W * ux)
    z = F.pad(z, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    z = z[..., max(-y0, 0) : z.shape[-2] - max(-y1, 0), max(-x0, 0) : z.shape[-1] - max(-x1, 0)]
    c = x.shape[1]
    out = F.conv2d(z, f.flip([0, 1]).repeat(c, 1, 1, 1), groups=c)
    return out[..., ::dy, ::dx]


@pytest.mark.parametrize(
    "up, down, pad",
    [((2, 2), (1, 1), (2, 1, 1, 2)), ((2, 1), (1, 1), (6, 5, 0, 0)), ((1, 1), (2, 2), (-1, 2, 0, -1)), ((3, 2), (2, 3), (1, -2, 3, 0))],
)
def test_upfirdn2d_matches_a_direct_reference(up, down, pad):
    g = _gen(4)
    x = torch.randn(2, 3, 7, 9, generator=g, dtype=torch.float64)
    f = torch.randn(3, 4, generator=g, dtype=torch.float64)  # asymmetric: catches a missing flip
    y = upfirdn2d(x, f, up=up, down=down, pad=pad)
    ref = _reference_upfirdn(x, f, up, down, pad)
    assert y.shape == ref.shape
    assert torch.allclose(y, ref, atol=1e-12)
    # A true convolution: a unit impulse, upsampled by 2 and padded by 11 in front, gives back the
    # filter from the impulse on, in order; the zero inserted after the impulse leaves no trace.
    impulse = torch.zeros(1, 1, 1, 8, dtype=torch.float64)
    impulse[..., 0] = 1
    row = upfirdn2d(impulse, torch.tensor(SYM6, dtype=torch.float64)[None, :], up=(2, 1), pad=(11, 0, 0, 0))
    assert row.shape == (1, 1, 1, 16)
    assert torch.equal(row[0, 0, 0, :12], torch.tensor(SYM6, dtype=torch.float64)) and not row[0, 0, 0, 12:].any()


def _checkerboard(b=2, c=3, n=16):
    i = torch.arange(n)
    return ((i[:, None] + i[None, :]) % 2 * 2 - 1).float().expand(b, c, n, n).contiguous()


def test_official_p0_filters_every_call_yet_returns_the_image():
    # The official code sends every image through pad -> 2x sym6 upsampling -> grid_sample ->
    # 2x downsampling, also at p = 0. sym6 is orthonormal at even shifts, so with an identity
    # matrix the chain reconstructs the image: only float rounding remains, even for a Nyquist
    # checkerboard (no visible low-pass). The old behaviour returned x itself.
    x = _images(h=16, w=16).requires_grad_()
    y = ada_augment(x, 0.0, _gen(0))
    eye = torch.eye(3, dtype=torch.float64).expand(x.shape[0], 3, 3)
    assert y is not x and not torch.equal(y, x)
    assert torch.equal(y, antialiased_warp(x, eye))  # the whole batch went through the filter
    assert torch.equal(y, ada_augment(x, 0.0, _gen(0))) and torch.equal(y, ada_augment(x, 0.0, _gen(1)))  # deterministic
    assert (y - x).abs().max() < 1e-5
    y.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x), atol=1e-4) and not torch.equal(x.grad, torch.ones_like(x))
    cb = _checkerboard()
    assert (ada_augment(cb, 0.0, _gen(0)) - cb).abs().max() < 1e-5
    xd = _images(h=12, w=10).double()
    assert (ada_augment(xd, 0.0, _gen(0)) - xd).abs().max() < 1e-10  # exact up to the listed digits
    # No geometric transform enabled: nothing to resample (ADA's rule), p = 0 gives x itself.
    assert ada_augment(x, 0.0, _gen(0), transforms="color") is x


def test_official_quarter_turns_are_0_or_270_degrees():
    # Official ACT draws category_sample(size, (0, 3)): torch.rot90 k = 0 or 3 only.
    x = _images(b=256, h=8, w=8)
    y = ada_augment(x, 1.0, _gen(0), transforms={"rotate90": 1.0})
    errs = torch.stack([(y - torch.rot90(x, k, (-2, -1))).abs().mean(dim=(1, 2, 3)) for k in range(4)], 1)
    best = errs.argmin(dim=1)
    counts = best.bincount(minlength=4)
    assert counts[1] == 0 and counts[2] == 0
    assert 100 < counts[0] < 156 and counts[0] + counts[3] == 256  # Binomial(256, 1/2)
    assert errs.min(dim=1).values.max() < 0.15  # filtered, but clearly that rotation (others ~0.67)
    assert errs[best == 0, 0].max() < 1e-5  # k = 0 still passes through the filter unchanged


def test_official_blits_are_filtered_not_exact():
    # Under the official path a flip is a flip of the 2x sym6 image: close, not exact (sym6 is not symmetric).
    x = _images(b=64, h=16, w=16)
    y = ada_augment(x, 1.0, _gen(0), transforms={"xflip": 1.0})
    err_flip = (y - x.flip(-1)).abs().amax(dim=(1, 2, 3))
    err_keep = (y - x).abs().amax(dim=(1, 2, 3))
    flipped = err_flip < err_keep
    assert 16 < int(flipped.sum()) < 48
    assert (err_flip[flipped] > 1e-2).all() and (err_flip[flipped] < 0.5).all()
    assert (err_keep[~flipped] < 1e-5).all()


# Outputs of the official ACT code (kong13661/ACT @ 94e0853, augmentation.py, random_apply_affine(x, 1.0, G))
# on _images(4, 3, 12, 10, seed=3) with the four matrices of _official_matrices(): per sample and channel,
# the pixel sum and the sum weighted by _projection_weights().
OFFICIAL_PROJECTIONS = [
    [[-10.8925011, -2.9068473], [7.1768889, -8.0834106], [-5.6684175, 6.1324083]],
    [[-6.4283153, 2.8573099], [-3.6025364, 2.6739633], [1.7702334, -3.7102982]],
    [[-2.9185114, 2.3677066], [7.8672824, 0.2703212], [-1.0341611, 11.869538]],
    [[2.4973742, 4.4250294], [-8.6430514, -2.3511665], [6.8217974, 9.0875775]],
]


def _official_matrices() -> torch.Tensor:
    """Output pixel -> input pixel: identity, x-flip, quarter turn k = 3, rotation @ aniso scale @ translation."""

    def rot(t):
        c, s = math.cos(t), math.sin(t)
        return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)

    def diag(a, b):
        return torch.diag(torch.tensor([a, b, 1.0], dtype=torch.float64))

    shift = torch.eye(3, dtype=torch.float64)
    shift[0, 2], shift[1, 2] = 0.7, -1.3
    return torch.stack([torch.eye(3, dtype=torch.float64), diag(-1, 1), rot(3 * math.pi / 2), rot(0.3) @ diag(1 / 1.2, 1.1) @ shift])


def _projection_weights(shape) -> torch.Tensor:
    return torch.randn(shape, generator=_gen(99), dtype=torch.float64)


def _projections(y: torch.Tensor) -> torch.Tensor:
    y = y.double()
    return torch.stack([y.sum(dim=(2, 3)), (y * _projection_weights(y.shape[1:])).sum(dim=(2, 3))], -1)


def test_antialiased_warp_matches_the_official_code():
    x = _images(4, 3, 12, 10, seed=3)
    y = antialiased_warp(x, _official_matrices())
    assert y.shape == x.shape
    assert torch.allclose(_projections(y), torch.tensor(OFFICIAL_PROJECTIONS, dtype=torch.float64), atol=1e-4)
    # The filtered flip is not the exact one: the filter shows.
    assert not torch.allclose(_projections(y[1:2]), _projections(x[1:2].flip(-1)), atol=1e-2)


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

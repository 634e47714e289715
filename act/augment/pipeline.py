"""Differentiable ADA augmentation in pure PyTorch (the ``bgc`` pipeline).

Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"
(ADA), Sec. 2.3 and Appendix B: pixel blitting (x-flip, 90-degree rotation,
integer translation), general geometric transforms (isotropic scaling, rotation,
anisotropic scaling, fractional translation) and colour transforms (brightness,
contrast, luma flip, hue rotation, saturation). Each transform is applied to each
sample independently with probability ``p * multiplier``; the two rotations of
the geometric group each use ``1 - sqrt(1 - p * multiplier)`` so that *some*
rotation happens with probability ``p * multiplier``. ACT (Kong et al. 2024,
Sec. 3.3, "ACT-Aug") applies this to reals and fakes alike.

The geometric stage follows the official ACT ``augmentation.py`` (``augment``,
  ``random_apply_affine``, ``sample_affine``; rosinality's ``non_leaking.py``): every
  call resamples the whole batch through reflect padding, 2x upsampling with the sym6
  wavelet filter, a bilinear ``grid_sample`` and 2x downsampling
  (``act.augment.filters.antialiased_warp``), at ``p == 0`` too and for samples no
  transform was drawn for; only when the pipeline enables no geometric transform at all
  is the stage skipped (ADA's rule; the official code always uses ``bgc``). An untouched
  image comes back equal to the input up to float rounding (~1e-6; sym6 is orthonormal),
  but flips and quarter turns are filtered, not exact. Quarter turns draw from {0, 3}
  (``torch.rot90`` k = 0 or 3), as the official ``category_sample(size, (0, 3))``. All
  geometric transforms, blits included, form one 3x3 matrix per sample (output pixel ->
  input pixel, origin at the image centre, as in ADA).

Also:
- Colour transforms form one 4x4 matrix per sample acting on (R, G, B, 1) with the
  images in [-1, 1], so the luma axis ``(1, 1, 1) / sqrt(3)`` passes through
  mid-grey. For 1-channel images hue rotation and saturation are skipped (they need
  RGB) and the matrix is reduced to the grey axis as in ADA, so brightness and
  contrast apply unchanged and the luma flip becomes a negation ``x -> -x`` (ADA
  keeps it for grey images; drop ``lumaflip`` from ``transforms`` to skip it).
- Samples for which no colour transform was drawn are passed through that group
  untouched (``torch.where``; the official code multiplies them by the identity, the
  same values).
- Gradients flow to the images (the matrices are constants). ACT needs only
  first-order gradients through the augmentation: R1 is taken w.r.t. the
  *augmented* real image, so no double backward passes through the warp.

Randomness: every random number comes from ``generator`` (a CPU
``torch.Generator``; the global CPU generator when ``None``) and is moved to the
images' device afterwards, so a seed gives the same augmentation on any device.
The same fixed set of numbers is drawn on every call, whatever ``p``
and whichever transforms are enabled, so a transform's parameters for a given seed
do not depend on the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from act.augment.filters import antialiased_warp

GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
TRANSFORMS = GEOMETRIC + COLOR
RGB_ONLY = ("hue", "saturation")  # skipped for 1-channel images (ADA does the same)
# Quarter turns (torch.rot90 k) a selected rotate90 draws from, uniformly: the official code's 0 or 270 degrees.
QUARTER_TURNS = (0, 3)

# ADA's augpipe_specs; every multiplier is 1 in ADA and in the official ACT code.
PIPELINES: dict[str, dict[str, float]] = {
    "blit": dict(xflip=1.0, rotate90=1.0, xint=1.0),
    "geom": dict(scale=1.0, rotate=1.0, aniso=1.0, xfrac=1.0),
    "color": dict(brightness=1.0, contrast=1.0, lumaflip=1.0, hue=1.0, saturation=1.0),
}
PIPELINES["bg"] = {**PIPELINES["blit"], **PIPELINES["geom"]}
PIPELINES["bgc"] = {**PIPELINES["bg"], **PIPELINES["color"]}


@dataclass(frozen=True)
class AugmentStrengths:
    """Transform strengths; the defaults are ADA's (also those of the official ACT code)."""

    xint_max: float = 0.125  # integer translation: uniform in +-xint_max * image size, rounded
    scale_std: float = 0.2  # isotropic scaling: lognormal, std in log2 units
    rotate_max: float = 1.0  # rotation: uniform in +-rotate_max * pi
    aniso_std: float = 0.2  # anisotropic scaling: lognormal, std in log2 units
    xfrac_std: float = 0.125  # fractional translation: normal, std as a fraction of image size
    brightness_std: float = 0.2  # brightness: additive normal offset, images in [-1, 1]
    contrast_std: float = 0.5  # contrast: lognormal, std in log2 units
    hue_max: float = 1.0  # hue rotation about the luma axis: uniform in +-hue_max * pi
    saturation_std: float = 1.0  # saturation: lognormal, std in log2 units


def resolve_transforms(transforms: str | Mapping[str, float]) -> dict[str, float]:
    """Probability multipliers per transform from a pipeline name or a ``{name: multiplier}`` mapping."""
    if isinstance(transforms, str):
        if transforms not in PIPELINES:
            raise ValueError(f"unknown augmentation pipeline {transforms!r}; choose from {sorted(PIPELINES)}")
        return dict(PIPELINES[transforms])
    unknown = set(transforms) - set(TRANSFORMS)
    if unknown:
        raise ValueError(f"unknown augmentation transforms {sorted(unknown)}; choose from {TRANSFORMS}")
    if any(m < 0 for m in transforms.values()):
        raise ValueError(f"probability multipliers must be non-negative, got {dict(transforms)}")
    return dict(transforms)


# 3x3 homogeneous 2-D matrices and 4x4 homogeneous colour matrices, batched (B, n, n), float64.


def _eye(b: int, n: int) -> torch.Tensor:
    return torch.eye(n, dtype=torch.float64).expand(b, n, n).clone()


def _translate2d(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = _eye(tx.shape[0], 3)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _scale2d(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    m = _eye(sx.shape[0], 3)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate2d(theta: torch.Tensor) -> torch.Tensor:
    m = _eye(theta.shape[0], 3)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


def _translate3d(t: torch.Tensor) -> torch.Tensor:
    m = _eye(t.shape[0], 4)
    m[:, :3, 3] = t[:, None]
    return m


def _scale3d(s: torch.Tensor) -> torch.Tensor:
    m = _eye(s.shape[0], 4)
    m[:, 0, 0] = m[:, 1, 1] = m[:, 2, 2] = s
    return m


def _luma_axis() -> torch.Tensor:
    return torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64) / math.sqrt(3)


def _rotate3d(v: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Rotation by ``theta`` about the unit axis ``v[:3]`` (Rodrigues), homogeneous 4x4."""
    vx, vy, vz = v[0], v[1], v[2]
    k = torch.tensor([[0.0, -vz, vy], [vz, 0.0, -vx], [-vy, vx, 0.0]], dtype=torch.float64)
    vv = torch.outer(v[:3], v[:3])
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    m = _eye(theta.shape[0], 4)
    m[:, :3, :3] = c * torch.eye(3, dtype=torch.float64) + s * k + (1 - c) * vv
    return m


def _select(mask: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
    """``mat`` where ``mask`` (B,) is set, the exact identity elsewhere."""
    eye = _eye(mat.shape[0], mat.shape[1])
    return torch.where(mask[:, None, None], mat, eye)


def _draw(b: int, generator: torch.Generator | None) -> dict[str, torch.Tensor]:
    """All random numbers of one call, in a fixed order: (B,) or (B, 2) float64 on the CPU."""
    kw = dict(generator=generator, dtype=torch.float64)
    names = [f"u_{t}" for t in TRANSFORMS] + ["u_rotate_post"]  # selection uniforms
    d = {n: torch.rand(b, **kw) for n in names}
    d["xflip"] = torch.randint(0, 2, (b,), generator=generator).to(torch.float64)
    d["rotate90"] = torch.randint(0, 4, (b,), generator=generator).to(torch.float64)
    d["xint"] = torch.rand(b, 2, **kw) * 2 - 1
    d["scale"] = torch.randn(b, **kw)
    d["rotate"] = torch.rand(b, **kw) * 2 - 1
    d["aniso"] = torch.randn(b, **kw)
    d["rotate_post"] = torch.rand(b, **kw) * 2 - 1
    d["xfrac"] = torch.randn(b, 2, **kw)
    d["brightness"] = torch.randn(b, **kw)
    d["contrast"] = torch.randn(b, **kw)
    d["lumaflip"] = torch.randint(0, 2, (b,), generator=generator).to(torch.float64)
    d["hue"] = torch.rand(b, **kw) * 2 - 1
    d["saturation"] = torch.randn(b, **kw)
    return d


def sample_geometric(
    p: float, mult: Mapping[str, float], r: Mapping[str, torch.Tensor], height: int, width: int,
    s: AugmentStrengths,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse geometric matrices (B, 3, 3), output pixel -> input pixel, and which samples a transform was drawn
    for (B,). The quarter turn (``QUARTER_TURNS``) is picked from the one 4-way draw ``r["rotate90"]``."""
    b = r["scale"].shape[0]
    g_inv = _eye(b, 3)
    active = torch.zeros(b, dtype=torch.bool)

    def chosen(name: str, prob: float, key: str | None = None) -> torch.Tensor:
        return r[f"u_{key or name}"] < prob if mult.get(name, 0.0) > 0 else torch.zeros(b, dtype=torch.bool)

    def compose(mask: torch.Tensor, inv: torch.Tensor) -> None:
        nonlocal g_inv, active
        g_inv = g_inv @ _select(mask, inv)
        active = active | mask

    one = torch.ones(b, dtype=torch.float64)
    compose(chosen("xflip", p * mult.get("xflip", 0.0)), _scale2d(1 - 2 * r["xflip"], one))
    turns = torch.tensor(QUARTER_TURNS, dtype=torch.float64)[(r["rotate90"] * len(QUARTER_TURNS) / 4).long()]
    compose(chosen("rotate90", p * mult.get("rotate90", 0.0)), _rotate2d(math.pi / 2 * turns))
    t = torch.round(r["xint"] * s.xint_max * torch.tensor([width, height], dtype=torch.float64))
    compose(chosen("xint", p * mult.get("xint", 0.0)), _translate2d(-t[:, 0], -t[:, 1]))
    k = torch.exp2(r["scale"] * s.scale_std)
    compose(chosen("scale", p * mult.get("scale", 0.0)), _scale2d(1 / k, 1 / k))
    # Two rotations (before and after the anisotropic scaling); either fires with
    # probability p_rot, so at least one fires with probability p * multiplier.
    p_rot = 1 - math.sqrt(min(max(1 - p * mult.get("rotate", 0.0), 0.0), 1.0))
    compose(chosen("rotate", p_rot), _rotate2d(r["rotate"] * math.pi * s.rotate_max))
    k = torch.exp2(r["aniso"] * s.aniso_std)
    compose(chosen("aniso", p * mult.get("aniso", 0.0)), _scale2d(1 / k, k))
    compose(chosen("rotate", p_rot, "rotate_post"), _rotate2d(r["rotate_post"] * math.pi * s.rotate_max))
    t = r["xfrac"] * s.xfrac_std * torch.tensor([width, height], dtype=torch.float64)
    compose(chosen("xfrac", p * mult.get("xfrac", 0.0)), _translate2d(-t[:, 0], -t[:, 1]))
    return g_inv, active


def sample_color(
    p: float, mult: Mapping[str, float], r: Mapping[str, torch.Tensor], channels: int, s: AugmentStrengths,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour matrices (B, 4, 4) acting on (R, G, B, 1), and which samples changed (B,)."""
    b = r["brightness"].shape[0]
    c_mat = _eye(b, 4)
    active = torch.zeros(b, dtype=torch.bool)
    v = _luma_axis()
    vv = torch.outer(v, v)

    def apply(name: str, mat: torch.Tensor) -> None:
        nonlocal c_mat, active
        if mult.get(name, 0.0) <= 0 or (channels == 1 and name in RGB_ONLY):
            return
        mask = r[f"u_{name}"] < p * mult[name]
        c_mat = _select(mask, mat) @ c_mat
        active = active | mask

    apply("brightness", _translate3d(r["brightness"] * s.brightness_std))
    apply("contrast", _scale3d(torch.exp2(r["contrast"] * s.contrast_std)))
    apply("lumaflip", torch.eye(4, dtype=torch.float64) - 2 * vv * r["lumaflip"][:, None, None])  # Householder
    apply("hue", _rotate3d(v, r["hue"] * math.pi * s.hue_max))
    k = torch.exp2(r["saturation"] * s.saturation_std)[:, None, None]
    apply("saturation", vv + (torch.eye(4, dtype=torch.float64) - vv) * k)
    return c_mat, active


def _recolor(x: torch.Tensor, c_mat: torch.Tensor) -> torch.Tensor:
    b, ch, h, w = x.shape
    c_mat = c_mat.to(device=x.device, dtype=x.dtype)
    if ch == 3:
        out = torch.einsum("bij,bjn->bin", c_mat[:, :3, :3], x.reshape(b, 3, h * w)) + c_mat[:, :3, 3:]
        return out.reshape(b, ch, h, w)
    elif ch == 1:
        # Grey = equal RGB: each output channel's gain is its row sum; take the mean over channels (ADA).
        grey = c_mat[:, :3, :].mean(dim=1)  # (B, 4)
        return x * grey[:, :3].sum(dim=1).view(b, 1, 1, 1) + grey[:, 3].view(b, 1, 1, 1)
    else:
        raise ValueError(f"colour transforms need 1 or 3 channels, got {ch}")


def ada_augment(
    x: torch.Tensor,
    p: float,
    generator: torch.Generator | None = None,
    *,
    transforms: str | Mapping[str, float] = "bgc",
    strengths: AugmentStrengths = AugmentStrengths(),
) -> torch.Tensor:
    """ADA augmentation (Karras et al. 2020) of images ``x`` (B, C, H, W) in [-1, 1] with probability ``p``.

    ``transforms`` is a pipeline name from ``PIPELINES`` (default ``"bgc"``) or a
    ``{transform: probability multiplier}`` mapping (e.g. ``{"xflip": 1.0}``).
    The geometric stage resamples through the sym6 filter on every call and draws quarter
    turns from {0, 3}, as the official ACT code (module docstring). Differentiable w.r.t.
    ``x``; returns a tensor of ``x``'s shape and dtype. At ``p == 0`` it returns the
    filtered copy of ``x`` (equal up to float rounding), or ``x`` itself when no geometric
    transform is enabled. Reals and
    fakes are augmented by separate calls (independent draws), as in ADA.
    """
    if x.ndim != 4:
        raise ValueError(f"expected images (B, C, H, W), got shape {tuple(x.shape)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"augmentation probability must lie in [0, 1], got {p}")
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"pass a CPU torch.Generator (device-neutral draws), got one on {generator.device}")
    b, ch, h, w = x.shape
    mult = resolve_transforms(transforms)
    if ch not in (1, 3) and any(mult.get(t, 0.0) > 0 for t in COLOR):
        raise ValueError(f"colour transforms need 1 or 3 channels, got {ch}")
    r = _draw(b, generator)  # drawn even at p == 0 so the generator's stream does not depend on p
    # The official code always runs its filtered geometric stage (ADA: whenever a geometric
    # transform is enabled), for the samples no transform was selected for too.
    always_warp = any(mult.get(t, 0.0) > 0 for t in GEOMETRIC)
    if p == 0.0 and not always_warp:
        return x

    g_inv, _ = sample_geometric(p, mult, r, h, w, strengths)
    c_mat, color_on = sample_color(p, mult, r, ch, strengths)
    # Work in at least float32 with autocast off: grid_sample and the colour matmul
    # must not run in reduced precision, and the output keeps x's dtype.
    work = torch.promote_types(x.dtype, torch.float32)
    with torch.autocast(device_type=x.device.type, enabled=False):
        y = x.to(work)
        if always_warp:
            y = antialiased_warp(y, g_inv)
        if bool(color_on.any()):
            mask = color_on.to(x.device).view(b, 1, 1, 1)
            y = torch.where(mask, _recolor(y, c_mat), y)
    return y.to(x.dtype)

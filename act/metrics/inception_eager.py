"""The FID network run as an eager module: torch-fidelity's Inception-v3 holding the TorchScript's tensors.

The TorchScript pool3 network (``act.metrics.inception``) computes every conv unit as
``conv2d(x, weight.to(x.dtype))`` -> ``batch_norm`` -> ``relu``: the cast depends on the input, so
``torch.jit.freeze`` can fold nothing, and 94 batch norms and casts run on every image. torch-fidelity
ships an independent eager definition of the same TF graph, ``FeatureExtractorInceptionV3``, which
loads its weights from a file (``feature_extractor_weights_path``). Given the TorchScript file's own
tensors it computes the same pool3 features: everything before the last pool bit for bit, pool3 to
float32 rounding (``tests/test_fid_crosscheck.py``). As an eager module its batch norms fold into the
convolutions (``torch.nn.utils.fusion.fuse_conv_bn_eval``) and it runs channels-last, where oneDNN's
convolutions are fastest on CPUs; folding changes the features by float32 rounding only.

The mapping below names, for each of torch-fidelity's 94 ``BasicConv2d`` units, the TorchScript
module whose ``weight``, ``beta``, ``mean`` and ``var`` it takes (the TF graph's batch norm has no
scale: ``bn.weight`` is 1). The fc layer (logits) is not part of the TorchScript and stays zero:
this network serves pool3 only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Dict, List

import torch
from torch import nn

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
POOL3_END = "AvgPool"  # torch-fidelity's last child before the flatten that gives pool3 (fc follows)


def conv_mapping() -> Dict[str, str]:
    """torch-fidelity BasicConv2d path -> TorchScript conv+BN module path (both relative to the top)."""
    out = dict(STEM)
    for i, (block, kind) in enumerate(zip(MIXED, BLOCK_TYPES, strict=True)):
        ts_block = "mixed" + (f"_{i}" if i else "")
        out.update({f"{block}.{b}": f"{ts_block}.{t}" for b, t in BRANCHES[kind].items()})
    return out


def torchscript_tensors(net: torch.jit.ScriptModule) -> Dict[str, torch.Tensor]:
    """The TorchScript network's tensors, keys relative to net.layers."""
    sd = net.state_dict()
    if not all(k.startswith("net.layers.") for k in sd):
        raise ValueError("not the FID Inception TorchScript: its tensors are not under net.layers")
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


def fidelity_extractor(sd: Dict[str, torch.Tensor], path: Path) -> nn.Module:
    """torch-fidelity's Inception loading ``sd`` through its own weights-file argument (strict load)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    torch.save(sd, path)
    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))


def fold_batch_norms(net: nn.Module) -> nn.Module:
    """Each BasicConv2d's batch norm folded into its convolution (eval mode), in place."""
    from torch_fidelity.feature_extractor_inceptionv3 import BasicConv2d
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for unit in net.modules():
        if isinstance(unit, BasicConv2d) and isinstance(unit.bn, nn.BatchNorm2d):
            unit.conv, unit.bn = fuse_conv_bn_eval(unit.conv, unit.bn), nn.Identity()
    return net


class EagerPool3(nn.Module):
    """float32 (B, 3, 299, 299) already scaled to [-1, 1) -> pool3 (B, 2048), like the TorchScript's ``net``."""

    def __init__(self, torchscript: torch.jit.ScriptModule, fold: bool = True, channels_last: bool = True) -> None:
        super().__init__()
        with tempfile.TemporaryDirectory() as tmp:
            fid = fidelity_extractor(fidelity_state_dict(torchscript_tensors(torchscript), conv_mapping()),
                                     Path(tmp) / "inception-from-default_1.pth")
        names = [name for name, _ in fid.named_children()]
        self.blocks = nn.Sequential(*(getattr(fid, n) for n in names[:names.index(POOL3_END) + 1]))
        if fold:
            fold_batch_norms(self.blocks)
        self.channels_last = channels_last
        if channels_last:
            self.blocks.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return torch.flatten(self.blocks(x), 1)

"""act import-official: official ACT Lightning checkpoints (kong13661/ACT) -> act-bench checkpoints.

No released checkpoint is available offline, so the files here are synthetic ones in the official
layout, written from the official code's structure as read (not copied): the Lightning module
``TrainingStep`` of train_cifar10.py / train_imagenet64.py / lsun_cat_256.py holds ``model`` and
``model_ema`` (ConsistencyWrapper: ``.unet`` a diffusers UNet2DModel, ``._discriminator``),
``fid`` and ``distance_loss``; Lightning saves ``{"state_dict": module.state_dict(), "epoch",
"global_step", "pytorch-lightning_version", "loops", "callbacks", "optimizer_states", ...}``.
The renames below are this file's own inverse of act.official's mapping.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from act.checkpoint import NETWORKS, load_networks
from act.networks import build_discriminator, build_generator
from act.official import RELEASED, SPECS, convert_state_dict, detect_preset, import_official, with_overrides

# project network -> official prefix, and the project's own inner prefix; the discriminator's renames
OFFICIAL_PREFIX = {"generator": "model.unet.", "target": "model_ema.unet.", "discriminator": "model._discriminator."}
PROJECT_INNER = {"generator": "backbone.unet.", "target": "backbone.unet.", "discriminator": ""}
DISC_TO_OFFICIAL = {"time_embedding.mlp.": "time_embedding.", "norm_out.": "conv_norm_out."}
SIGMA_MIN, SIGMA_DATA = 0.002, 0.5


def official_key(net: str, key: str) -> str:
    inner = key[len(PROJECT_INNER[net]):]
    if net == "discriminator":
        for a, b in DISC_TO_OFFICIAL.items():
            if inner.startswith(a):
                inner = b + inner[len(a):]
    return OFFICIAL_PREFIX[net] + inner


# ----- the official definitions, as read from the official code -------------------------------------------------
def official_unet(**kwargs: Any) -> nn.Module:
    """models/unet.py is diffusers' UNet2DModel (same attributes, same keys) plus the 6-channel slice below."""
    from diffusers import UNet2DModel

    return UNet2DModel(**kwargs)


def official_generator_forward(unet: nn.Module, xt: torch.Tensor, t: torch.Tensor, labels=None) -> torch.Tensor:
    """models/consistency_wrapper.py forward, t_rescale=False: the UNet sees raw sigma; 6 channels keep the last 3."""
    s = t[:, None, None, None]
    c_skip = SIGMA_DATA**2 / ((s - SIGMA_MIN) ** 2 + SIGMA_DATA**2)
    c_out = (s - SIGMA_MIN) * SIGMA_DATA / (s**2 + SIGMA_DATA**2) ** 0.5
    c_in = 1 / (s**2 + SIGMA_DATA**2) ** 0.5
    out = unet(c_in * xt, t, labels).sample
    if unet.config.out_channels == 6:
        out = out[:, 3:]
    return c_out * out + c_skip * xt


class OfficialDiscriminator(nn.Module):
    """models/discriminator_*.py: attribute names and call order (CIFAR-10 with conv_norm_out, ImageNet/LSUN without;
    to_logit_fx built and never called)."""

    def __init__(self, in_channels: int, widths: Sequence[int], layers: int, down: Sequence[str], groups: int = 32,
                 head_dim: Optional[int] = 8, classes: Optional[int] = None, flip: bool = True, shift: int = 0,
                 final_norm: bool = True) -> None:
        super().__init__()
        from diffusers.models.embeddings import TimestepEmbedding, Timesteps
        from diffusers.models.unets.unet_2d_blocks import UNetMidBlock2D, get_down_block

        emb = 4 * widths[0]
        self.conv_in = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.to_logit = nn.Linear(4 * widths[-1], 1)
        self.to_logit_fx = nn.Linear(4 * widths[-1], 1)
        self.time_proj = Timesteps(widths[0], flip, shift)
        self.time_embedding = TimestepEmbedding(widths[0], emb)
        self.class_embedding = nn.Embedding(classes, emb) if classes else None
        self.down_blocks = nn.ModuleList(
            get_down_block(kind, num_layers=layers, in_channels=widths[max(i - 1, 0)], out_channels=w, temb_channels=emb,
                           add_downsample=i < len(widths) - 1, resnet_eps=1e-5, resnet_act_fn="silu", resnet_groups=groups,
                           attention_head_dim=head_dim or w, downsample_padding=1)
            for i, (kind, w) in enumerate(zip(down, widths)))
        self.mid_block = UNetMidBlock2D(in_channels=widths[-1], temb_channels=emb, resnet_eps=1e-5, resnet_act_fn="silu",
                                        output_scale_factor=1, attention_head_dim=head_dim or widths[-1], resnet_groups=groups)
        self.conv_norm_out = nn.GroupNorm(groups, widths[-1], eps=1e-5) if final_norm else None

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels=None) -> torch.Tensor:
        emb = self.time_embedding(self.time_proj(t * torch.ones(x.shape[0])).to(x.dtype))
        if self.class_embedding is not None:
            emb = emb + self.class_embedding(labels)
        h = self.conv_in(x)
        for block in self.down_blocks:
            h, _ = block(hidden_states=h, temb=emb)
        h = self.mid_block(h, emb)
        if self.conv_norm_out is not None:
            h = self.conv_norm_out(h)
        h = F.adaptive_avg_pool2d(F.silu(h), (2, 2)).flatten(1)
        return self.to_logit(h).squeeze()


# ----- tiny-sized variants of the three official configurations -------------------------------------------------
_TINY_G = dict(sample_size=32, in_channels=3, layers_per_block=1, block_out_channels=(32, 64, 64), norm_num_groups=8)
_TINY_D = dict(in_channels=3, widths=(32, 64, 64), layers=1, groups=8)
VARIANTS: Dict[str, Dict[str, Any]] = {
    "cifar10_like": dict(  # 6 output channels, last 3 used; attention at 16 px; D normalises before its head
        g={"in_channels": 3, "spare_out_channels": 3, "attention_resolutions": (16,)},
        d={"in_channels": 3, "attention_resolutions": (16,), "final_norm": True}, classes=0,
        official_g=dict(_TINY_G, out_channels=6, down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
                        up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D")),
        official_d=dict(_TINY_D, down=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D"), final_norm=True),
        ema_discriminator=True),
    "imagenet64_like": dict(  # class-conditional G and D, head dim 16, no final norm in D; compiled fid/loss
        g={"in_channels": 3, "num_class_embeds": 10, "attention_head_dim": 16},
        d={"in_channels": 3, "num_class_embeds": 10, "attention_head_dim": 16, "final_norm": False}, classes=10,
        official_g=dict(_TINY_G, out_channels=3, down_block_types=("DownBlock2D",) * 3, up_block_types=("UpBlock2D",) * 3,
                        attention_head_dim=16, num_class_embeds=10),
        official_d=dict(_TINY_D, down=("DownBlock2D",) * 3, head_dim=16, classes=10, final_norm=False), compiled=True),
    "lsun256_like": dict(  # one attention head per layer, [sin, cos] embedding shifted by 1
        g={"in_channels": 3, "attention_head_dim": None, "flip_sin_to_cos": False, "freq_shift": 1},
        d={"in_channels": 3, "attention_head_dim": None, "flip_sin_to_cos": False, "freq_shift": 1, "final_norm": False},
        classes=0,
        official_g=dict(_TINY_G, out_channels=3, down_block_types=("DownBlock2D",) * 3, up_block_types=("UpBlock2D",) * 3,
                        attention_head_dim=None, flip_sin_to_cos=False, freq_shift=1),
        official_d=dict(_TINY_D, down=("DownBlock2D",) * 3, head_dim=None, flip=False, shift=1, final_norm=False),
        compiled_unet=True),  # unet_compile=True: torch.compile's _orig_mod. inside both UNets
}


def perturbed(net: nn.Module, seed: int) -> nn.Module:
    """Every tensor distinct (GroupNorm's ones and zeros too), so a swapped key shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in net.state_dict().values():
            t.add_(0.02 * torch.randn(t.shape, generator=g))
    return net.eval()


def lightning_file(path: Path, state_dict: Dict[str, torch.Tensor], global_step: int = 2468, **extra: Any) -> Path:
    """A checkpoint dict as Lightning 2.1 writes it (manual optimisation, two optimisers)."""
    opt = torch.optim.RAdam([nn.Parameter(torch.zeros(2))], lr=1e-4, betas=(0.0, 0.99)).state_dict()
    sched = {"base_lrs": [1e-4], "last_epoch": global_step // 2, "_step_count": global_step // 2 + 1, "lr_lambdas": [None]}
    torch.save({"epoch": 7, "global_step": global_step, "pytorch-lightning_version": "2.1.2", "state_dict": state_dict,
                "loops": {"fit_loop": {"epoch_progress": {"total": {"ready": 8, "completed": 7}}}},
                "callbacks": {"ModelCheckpoint{'monitor': None}": {"dirpath": "/ckpt", "kth_value": torch.tensor(float("inf"))}},
                "optimizer_states": [opt, opt], "lr_schedulers": [sched, sched], **extra}, path)
    return path


def auxiliary(compiled: bool) -> Dict[str, torch.Tensor]:
    """Stand-ins for the FID Inception and the LPIPS VGG the module also holds (their names only matter by prefix)."""
    c = "_orig_mod." if compiled else ""
    out = {f"fid.{c}inception.Conv2d_1a_3x3.conv.weight": torch.randn(32, 3, 3, 3),
           f"fid.{c}inception.Conv2d_1a_3x3.bn.running_mean": torch.zeros(32),
           f"distance_loss.{c}lpips.model.0.weight": torch.randn(64, 3, 3, 3)}
    if compiled:
        out["fid._orig_mod.real_mu"] = torch.zeros(1, 2048, dtype=torch.float64)
    return out


class Synthetic:
    """One variant: the project's networks (the originals), their official-layout file, its import."""

    def __init__(self, name: str, root: Path) -> None:
        v = self.v = VARIANTS[name]
        self.spec = with_overrides("tiny", generator_overrides=v["g"], discriminator_overrides=v["d"],
                                   data_shape=(3, 32, 32), num_classes=v["classes"])
        self.nets = {"generator": perturbed(build_generator("tiny", **v["g"]), 1),
                     "target": perturbed(build_generator("tiny", **v["g"]), 2),
                     "discriminator": perturbed(build_discriminator("tiny", **v["d"]), 3)}
        sd = {official_key(n, k): t.clone() for n, net in self.nets.items() for k, t in net.state_dict().items()}
        width = v["official_d"]["widths"][-1]
        sd["model._discriminator.to_logit_fx.weight"] = torch.randn(1, 4 * width)
        sd["model._discriminator.to_logit_fx.bias"] = torch.randn(1)
        if v.get("ema_discriminator"):  # train_cifar10.py keeps model_ema._discriminator
            sd.update({k.replace("model.", "model_ema.", 1): t.clone() for k, t in sd.items() if k.startswith("model._d")})
        sd.update(auxiliary(v.get("compiled", False)))
        if v.get("compiled_unet"):
            sd = {k.replace(".unet.", ".unet._orig_mod.", 1): t for k, t in sd.items()}
        self.state_dict = sd
        self.src = lightning_file(root / f"{name}.ckpt", sd)
        self.out = root / f"{name}.pt"
        self.record = import_official(self.src, self.out, spec=self.spec)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    cache: Dict[str, Synthetic] = {}
    root = tmp_path_factory.mktemp("official")

    def get(name: str) -> Synthetic:
        if name not in cache:
            cache[name] = Synthetic(name, root)
        return cache[name]

    return get


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_official_tensor_is_used_once_and_keeps_its_value(synthetic, variant):
    s = synthetic(variant)
    conv = convert_state_dict(s.state_dict, s.spec)
    dropped = {k for ks in conv.dropped.values() for k in ks}
    ignored = {k for ks in conv.ignored.values() for k in ks}
    assert not (set(conv.used) & dropped) and not (set(conv.used) & ignored) and not (dropped & ignored)
    assert set(conv.used) | dropped | ignored == set(s.state_dict)  # every tensor accounted for ...
    assert len(set(conv.used.values())) == len(conv.used)  # ... each used once ...
    assert set(conv.used.values()) == {f"{n}/{k}" for n, net in s.nets.items() for k in net.state_dict()}  # ... all filled
    assert {k.split(".")[-1] for k in conv.dropped["model._discriminator.to_logit_fx."]} == {"weight", "bias"}
    assert ("model_ema._discriminator." in conv.dropped) == bool(s.v.get("ema_discriminator"))

    state = torch.load(s.out, map_location="cpu", weights_only=True)
    assert state["format"] == "act-bench/1" and state["step"] == 1234 and state["sampling_network"] == "target"
    assert state["data_shape"] == [3, 32, 32] and state["num_classes"] == s.v["classes"]
    rec = state["imported"]
    assert rec["unused_logit_head_dropped"] and rec["dropped"]["model._discriminator.to_logit_fx."]["tensors"] == 2
    assert rec["lightning"] == {"pytorch-lightning_version": "2.1.2", "epoch": 7, "global_step": 2468}
    assert rec["tensors"] == {"in_file": len(s.state_dict), "used": len(conv.used)} and not rec["resumable"]
    assert set(rec["ignored"]) == {"fid.", "distance_loss."}
    nets, cfg, _ = load_networks(s.out, NETWORKS)
    assert set(nets) == {"generator", "target", "discriminator"} and cfg.model.preset == "tiny"
    for name, original in s.nets.items():
        got, want = nets[name].state_dict(), original.state_dict()
        assert list(got) == list(want)
        for k in want:
            assert got[k].dtype == torch.float32 and torch.equal(got[k], want[k]), (name, k)
    assert not any("logit_fx" in k or "unused" in k for k in nets["discriminator"].state_dict())


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_imported_networks_compute_what_the_official_definitions_compute(synthetic, variant):
    s = synthetic(variant)
    nets, _, _ = load_networks(s.out, NETWORKS)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 32, 32, generator=g)
    sigma = torch.tensor([SIGMA_MIN, 0.5, 10.0, 80.0])
    labels = torch.randint(0, s.v["classes"], (4,), generator=g) if s.v["classes"] else None
    with torch.no_grad():
        for net, prefix in (("target", "model_ema.unet."), ("generator", "model.unet.")):
            unet = official_unet(**s.v["official_g"]).eval()
            weights = {k.replace("_orig_mod.", ""): t for k, t in s.state_dict.items()}
            unet.load_state_dict({k[len(prefix):]: t for k, t in weights.items() if k.startswith(prefix)}, strict=True)
            want = official_generator_forward(unet, sigma[:, None, None, None] * x, sigma, labels)
            got = nets[net](sigma[:, None, None, None] * x, sigma, labels)
            assert got.shape == (4, 3, 32, 32)
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
        disc = OfficialDiscriminator(**s.v["official_d"]).eval()
        prefix = "model._discriminator."
        disc.load_state_dict({k[len(prefix):]: t for k, t in s.state_dict.items() if k.startswith(prefix)}, strict=True)
        torch.testing.assert_close(nets["discriminator"](x, sigma, labels), disc(x, sigma, labels), rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def plain_tiny(tmp_path_factory, fmnist_root):
    """The tiny preset as is (Fashion-MNIST, 1 channel), imported through the CLI."""
    from act.cli import main

    root = tmp_path_factory.mktemp("plain")
    nets = {"generator": perturbed(build_generator("tiny"), 4), "target": perturbed(build_generator("tiny"), 5),
            "discriminator": perturbed(build_discriminator("tiny"), 6)}
    sd = {official_key(n, k): t.clone() for n, net in nets.items() for k, t in net.state_dict().items()}
    sd.update({"model._discriminator.to_logit_fx.weight": torch.randn(1, 256),
               "model._discriminator.to_logit_fx.bias": torch.randn(1)})
    src = lightning_file(root / "official.ckpt", sd)
    spec = with_overrides("tiny", data={"name": "fashion_mnist", "root": str(fmnist_root)})
    import_official(src, root / "model.pt", spec=spec)
    assert main(["import-official", str(src), "-o", str(root / "cli.pt")]) == 0  # preset detected: tiny
    assert torch.load(root / "cli.pt", weights_only=True)["imported"]["preset_detected"]
    return root, sd


def test_sample_inpaint_and_theory_run_on_an_imported_checkpoint(plain_tiny):
    from act.cli import main
    from act.commands.sample import sample_to_dir

    root, _ = plain_tiny
    out = sample_to_dir(root / "model.pt", root / "samples", torch.device("cpu"), num=4, batch_size=4, progress=False)
    with np.load(out / "samples.npz") as z:
        assert z["images"].shape == (4, 32, 32, 1) and z["images"].dtype == np.uint8
    assert (out / "grid.png").is_file()
    assert json.loads((out / "sample.json").read_text())["network"] == "target"
    assert main(["inpaint", "--checkpoint", str(root / "model.pt"), "-o", str(root / "inpaint"), "--num", "2",
                 "--device", "cpu"]) == 0
    assert (root / "inpaint" / "inpaint.png").is_file()
    assert main(["theory", "--checkpoint", str(root / "model.pt"), "-o", str(root / "theory"), "--num-probe", "8",
                 "--num-scales", "4", "--lipschitz-points", "2", "--lipschitz-iters", "2", "--batch-size", "8",
                 "--plots", "none", "--device", "cpu", "--no-progress"]) == 0
    summary = json.loads((root / "theory" / "model.json").read_text())
    assert summary["network"] == "target" and summary["discriminator"] and summary["target_pair"]


@pytest.mark.parametrize("change, key", [
    ("drop", "model_ema.unet.conv_out.bias"),
    ("drop", "model._discriminator.time_embedding.linear_2.weight"),
    ("add", "model.unet.extra_block.weight"),
    ("add", "trainer_thing.weight"),
    ("reshape", "model._discriminator.to_logit.weight"),
])
def test_missing_unknown_or_misshapen_key_is_one_line_and_exit_2(plain_tiny, tmp_path, capsys, change, key):
    from act.cli import main

    _, sd = plain_tiny
    sd = dict(sd)
    if change == "drop":
        del sd[key]
    elif change == "add":
        sd[key] = torch.zeros(3)
    else:
        sd[key] = torch.zeros(2, 3)
    src = lightning_file(tmp_path / "bad.ckpt", sd)
    capsys.readouterr()
    assert main(["import-official", str(src), "-o", str(tmp_path / "out" / "model.pt"), "--preset", "tiny"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err and err.startswith("act import-official: "), err
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.ckpt"]


def test_a_file_the_safe_loader_refuses_needs_unsafe_load(plain_tiny, tmp_path, capsys):
    from act.cli import main

    _, sd = plain_tiny
    src = lightning_file(tmp_path / "hp.ckpt", sd, hyper_parameters=argparse.Namespace(lr=1e-4))  # not allow-listed
    assert main(["import-official", str(src), "-o", str(tmp_path / "a.pt"), "--preset", "tiny"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--unsafe-load" in err and not (tmp_path / "a.pt").exists()
    assert main(["import-official", str(src), "-o", str(tmp_path / "a.pt"), "--preset", "tiny", "--unsafe-load"]) == 0


def test_a_bare_state_dict_in_the_official_layout_imports_too(plain_tiny, tmp_path):
    _, sd = plain_tiny
    torch.save({k: t for k, t in sd.items() if not k.startswith("model.unet.")}, tmp_path / "ema_only.pt")
    rec = import_official(tmp_path / "ema_only.pt", tmp_path / "model.pt", "tiny")
    assert rec["bare_state_dict"] and rec["step"] == 0 and rec["networks"]["generator"].startswith("model_ema.unet")
    nets, _, _ = load_networks(tmp_path / "model.pt", NETWORKS)
    g, t = nets["generator"].state_dict(), nets["target"].state_dict()
    assert all(torch.equal(g[k], t[k]) for k in g)  # no online weights: the generator slot holds the EMA


# ----- the released configurations, on the meta device (no weights) ---------------------------------------------
OFFICIAL_SCRIPTS = {  # (generator UNet2DModel kwargs, discriminator kwargs) of train_cifar10.py, train_imagenet64.py, lsun_cat_256.py
    "cifar10": (dict(sample_size=32, in_channels=3, out_channels=6, layers_per_block=2, block_out_channels=(128, 128, 256, 256),
                     down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
                     up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D")),
                dict(in_channels=3, widths=(128, 256, 256, 256), layers=3,
                     down=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"), final_norm=True)),
    "imagenet64": (dict(sample_size=64, in_channels=3, out_channels=3, layers_per_block=2,
                        block_out_channels=(128, 256, 256, 512, 512),
                        down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
                        up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
                        attention_head_dim=16, num_class_embeds=1000),
                   dict(in_channels=3, widths=(128, 256, 256, 512, 512), layers=3, head_dim=16, classes=1000,
                        down=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"), final_norm=False)),
    "lsun256": (dict(sample_size=64, in_channels=3, out_channels=3, layers_per_block=2,
                     block_out_channels=(128, 128, 256, 256, 512, 512),
                     down_block_types=("DownBlock2D",) * 4 + ("AttnDownBlock2D", "DownBlock2D"),
                     up_block_types=("UpBlock2D", "AttnUpBlock2D") + ("UpBlock2D",) * 4,
                     attention_head_dim=None, flip_sin_to_cos=False, freq_shift=1),
                dict(in_channels=3, widths=(128, 128, 256, 256, 512, 512), layers=3, head_dim=None, flip=False, shift=1,
                     down=("DownBlock2D",) * 4 + ("AttnDownBlock2D", "DownBlock2D"), final_norm=False)),
}


@pytest.mark.parametrize("preset", RELEASED)
def test_released_layouts_map_onto_the_presets(preset):
    g_kwargs, d_kwargs = OFFICIAL_SCRIPTS[preset]
    with torch.device("meta"):
        unet, disc = official_unet(**g_kwargs), OfficialDiscriminator(**d_kwargs)
    sd = {**{f"model.unet.{k}": t for k, t in unet.state_dict().items()},
          **{f"model_ema.unet.{k}": t for k, t in unet.state_dict().items()},
          **{f"model._discriminator.{k}": t for k, t in disc.state_dict().items()}}
    assert detect_preset(sd) == preset
    conv = convert_state_dict(sd, SPECS[preset])
    assert len(conv.used) == len(sd) - 2 and set(conv.dropped) == {"model._discriminator.to_logit_fx."}
    ema_only = convert_state_dict({k: t for k, t in sd.items() if not k.startswith("model.unet.")}, SPECS[preset])
    assert set(ema_only.networks) == {"generator", "target", "discriminator"} and "model_ema" in ema_only.generator_source


def test_specs_follow_the_paper_configs_and_the_cli():
    import yaml

    from act.commands.import_official import PRESETS
    from act.config import method_config_from_dict

    assert set(PRESETS) == set(SPECS) and set(RELEASED) <= set(SPECS)
    root = Path(__file__).resolve().parents[1] / "config" / "paper"
    for preset, file in (("cifar10", "cifar10.yaml"), ("imagenet64", "imagenet64.yaml"), ("lsun256", "lsun_cat256.yaml")):
        paper = yaml.safe_load((root / file).read_text())
        key = next(k for k, d in paper["datasets"].items() if "act" in d["methods"])
        entry, spec = paper["datasets"][key], SPECS[preset]
        method = lambda d: method_config_from_dict(d)  # noqa: E731  (YAML reads 1.0e4 as a string)
        assert method(spec.method) == method(entry["methods"]["act"]["method"]), preset
        assert spec.data == paper["defaults"]["config"]["data"] and spec.preset == paper["defaults"]["config"]["model"]["preset"]
        assert entry["methods"]["act"]["model"]["discriminator"] == preset
        assert spec.train["lr"] == float(entry["methods"]["act"]["train"]["lr"]) and spec.train["batch_size"] == entry["batch_sizes"][0]
        assert spec.train["steps"] == entry["budget"]["steps"]
        assert spec.train["precision"] == paper["defaults"]["config"]["train"]["precision"]


def test_sha256_is_checked_before_reading_and_the_record_is_written(plain_tiny, tmp_path, capsys):
    from act.cli import main
    from act.io import file_digest

    root, _ = plain_tiny
    src = root / "official.ckpt"
    out, record = tmp_path / "model.pt", tmp_path / "import.json"
    assert main(["import-official", str(src), "-o", str(out), "--sha256", "0" * 64, "--record", str(record)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not the expected" in err and not out.exists() and not record.exists()
    digest = file_digest(src, "sha256")
    assert main(["import-official", str(src), "-o", str(out), "--sha256", digest.upper(), "--record", str(record)]) == 0
    rec = json.loads(record.read_text())
    assert rec["source_sha256"] == digest and rec["checkpoint"] == str(out)
    nets = torch.load(out, weights_only=True)["networks"]
    assert rec["params"] == {k: sum(t.numel() for t in nets[k].values()) for k in ("generator", "discriminator")}

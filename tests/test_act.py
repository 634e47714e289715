"""ACT (docs/METHOD.md s.4): lambda schedule, R1 interval, gradient routing, inpainting, toy training."""

import json
import math

import numpy as np
import ot
import pytest
import torch

from act.adversarial import lambda_weight
from act.checkpoint import load_networks
from act.config import ACTConfig, load_config
from act.inpainting import make_mask, psnr_filled, sample_inpaint, trivial_fill
from act.method import set_trainable
from act.parametrization import ConsistencyFunction
from act.registry import build_method
from act.sampling import ImageNoise, generate
from act.train import train


def act_cfg(*extra, steps=4):
    return load_config(None, ("method.name=act", "method.distance=l2", "data.name=toy2d:gaussian_mixture",
                              "data.options={n: 2048, seed: 0}", "model.preset=toy2d", f"train.steps={steps}",
                              "train.batch_size=32", "train.device=cpu", "train.log_every=1", "train.ckpt_every=0") + extra)


def test_lambda_schedule_values():
    n = 11
    idx = torch.tensor([0, 5, 10])
    const = 0.3 * lambda_weight(idx, n, "constant", 0.3, 0.2)
    assert torch.allclose(const, torch.full((3,), 0.3))
    lam = 0.6 * lambda_weight(idx, n, "power", 0.6, 0.2)
    assert lam[0].item() == 0.0  # i = 0
    assert lam[1].item() == pytest.approx(0.2)  # middle: w_mid
    assert lam[2].item() == pytest.approx(0.6)  # i = N - 1: lambda_max
    # the formula itself at another point
    i = 3
    assert (0.6 * lambda_weight(torch.tensor([i]), n, "power", 0.6, 0.2)).item() == pytest.approx(0.6 * (i / 10) ** math.log(0.2 / 0.6, 0.5))
    with pytest.raises(ValueError):
        lambda_weight(idx, n, "cosine", 0.6, 0.2)


def test_config_defaults_match_official():
    c = ACTConfig()
    assert (c.r1_gamma, c.r1_interval, c.lambda_max, c.clip_target) == (10.0, 16, 0.3, True)
    assert c.g_betas == (0.0, 0.99) and c.d_betas == pytest.approx((0.0, 0.99 * 16 / 17))


def _method(*extra):
    cfg = act_cfg(*extra)
    return build_method(cfg, (2,)), cfg


def test_r1_only_on_its_interval():
    m, _ = _method("method.r1_interval=4")
    x = torch.randn(64, 2) * 0.5
    logged = []
    for step in range(9):
        _, logs = m.loss("discriminator", x, None, step=step, generator=torch.Generator().manual_seed(step))
        logged.append("r1" in logs)
    assert logged == [s % 4 == 0 for s in range(9)]
    m0, _ = _method("method.r1_gamma=0")
    _, logs = m0.loss("discriminator", x, None, step=0, generator=torch.Generator().manual_seed(0))
    assert "r1" not in logs


def test_discriminator_step_moves_no_generator_weight_and_generator_gets_d_gradient():
    m, _ = _method("method.lambda_max=1.0")  # pure adversarial generator loss
    G, D = m.networks["generator"], m.networks["discriminator"]
    x = torch.randn(64, 2) * 0.5
    set_trainable(m, "discriminator")
    loss, _ = m.loss("discriminator", x, None, step=0, generator=torch.Generator().manual_seed(0))
    loss.mean().backward()
    assert all(p.grad is None for p in G.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())
    for p in D.parameters():
        p.grad = None

    def g_grads():
        for p in G.parameters():
            p.grad = None
        set_trainable(m, "generator")
        loss, _ = m.loss("generator", x, None, step=0, generator=torch.Generator().manual_seed(0))
        loss.mean().backward()
        assert all(p.grad is None for p in D.parameters())
        return torch.cat([p.grad.flatten() for p in G.parameters()])

    g1 = g_grads()
    assert g1.abs().sum() > 0
    with torch.no_grad():  # change D: the generator's gradient must change with it
        for p in D.parameters():
            p.add_(0.1 * torch.randn_like(p))
    g2 = g_grads()
    assert not torch.allclose(g1, g2)


def test_act_batch_split_and_checkpoint(tmp_path):
    out = train(act_cfg(steps=3), tmp_path / "r", progress=False)
    import json

    log = [json.loads(l) for l in (tmp_path / "r" / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["images_seen"] == 3 * 2 * 32  # 2B images per step
    for key in ("loss_ct", "loss_adv", "loss_d_fake", "loss_d_real", "aug_p", "lambda"):
        assert key in log[-1]
    net, cfg, state = load_networks(out)
    assert state["sampling_network"] == "target"  # ACT evaluates its one EMA
    assert "discriminator" in state["networks"]
    assert "rng" not in state  # every draw is a function of (seed, step): no RNG state to carry
    for k, v in load_networks(out, "target")[0].state_dict().items():
        assert torch.equal(v, net.state_dict()[k])
    nets, _, _ = load_networks(out, ("generator", "eval_ema", "discriminator"))
    assert list(nets) == ["generator", "discriminator"] and not nets["discriminator"].training
    for k, v in nets["discriminator"].state_dict().items():
        assert torch.equal(v, state["networks"]["discriminator"][k].cpu())
    with pytest.raises(KeyError, match="holds no network 'eval_ema'; it has generator and \\['target'\\]"):
        load_networks(out, "eval_ema")


def _w1(a, b):
    return float(ot.emd2(np.full(len(a), 1 / len(a)), np.full(len(b), 1 / len(b)), ot.dist(a, b, metric="euclidean")))


@pytest.mark.slow
def test_act_toy_one_step_w1_falls(tmp_path):
    from act.data import sample_toy

    cfg = act_cfg("train.lr=2e-3", "train.batch_size=64", "model.discriminator=toy2d",
                  "model.overrides={hidden_dim: 128, num_layers: 3}",
                  "model.discriminator_overrides={hidden_dim: 128, num_layers: 3}", steps=2000)
    data = sample_toy("gaussian_mixture", 600, seed=123).numpy().astype(np.float64)
    init = build_method(cfg, (2,)).sampling_network()
    x0, _ = generate(init, 600, (2,), [80.0], progress=False)
    out = train(cfg, tmp_path / "act", progress=False)
    net, _, _ = load_networks(out)
    x1, _ = generate(net, 600, (2,), [80.0], progress=False)
    w_init, w_trained = _w1(x0.numpy().astype(np.float64), data), _w1(x1.numpy().astype(np.float64), data)
    assert w_trained < 0.8 * w_init, (w_init, w_trained)  # noise of a 600-point W1 is ~0.01


def test_inpainting_keeps_known_pixels_exactly():
    class Wild(torch.nn.Module):
        def forward(self, x, c, labels=None):
            return torch.randn_like(x) * 5

    f = ConsistencyFunction(Wild())
    y = torch.rand(3, 1, 16, 16) * 2 - 1
    for kind in ("center", "left", "strokes"):
        mask = make_mask(kind, 3, 16, 16, seed=1)
        assert 0 < mask.mean() < 1
        noise = ImageNoise(range(3), (1, 16, 16), torch.device("cpu"))
        out = sample_inpaint(f, 80 * noise(0), [80.0, 10.0, 1.0], noise=noise, known=y, mask=mask)
        assert torch.equal(out[mask.expand_as(out) == 1], y[mask.expand_as(y) == 1])
        assert out.abs().max() <= 1.0
    assert torch.isinf(psnr_filled(y, y, mask)).logical_not().all()
    assert psnr_filled(y, y, mask).min() > 100  # identical -> huge PSNR
    # the trivial fill keeps the known pixels and puts each image's known mean in the hole: exact
    # on a constant image, and a real inpainter beats it on a structured one
    flat_img = torch.full_like(y, 0.3)
    assert torch.allclose(trivial_fill(flat_img, mask), flat_img, atol=1e-6)
    fill = trivial_fill(y, mask)
    assert torch.equal(fill * mask, y * mask)
    assert psnr_filled(fill, y, mask).mean() < psnr_filled(y + 0.01 * torch.randn_like(y), y, mask).mean()


def test_cli_inpaint_and_act_on_images(tmp_path, fmnist_root):
    from act.cli import main

    run = tmp_path / "run"
    assert main(["train", "-o", str(run), "--set", "method.name=act", "--set", f"data.root={fmnist_root}",
                 "--set", "model.preset=tiny", "--set", "method.distance=l2", "--set", "method.augment=true",
                 "--set", "method.augment_threshold=0.0", "--set", "method.r1_interval=1",
                 "--set", "train.steps=2", "--set", "train.batch_size=4", "--set", "train.device=cpu", "--no-progress"]) == 0
    state = torch.load(run / "model.pt", weights_only=True)
    assert state["method_state"]["augment"]["p"] > 0  # threshold 0: p rises at every R1 step
    assert main(["inpaint", "--checkpoint", str(run / "model.pt"), "-o", str(tmp_path / "inp"), "--num", "18",
                 "--mask", "strokes", "--device", "cpu"]) == 0
    from PIL import Image

    assert len(json.loads((tmp_path / "inp" / "inpaint.json").read_text())["psnr_filled"]) == 18  # every image scored
    label_margin, tile = 8 + 7 * len("inpainted"), 32 + 2  # act.viz.save_grid: labels, then 2-px padded tiles x2
    assert Image.open(tmp_path / "inp" / "inpaint.png").width == label_margin + 2 * (2 + 16 * tile)  # 16 shown


def test_r1_double_backward_through_attention():
    """The UNet discriminator's attention must allow R1's double backward (fused SDPA does not)."""
    from act.networks import build_discriminator

    D = build_discriminator("tiny")
    x = torch.randn(2, 1, 32, 32, requires_grad=True)
    with D.twice_differentiable():  # the classic attention, for R1's forward only
        classic = D(x, torch.ones(2))
        (g,) = torch.autograd.grad(classic.sum(), x, create_graph=True)
        g.pow(2).sum().backward()
    assert all(p.grad is not None for p in D.parameters() if p.requires_grad and p.grad is not None)
    fused = D(x, torch.ones(2))  # every other pass: diffusers' fused SDPA, the same function
    torch.testing.assert_close(fused, classic, rtol=1e-5, atol=1e-5)
    (g_fused,) = torch.autograd.grad(fused.sum(), x, create_graph=True)
    torch.testing.assert_close(g_fused, g.detach(), rtol=1e-4, atol=1e-6)
    with pytest.raises(RuntimeError, match="not implemented"):  # why R1 needs the context
        g_fused.pow(2).sum().backward()


def test_optimisers_take_the_official_betas_and_d_lr():
    from act.train import build_optimizers

    cfg = act_cfg("method.d_lr=3e-4", "train.lr=1e-4")
    m = build_method(cfg, (2,))
    opts, _ = build_optimizers(m, cfg.train, torch.device("cpu"))
    assert opts["generator"].param_groups[0]["betas"] == (0.0, 0.99)
    assert opts["discriminator"].param_groups[0]["betas"] == pytest.approx((0.0, 0.99 * 16 / 17))
    assert opts["generator"].param_groups[0]["lr"] == 1e-4 and opts["discriminator"].param_groups[0]["lr"] == 3e-4

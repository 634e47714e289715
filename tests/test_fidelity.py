"""Where the project follows the official codes at paper scale (docs/METHOD.md s.7), one test per item.

Each test fails on the behaviour before the fix: LPIPS resized below 256 px only and max-pooled
everywhere, no flips on ImageNet-64 / LSUN, iCT without dropout, one two-step sigma for all,
ACT's curriculum for CT, sliced W2 as the images' theory distance, rounding to uint8, and
target clipping on 2-D points.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from act.config import load_config
from act.errors import ConfigError
from act.plan.experiment import parse_experiment, resolve_run_config

ROOT = Path(__file__).resolve().parents[1]


def _paper_runs(name):
    plan = parse_experiment(yaml.safe_load((ROOT / "config" / "paper" / f"{name}.yaml").read_text()))
    return {m: resolve_run_config(plan, d, m, p.batch_sizes[0]) for d, p in plan.datasets.items() for m in p.methods}


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    import torchvision

    path = tmp_path_factory.mktemp("vgg") / "vgg16-397923af.pth"
    with torch.random.fork_rng():  # a fixed random VGG: unseeded, one draw in CI gave equal LPIPS at 224 and 256 px
        torch.manual_seed(0)
        torch.save(torchvision.models.vgg16(weights=None).state_dict(), path)
    return str(path)


@pytest.fixture(scope="module")
def lpips_max(vgg_file):
    from act.distances import LPIPSDistance

    return LPIPSDistance(vgg_file)  # building a VGG costs seconds: one for the module


# 1. LPIPS resize ---------------------------------------------------------------------------


def test_act_lpips_resizes_to_224_at_every_size_ct_below_256_only(lpips_max):
    import copy

    import torch.nn.functional as F

    assert load_config(None, ("method.name=act",)).method.lpips_resize == "always"
    assert load_config().method.lpips_resize == "below256"
    g = torch.Generator().manual_seed(0)
    x, y = (torch.rand(1, 3, 256, 256, generator=g) * 2 - 1 for _ in range(2))
    resized = [F.interpolate(v, size=224, mode="bilinear", align_corners=False) for v in (x, y)]
    below = lpips_max
    always = copy.copy(lpips_max)
    always.resize = "always"
    with torch.no_grad():
        at_224 = below(*resized)  # below 256 px: resized either way
        assert torch.allclose(always(x, y), at_224, atol=1e-6)
        assert not torch.allclose(below(x, y), at_224, atol=1e-4)  # CM's: 256 px stays 256 px


# 2. LPIPS pooling --------------------------------------------------------------------------


def test_lpips_average_pooling_replaces_every_max_pool(vgg_file, lpips_max):
    from torch import nn

    from act.distances import LPIPSDistance

    avg, mx = LPIPSDistance(vgg_file, pooling="avg"), lpips_max
    kinds = lambda d: [type(m) for m in d.net.net.modules() if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]  # noqa: E731
    assert kinds(avg) == [nn.AvgPool2d] * 4 and kinds(mx) == [nn.MaxPool2d] * 4
    g = torch.Generator().manual_seed(1)
    x, y = (torch.rand(1, 3, 32, 32, generator=g) * 2 - 1 for _ in range(2))
    with torch.no_grad():
        assert not torch.allclose(avg(x, y), mx(x, y))
        assert torch.allclose(avg(x, x), torch.zeros(1), atol=1e-6)
    runs = {**_paper_runs("imagenet64"), **{f"lsun_{k}": v for k, v in _paper_runs("lsun_cat256").items()}}
    assert runs["ct"].method.lpips_pooling == runs["lsun_ct"].method.lpips_pooling == "avg"  # CM's replace_pooling
    assert runs["act"].method.lpips_pooling == _paper_runs("cifar10")["ct"].method.lpips_pooling == "max"


# 3-5. Paper configs: flips, iCT dropout, two-step sigma --------------------------------------


def test_paper_configs_flip_imagenet64_and_lsun():
    for name in ("cifar10", "imagenet64", "lsun_cat256"):
        assert all(cfg.data.hflip for cfg in _paper_runs(name).values()), name


def test_ict_cifar10_trains_with_dropout_03():
    from act.networks import resolve_generator_config

    cfg = _paper_runs("cifar10")["ict"]
    assert cfg.model.overrides["dropout"] == 0.3
    assert resolve_generator_config(cfg.model.preset, **cfg.model.overrides)["dropout"] == 0.3  # the UNet takes it


def test_two_step_sigma_is_each_source_s_own():
    from act.commands.sample import sampling_sigmas
    from act.schedules import karras_sigmas

    runs = _paper_runs("cifar10")
    assert sampling_sigmas(runs["ict"].sample.sigmas, steps=2) == [80.0, 0.821]  # iCT paper
    ct64 = _paper_runs("imagenet64")["ct"]
    # CM's launch.sh: --ts 0,106,200 on a 201-point grid, counted from sigma_max
    sigma_106 = float(karras_sigmas(201).flip(0)[106])
    assert sampling_sigmas(ct64.sample.sigmas, steps=2)[1] == pytest.approx(sigma_106, abs=1e-4)
    cat = _paper_runs("lsun_cat256")["ct"]  # launch.sh: --ts 0,62,150 on a 151-point grid
    assert sampling_sigmas(cat.sample.sigmas, steps=2)[1] == pytest.approx(float(karras_sigmas(151).flip(0)[62]), abs=1e-4)


# 7. CT's own curriculum ----------------------------------------------------------------------


def test_ct_defaults_to_cm_curriculum_act_to_its_own():
    from act.schedules import ct_num_scales

    ct, act = _paper_runs("cifar10")["ct"], _paper_runs("cifar10")["act"]
    assert ct_num_scales(10, 10, ct.method.s0, ct.method.s1, ct.method.curriculum) == 151  # CM: s1 + 1
    assert ct_num_scales(10, 10, act.method.s0, act.method.s1, act.method.curriculum) == 150  # ACT: s1


# 8. The theory's distance on images ---------------------------------------------------------


def test_theory_measures_images_in_w1_by_default():
    from act.theory.analysis import TheoryOptions
    from act.theory.wasserstein import BOUNDED_DISTANCES, distance_name, distance_to_data, exact_w1, sliced_wasserstein

    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(12, 1, 4, 4, generator=g), torch.randn(12, 1, 4, 4, generator=g)
    assert TheoryOptions().image_distance == "w1"
    assert distance_name(x) == "exact W1" and distance_name(x) in BOUNDED_DISTANCES
    assert distance_to_data(x, y) == pytest.approx(exact_w1(x.flatten(1), y.flatten(1)))
    assert distance_to_data(x, y, "sliced_w2") == pytest.approx(sliced_wasserstein(x, y, p=2))
    assert distance_name(x, "sliced_w2") not in BOUNDED_DISTANCES
    assert distance_to_data(x, y, "sliced_w1") <= distance_to_data(x, y) + 1e-9  # sliced W1 <= W1
    with pytest.raises(ConfigError, match="image distance"):
        distance_to_data(x, y, "w3")


# 9. Which discriminator size the tables report ------------------------------------------------


def test_tables_say_which_discriminator_count_they_report():
    from act.report.tables import notes

    text = " ".join(notes("cifar10", "cifar10", "images"))
    assert "unused" in text and "17.977" in text and "unused_logit_head" in text


# 10. uint8 quantisation ------------------------------------------------------------------------


def test_samples_truncate_to_uint8_as_the_official_fid_paths():
    from act.sampling import to_uint8

    v = torch.tensor([127.9, 0.6, 254.99, 255.0]) / 127.5 - 1  # values just below an integer step
    x = v.view(1, 1, 1, 4)
    assert load_config().sample.quantize == "truncate"
    assert to_uint8(x).ravel().tolist() == [127, 0, 254, 255]  # (x + 1) * 127.5 cast down
    assert to_uint8(x, "round").ravel().tolist() == [128, 1, 255, 255]
    official = ((x + 1) * 127.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(to_uint8(x), official)
    with pytest.raises(ConfigError, match="sample.quantize"):
        load_config(None, ("sample.quantize=nearest",))


# 11. Target clipping only on images ----------------------------------------------------------


def test_target_clipping_applies_to_images_not_to_points():
    from act.consistency import ConsistencyLoss
    from act.distances import l2_distance

    class Far(torch.nn.Module):  # outputs far outside [-1, 1]: the target clip would show
        def forward(self, x, sigma, labels=None):
            return 5.0 * torch.ones_like(x) * (1 + sigma.view((-1,) + (1,) * (x.ndim - 1)))

    loss = ConsistencyLoss(l2_distance, 0.002, 80.0, 7.0, clip_target=True)
    net = Far()

    def value(x0):
        return loss(net, net, x0, num_scales=10, generator=torch.Generator().manual_seed(0))

    points, images = torch.zeros(8, 2), torch.zeros(8, 1, 2, 2)
    unclipped = ConsistencyLoss(l2_distance, 0.002, 80.0, 7.0, clip_target=False)
    same = unclipped(net, net, points, num_scales=10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(value(points), same)  # 2-D toy data: no clip
    clipped_images = value(images)
    assert not torch.equal(clipped_images, unclipped(net, net, images, num_scales=10,
                                                     generator=torch.Generator().manual_seed(0)))


# 6. ACT-Aug at p = 0 ------------------------------------------------------------------------


def test_act_resamples_discriminator_inputs_at_p0_as_the_official_code():
    from act.registry import build_method

    cfg = load_config(None, ("method.name=act", "method.distance=l2", "model.preset=tiny", "model.discriminator=tiny",
                             "method.augment=true"))
    method = build_method(cfg, (1, 32, 32))
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    assert method.state["augment"].p == 0.0
    out = method.phase("discriminator").loss.augment(x, torch.Generator().manual_seed(0))
    assert out is not x and torch.allclose(out, x, atol=1e-4)  # filtered path, identity up to rounding
    # the removed unfiltered variant: configs naming the official path still load, the other is refused
    assert load_config(None, ("method.name=act", "method.augment_fidelity=official")).method == load_config(
        None, ("method.name=act",)).method
    with pytest.raises(ConfigError, match="method.augment_fidelity: 'simple' is no longer available"):
        load_config(None, ("method.name=act", "method.augment_fidelity=simple"))
    # a checkpoint written with the key resumes under today's config; one written with "simple" does not
    from act.config import to_dict
    from act.resume import checkpoint_signature, config_changes, run_signature

    stored = to_dict(cfg)
    stored["method"]["augment_fidelity"] = "official"
    state = {"config": stored, "world_size": 1, "device_type": "cpu"}
    assert config_changes(checkpoint_signature(state), run_signature(cfg, 1, "cpu")) == []
    stored["method"]["augment_fidelity"] = "simple"
    assert config_changes(checkpoint_signature(state), run_signature(cfg, 1, "cpu")) == [
        "method.augment_fidelity: 'simple' -> '<unset>'"]
    # ... but its networks are still usable (sampling, scoring, theory read the stored config this way)
    from act.config import stored_config

    assert stored_config(stored).method == cfg.method

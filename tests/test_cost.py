"""act cost: FLOPs and seconds per step, counted over every phase."""

import json

import pytest

from act.config import load_config
from act.compute.cost import measure_cost


def _cfg(*extra):
    return load_config(None, ("data.name=toy2d:gaussian_mixture", "data.options={n: 512}", "model.preset=toy2d",
                              "method.distance=l2", "train.batch_size=32", "train.device=cpu") + extra)


def test_flops_scale_with_batch_and_method():
    ct = measure_cost(_cfg(), steps=1, warmup=0)
    ct2 = measure_cost(_cfg("train.batch_size=64"), steps=1, warmup=0)
    act = measure_cost(_cfg("method.name=act", "method.distance=l2", "method.r1_interval=4", "model.discriminator=toy2d"), steps=1, warmup=0)
    assert ct["flops_per_step"] > 0 and ct["seconds_per_step"] > 0
    assert ct2["flops_per_step"] == pytest.approx(2 * ct["flops_per_step"], rel=0.05)
    assert act["flops_per_step"] > ct["flops_per_step"]  # a discriminator step on top of CT
    assert act["flops_detail"]["r1_step"] > act["flops_detail"]["plain_step"]  # R1's double backward
    assert act["images_per_step"] == 64 and set(act["params"]) == {"generator", "discriminator"}


def test_max_batch_measures_small_and_scales_exactly():
    """A global batch too big for one device is costed at max_batch and scaled: FLOPs are linear in the batch."""
    act = ("method.name=act", "method.distance=l2", "method.r1_interval=4", "model.discriminator=toy2d")
    full = measure_cost(_cfg("train.batch_size=64", *act), steps=1, warmup=0)
    scaled = measure_cost(_cfg("train.batch_size=64", *act), steps=1, warmup=0, max_batch=16)
    assert scaled["measured_batch_size"] == 16 and scaled["scaled_by"] == 4
    assert (scaled["batch_size"], scaled["images_per_step"]) == (64, 128) == (full["batch_size"], full["images_per_step"])
    assert scaled["flops_per_step"] == pytest.approx(full["flops_per_step"], rel=0.02)
    unscaled = measure_cost(_cfg(), steps=1, warmup=0, max_batch=64)  # batch 32 fits: measured as is
    assert unscaled["measured_batch_size"] == 32 and unscaled["scaled_by"] == 1.0


def test_cli_cost_synthetic(tmp_path):
    from act.cli import main

    out = tmp_path / "cost.json"
    assert main(["cost", "--set", "model.preset=tiny", "--set", "method.distance=l2", "--set", "train.batch_size=2",
                 "--set", "train.device=cpu", "--synthetic", "--steps", "1", "--warmup", "0", "-o", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["synthetic_data"] and res["flops_per_step"] > 0 and "provenance" in res


def test_bench_measures_every_method_beside_the_bare_unet_and_the_peak(tmp_path):
    import json

    from act.cli import main

    out = tmp_path / "bench.json"
    assert main(["bench", "--preset", "tiny", "--batch", "2", "--steps", "1", "--warmup", "0", "--methods", "ct", "act",
                 "--no-startup", "--channels-last", "--sync", "log", "--eval-images", "8", "-o", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["options"]["channels_last"] and res["options"]["sync"] == "log"
    ev = res["evaluation"]["backends"]
    assert set(ev) == {"eager", "torchscript"}
    for by in ev.values():  # each backend fills its own cache, then reads it
        assert not by["cold"]["reference_from_cache"] and by["warm"]["reference_from_cache"]
        assert by["cold"]["images_per_second"] > 0 and by["warm"]["images_per_second"] > 0
    assert abs(ev["eager"]["warm"]["fid"] - ev["torchscript"]["warm"]["fid"]) < 1e-3 * ev["torchscript"]["warm"]["fid"]
    inc = res["inception"]
    assert 10 < inc["gflop_per_image"] < 13  # 5.7 G multiply-adds to pool3, 2 FLOPs each
    assert all(0 < b["utilisation"] and b["images_per_second"] > 0 for b in inc["backends"].values())
    assert res["matmul_peak_flops"]["fp32"] > 1e8 and res["bare_unet"]["flops_per_step"] > 0
    rows = {r["method"]: r for r in res["methods"]}
    assert set(rows) == {"ct", "act"} and rows["act"]["r1_interval"] == 16
    assert rows["act"]["flops_r1"] > rows["act"]["flops_plain"] > rows["ct"]["flops_per_step"]  # D, then R1 on top
    for r in rows.values():
        assert 0 < r["utilisation"] and r["seconds_per_step"] > 0 and r["sampling_images_per_second"] > 0
    a = res["act_over_ct"]
    assert a["flops"] > 1 and abs(a["time_per_flop"] - a["time"] / a["flops"]) < 1e-12
    md = out.with_suffix(".md").read_text()
    assert "bare UNet2DModel" in md and "ACT / CT: time" in md and "channels_last" in md and "warm reference cache" in md
    assert "FID network alone" in md and "x torchscript" in md


def test_bench_startup_lists_every_rule_beside_import_torch():
    from act.compute.bench import STARTUP

    assert list(STARTUP)[0] == "import torch" and {"train", "tables", "figures", "claims", "budget"} <= set(STARTUP)

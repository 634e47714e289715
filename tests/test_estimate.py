"""act estimate: GPU-hours of an experiment from FLOPs per step, peaks and utilisation, before the run."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from act.cli import main

ROOT = Path(__file__).resolve().parents[1]
TOY = str(ROOT / "config" / "train" / "ct_toy2d.yaml")


def _experiment(tmp_path, budget, gpu=2, name="toy"):
    exp = {
        "name": name,
        "defaults": {"seeds": [0, 1]},
        "datasets": {"toy2d": {
            "config": TOY,
            "methods": {"ct": None,
                        "act": {"method": {"name": "act", "distance": "l2"}, "model": {"discriminator": "toy2d"},
                                "train": {"precision": "bf16"}}},
            "batch_sizes": [64],
            "budget": budget,
            "resources": {"train": {"gpu": gpu}},
        }},
        "resources": {"train": {"gpu": 1}},  # the dataset's own entry wins
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


def _costs(tmp_path, act_device="NVIDIA H100 80GB HBM3"):
    d = tmp_path / "cost" / "toy2d"
    d.mkdir(parents=True)
    (d / "ct_b64.json").write_text(json.dumps({"method": "ct", "batch_size": 64, "flops_per_step": 1e12,
                                               "seconds_per_step": 0.5, "device_name": "cpu", "images_per_step": 64}))
    (d / "act_b64.json").write_text(json.dumps({"method": "act", "batch_size": 64, "flops_per_step": 3e12,
                                                "seconds_per_step": 0.02, "device_name": act_device,
                                                "images_per_step": 128}))
    return tmp_path / "cost"


def _run(capsys, *argv):
    rc = main(["estimate", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def _rows(path):
    return {r["method"]: r for r in json.loads(Path(path).read_text())["rows"]}


def test_gpu_hours_from_peak_and_assumed_utilisation(tmp_path, capsys):
    """A100: ct fp32 at the fp32 peak, act bf16 at the 16-bit peak; utilisation 0.35; 2 seeds, 2 GPUs per run."""
    exp, costs = _experiment(tmp_path, {"steps": 1000}), _costs(tmp_path)
    rc, out, _ = _run(capsys, "-c", exp, "--gpu", "a100", "--cost-dir", costs, "--out", tmp_path / "e.json")
    assert rc == 0
    rows = _rows(tmp_path / "e.json")
    ct, act = rows["ct"], rows["act"]
    # by hand: 1000 steps x 1e12 FLOP / (19.5e12 FLOP/s x 0.35) = 146.52 GPU-s per seed; x 2 seeds / 3600
    assert ct["gpu_hours_total"] == pytest.approx(1000 * 1e12 / (19.5e12 * 0.35) * 2 / 3600, rel=1e-12)
    assert ct["gpu_hours_total"] == pytest.approx(0.081400, abs=1e-6)
    assert ct["wall_hours_per_run"] == pytest.approx(1000 * 1e12 / (19.5e12 * 0.35) / 2 / 3600, rel=1e-12)
    assert ct["images_per_second"] == pytest.approx(64 * 2 / (1e12 / (19.5e12 * 0.35)), rel=1e-12)
    assert (ct["precision"], ct["basis"], ct["gpus_per_run"], ct["steps"], ct["n_seeds"]) == ("fp32", "assumed", 2, 1000, 2)
    assert ct["pflop_total"] == pytest.approx(1000 * 1e12 * 2 / 1e15)
    # act: bf16 -> 312 TFLOPS; measured on an H100, not an A100: the assumption applies
    assert act["gpu_hours_total"] == pytest.approx(1000 * 3e12 / (312e12 * 0.35) * 2 / 3600, rel=1e-12)
    assert (act["precision"], act["basis"]) == ("bf16", "assumed")
    assert "| toy2d | ct | 64 | 2 | fp32 | 1,000 |" in out and "**total**" in out
    assert "0.35" in out and "assumption" in out and "NVIDIA A100 Tensor Core GPU datasheet" in out
    assert json.loads((tmp_path / "e.json").read_text())["totals"]["gpu_hours_total"] == pytest.approx(
        ct["gpu_hours_total"] + act["gpu_hours_total"])


def test_measured_seconds_override_the_assumption(tmp_path, capsys):
    """H100: act's cost file was measured on an H100, so its seconds per step set the bill; ct's (cpu) do not."""
    exp, costs = _experiment(tmp_path, {"steps": 1000}), _costs(tmp_path)
    rc, out, _ = _run(capsys, "-c", exp, "--gpu", "h100", "--cost-dir", costs, "--utilization", "0.5",
                      "--out", tmp_path / "e.json")
    assert rc == 0
    rows = _rows(tmp_path / "e.json")
    act, ct = rows["act"], rows["ct"]
    assert act["basis"] == "measured" and act["gpu_hours_total"] == pytest.approx(1000 * 0.02 * 2 / 3600, rel=1e-12)
    assert act["utilization"] == pytest.approx(3e12 / (0.02 * 989e12))
    assert act["images_per_second"] == pytest.approx(128 * 2 / 0.02)
    assert ct["basis"] == "assumed" and ct["gpu_hours_total"] == pytest.approx(1000 * 1e12 / (67e12 * 0.5) * 2 / 3600, rel=1e-12)
    assert "measured" in out and "NVIDIA H100 80GB HBM3" in out
    # H200: the same compute as the H100, but an H100 measurement is not an H200 one
    rc, out, _ = _run(capsys, "-c", exp, "--gpu", "h200", "--cost-dir", costs, "--out", tmp_path / "h200.csv")
    assert rc == 0 and "basis 'measured'" not in out
    import csv

    lines = list(csv.DictReader((tmp_path / "h200.csv").read_text().splitlines()))
    assert [r["basis"] for r in lines] == ["assumed", "assumed", ""] and lines[-1]["dataset"] == "total"
    assert float(lines[-1]["gpu_hours_total"]) == pytest.approx(sum(float(r["gpu_hours_total"]) for r in lines[:2]))


def test_peaks_and_precision():
    from act.compute.estimate import GPUS, peak_flops, same_gpu_type

    assert peak_flops(GPUS["a100"], "fp32") == (19.5e12, "fp32")
    assert peak_flops(GPUS["a100"], "fp32", tf32=True) == (156e12, "tf32")
    assert peak_flops(GPUS["h100"], "fp16") == (989e12, "fp16") and peak_flops(GPUS["h200"], "bf16")[0] == 989e12
    assert peak_flops(GPUS["h200"], "fp32", tf32=True)[0] == 495e12 == GPUS["h100"].tf32
    assert same_gpu_type(GPUS["a100"], "NVIDIA A100-SXM4-80GB") and same_gpu_type(GPUS["h200"], "NVIDIA H200")
    assert not same_gpu_type(GPUS["h200"], "NVIDIA GH200 480GB") and not same_gpu_type(GPUS["h100"], "NVIDIA H200")
    assert not same_gpu_type(GPUS["a100"], "cpu") and not same_gpu_type(GPUS["a100"], None)


@pytest.mark.parametrize("budget", [{"reference": {"method": "ct", "batch": 64, "steps": 1000}}, {"flops": 2.5e15}])
def test_matched_compute_steps_follow_the_budget(tmp_path, capsys, budget):
    from act.compute.budget import plan_budget

    exp, costs = _experiment(tmp_path, budget), _costs(tmp_path)
    # --cost-dir: the experiment folder (holding cost/) works too
    rc, out, _ = _run(capsys, "-c", exp, "--gpu", "a100", "--cost-dir", tmp_path, "--out", tmp_path / "e.json")
    assert rc == 0
    rows = _rows(tmp_path / "e.json")
    planned = {r["method"]: r["steps"] for r in plan_budget(exp, sorted(costs.rglob("*.json")))["runs"]}
    assert {m: r["steps"] for m, r in rows.items()} == planned
    assert planned == ({"ct": 1000, "act": 333} if "reference" in budget else {"ct": 2500, "act": 833})
    assert rows["act"]["gpu_hours_total"] == pytest.approx(planned["act"] * 3e12 / (312e12 * 0.35) * 2 / 3600, rel=1e-12)


def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    exp, costs = _experiment(tmp_path, {"steps": 10}), _costs(tmp_path)
    out = tmp_path / "never.md"
    for argv, words in [
        (["-c", exp, "--gpu", "v100", "--cost-dir", costs], ("v100", "a100, h100, h200")),
        (["-c", tmp_path / "nope.yaml", "--gpu", "a100", "--cost-dir", costs], ("nope.yaml", "experiment YAML")),
        (["-c", exp, "--gpu", "a100", "--cost-dir", tmp_path / "empty"], ("--cost-dir", "--measure")),
        (["-c", exp, "--gpu", "a100"], ("--cost-dir", "--measure")),
        (["-c", exp, "--gpu", "a100", "--cost-dir", costs, "--utilization", "1.5"], ("--utilization",)),
    ]:
        rc, stdout, err = _run(capsys, *argv, "--out", out)
        assert rc == 2 and stdout == "" and len(err.strip().splitlines()) == 1, (argv, err)
        assert all(w in err for w in words), (argv, err)
    (costs / "toy2d" / "act_b64.json").unlink()
    rc, stdout, err = _run(capsys, "-c", exp, "--gpu", "a100", "--cost-dir", costs, "--out", out)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "act_b64.json" in err and "--measure" in err
    rc, _, err = _run(capsys, "-c", exp, "--gpu", "a100", "--cost-dir", costs, "--out", tmp_path / "e.txt")
    assert rc == 2 and ".md, .csv or .json" in err
    assert not out.exists() and not (tmp_path / "e.txt").exists()


def test_measure_on_a_toy_config_and_cache(tmp_path, capsys, monkeypatch):
    """--measure counts FLOPs here (batch 2, scaled): act cost's FLOPs at the full batch; a rerun reads the cache."""
    import act.compute.cost
    from act.config import load_config
    from act.compute.cost import measure_cost

    exp = _experiment(tmp_path, {"reference": {"method": "ct", "batch": 64, "steps": 100}}, gpu=1)
    cache = tmp_path / "cache.json"
    rc, out, err = _run(capsys, "-c", exp, "--gpu", "h200", "--measure", "--cache", cache, "--out", tmp_path / "e.md")
    assert rc == 0 and "measured in" in err and (tmp_path / "e.md").read_text() == out
    assert len(json.loads(cache.read_text())["entries"]) == 2
    full = measure_cost(load_config(TOY, ("train.batch_size=64", "train.device=cpu")), steps=1, warmup=0)
    rc, _, _ = _run(capsys, "-c", exp, "--gpu", "h200", "--measure", "--cache", cache, "--out", tmp_path / "e.json")
    rows = _rows(tmp_path / "e.json")
    assert rows["ct"]["flops_per_step"] == pytest.approx(full["flops_per_step"], rel=0.05)
    assert rows["act"]["steps"] == int(100 * rows["ct"]["flops_per_step"] / rows["act"]["flops_per_step"])

    def boom(*a, **k):
        raise AssertionError("measured again")

    monkeypatch.setattr(act.compute.cost, "measure_cost", boom)
    rc, out2, err = _run(capsys, "-c", exp, "--gpu", "h200", "--measure", "--cache", cache)
    assert rc == 0 and err.count("(cached)") == 2 and out2 == out
    assert "random" not in out  # l2: no LPIPS, no random VGG weights


def test_light_imports():
    """act --help imports every command module: this one and act.compute.estimate pull in no torch, numpy or yaml."""
    code = ("import sys, act.commands.estimate, act.compute.estimate; "
            "print([m for m in ('torch', 'numpy', 'yaml') if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert res.stdout.strip() == "[]"


def test_jobs_per_run_and_too_few_retries(tmp_path, capsys):
    """jobs/run = wall minutes per run / resources.train.runtime, rounded up; a run needing more jobs than its
    retries allow (unset: the SLURM profile's 2) is named with the value to set."""
    exp, costs = _experiment(tmp_path, {"steps": 50000}), _costs(tmp_path)
    raw = yaml.safe_load(exp.read_text())
    raw["resources"]["train"]["runtime"] = 15
    exp.write_text(yaml.safe_dump(raw))
    rc, out, _ = _run(capsys, "-c", exp, "--gpu", "a100", "--cost-dir", costs, "--out", tmp_path / "e.json")
    ct = _rows(tmp_path / "e.json")["ct"]
    minutes = 50000 * 1e12 / (19.5e12 * 0.35) / 2 / 60  # 61.05: ct's wall minutes per run (2 GPUs)
    # each 15-minute job trains 10 (the profile's SIGTERM comes 5 minutes before the limit): 7 jobs, not 5
    assert rc == 0 and ct["allocations"] == math.ceil(minutes / 10) == 7 and ct["train_retries"] == 2
    assert "toy2d/ct b64 needs 7 training jobs of 15 min (resources.train.runtime) but may be resubmitted 2 times: " \
           "set resources.train.retries to 6 or more" in out and "| jobs/run |" in out
    raw["resources"]["train"]["retries"] = 6
    exp.write_text(yaml.safe_dump(raw))
    rc, out, _ = _run(capsys, "-c", exp, "--gpu", "a100", "--cost-dir", costs)
    assert rc == 0 and "Warnings" not in out


def test_train_defaults_are_the_schemas_and_profiles():
    from act.compute.estimate import TRAIN_RETRIES, TRAIN_RUNTIME

    assert yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())["retries"] == TRAIN_RETRIES

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    train = schema["properties"]["resources"]["properties"]["train"]["properties"]
    assert train["runtime"]["default"] == TRAIN_RUNTIME and "default" not in schema["definitions"]["job"]["properties"]["retries"]

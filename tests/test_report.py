"""act budget / aggregate / tables / figures / toy-metrics on a small experiment folder.

The toy dataset is real end to end (act train, sample, toy-metrics, theory on budgeted
configs); the image dataset ``cifar10`` is synthetic files in the writers' formats
(grids from act.viz.save_grid, theory CSVs from act.theory.report.write_table).
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from act.cli import main
from act.config import load_config, save_config
from act.errors import ConfigError
from act.provenance import write_json_atomic

ROOT = Path(__file__).resolve().parents[1]
TOY_FPS = {"ct": 1.0e6, "act": 2.5e6}  # FLOPs per step per image of batch: ACT trains a discriminator too
IMG_FPS = {"ct": 4.0e9, "ict": 4.1e9, "act": 9.0e9}
IMG_BATCHES, IMG_SEEDS = (16, 32), (0, 1)

EXPERIMENT = {
    "name": "test",
    "defaults": {"checkpoints": 2},
    "datasets": {
        "toy_gmm": {
            "config": str(ROOT / "config/train/ct_toy2d.yaml"),
            "methods": {"ct": None, "act": str(ROOT / "config/train/act_toy2d.yaml")},
            "overrides": {"data": {"options": {"kind": "gaussian_mixture", "n": 512, "seed": 0}},
                          "method": {"s1": 10}, "train": {"device": "cpu"},
                          "sample": {"num_samples": 128, "batch_size": 128}},
            "batch_sizes": [16, 32], "seeds": [0],
            "budget": {"reference": {"method": "ct", "batch": 32, "steps": 8}},
        },
        "cifar10": {
            "config": {"data": {"name": "cifar10"}, "model": {"preset": "tiny"}, "method": {"name": "ct", "distance": "l2"}},
            "methods": {"ct": None, "ict": None,
                        "act": {"method": {"name": "act", "distance": "l2"}, "model": {"discriminator": "tiny"}}},
            "overrides": ["train.log_every=5"],
            "batch_sizes": list(IMG_BATCHES), "seeds": list(IMG_SEEDS), "checkpoints": 4,
            "budget": {"flops": "4.0e13"},
        },
    },
}


def cost_json(method, batch, fps, params):
    """The keys of act.compute.cost.measure_cost."""
    return {"method": method, "preset": "tiny", "discriminator": "tiny" if method == "act" else None, "params": params,
            "batch_size": batch, "images_per_step": batch * (2 if method == "act" else 1), "flops_per_step": fps,
            "flops_detail": {"r1_step": fps, "plain_step": fps}, "seconds_per_step": fps / 1e11,
            "images_per_second": 1.0, "warmup_seconds": 0.1, "timed_steps": 1, "device": "cpu", "device_name": "cpu",
            "precision": "fp32", "compile": False, "peak_memory_gib": None, "synthetic_data": True}


def write_costs(exp):
    paths = []
    for m in ("ct", "act"):
        for b in (16, 32):
            p = exp / "cost" / "toy_gmm" / f"{m}_b{b}.json"
            write_json_atomic(p, cost_json(m, b, TOY_FPS[m] * b, {"generator": 33_000, **({"discriminator": 20_000} if m == "act" else {})}))
            paths.append(p)
    for m in ("ct", "ict", "act"):
        for b in IMG_BATCHES:
            p = exp / "cost" / "cifar10" / f"{m}_b{b}.json"
            write_json_atomic(p, cost_json(m, b, IMG_FPS[m] * b, {"generator": 1_200_000, **({"discriminator": 800_000} if m == "act" else {})}))
            paths.append(p)
    return paths


def fake_image_run(exp, method, batch, seed, plan):
    """Run folder, samples, metrics, theory and inpainting of one image run, in the real writers' formats."""
    from act.theory.analysis import COLUMNS, TheoryResult
    from act.theory.report import write_table
    from act.viz import save_grid

    rel = Path("cifar10", method, f"b{batch}", f"s{seed}")
    cfg = load_config(exp / "configs" / rel.with_suffix(".yaml"))
    run = exp / "runs" / rel
    run.mkdir(parents=True)
    save_config(cfg, run / "config.yaml")
    ips = batch * (2 if method == "act" else 1)
    with open(run / "train_log.jsonl", "w") as f:
        for step in sorted({*range(cfg.train.log_every, cfg.train.steps + 1, cfg.train.log_every), cfg.train.steps}):
            f.write(json.dumps({"step": step, "loss_ct": 1.0 / step, "num_scales": 10, "ema_decay": 0.9, "lr": 1e-4,
                                "images_seen": step * ips, "wall_time": 0.5 * step}) + "\n")
    base = {"ct": 60.0, "ict": 50.0, "act": 40.0}[method] + 10 * (batch == 16) + seed
    for step in plan["checkpoint_steps"]:
        (run / "checkpoints").mkdir(exist_ok=True)
        (run / "checkpoints" / f"step-{step:07d}.pt").write_bytes(b"")
        quality = base * (1 + 2 * (1 - step / cfg.train.steps))
        for nfe in (1, 2):
            d = exp / "samples" / rel / f"step{step}_nfe{nfe}"
            save_grid(torch.rand(16, 3, 8, 8) * 2 - 1, d / "grid.png")
            np.savez(d / "samples.npz", images=np.zeros((16, 8, 8, 3), np.uint8))
            sigmas = [80.0, 0.661][:nfe]
            write_json_atomic(d / "sample.json", {"checkpoint": str(run / "checkpoints" / f"step-{step:07d}.pt"), "step": step,
                                                  "network": "target", "num": 16, "seed": 0, "sigmas": sigmas, "config": {}})
            isc = {"value": 5.0 + seed, "std": 0.1, "splits": 10} if method != "ict" else {"value": None, "missing": "no weights"}
            write_json_atomic(exp / "metrics" / rel / f"step{step}_nfe{nfe}.json", {
                "fid": quality * (0.8 if nfe == 2 else 1.0), "kid_mean": 0.01, "kid_std": 0.001, "kid_subsets": 100,
                "kid_subset_size": 16, "precision": 0.5, "recall": 0.4, "pr_k": 3, "inception_score": isc,
                "num_samples": 16, "num_ref": 64, "dataset": "cifar10"})
    n = 6
    table = {c: np.linspace(0.1, 1.0, n) * (i + 1) for i, c in enumerate(COLUMNS)}
    table["k"], table["sigma"] = np.arange(n), np.geomspace(0.002, 80, n)
    table["bound_online"] = np.cumsum(np.full(n, 2.0))
    step = plan["steps"]
    write_table(TheoryResult(table, {}), exp / "theory" / rel / f"step-{step:07d}.csv")
    write_json_atomic(exp / "theory" / rel / f"step-{step:07d}.json", {
        "step": step, "method": method, "distance": "sliced W2", "final_bound_online": 12.0, "final_bound_target": 11.0,
        "eps_term": 0.01, "w_coupled_T": 3.0, "w_independent_T": 3.5, "w_data_floor": 0.5, "one_step_w_probe": 2.0,
        "one_step_w_independent": 2.5, "one_step_bound_measured": 13.0, "lipschitz_max": 4.0,
        "js_mean": 0.3 if method == "act" else None, "bound_holds": True, "num_probe": 64})
    if seed == 0:
        save_grid(torch.rand(24, 3, 8, 8) * 2 - 1, exp / "inpaint" / rel / "inpaint.png", nrow=8)
        write_json_atomic(exp / "inpaint" / rel / "inpaint.json", {"checkpoint": str(run / "model.pt"), "mask": "center",
                                                                    "psnr_filled_mean": 20.0 + seed, "num": 8})


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    exp = root / "results" / "test"
    exp_cfg = root / "experiment.yaml"
    exp_cfg.write_text(yaml.safe_dump(EXPERIMENT))
    costs = write_costs(exp)
    assert main(["budget", "--experiment-config", str(exp_cfg), "--costs", *map(str, costs),
                 "--out", str(exp / "budget.json"), "--configs-dir", str(exp / "configs")]) == 0
    plan = json.loads((exp / "budget.json").read_text())
    runs = {(r["dataset"], r["method"], r["batch"]): r for r in plan["runs"]}
    (exp / "cost" / "cifar10" / "ict_b32.json").unlink()  # aggregate falls back on budget.json's FLOPs
    for m in ("ct", "ict", "act"):
        for b in IMG_BATCHES:
            if (m, b) == ("ict", 16):
                continue  # a planned run that never ran: no rows
            for s in IMG_SEEDS:
                fake_image_run(exp, m, b, s, runs[("cifar10", m, b)])
    for m in ("ct", "act"):  # real toy runs: train, sample, toy-metrics (and theory for CT)
        for b in (16, 32):
            rel = Path("toy_gmm", m, f"b{b}", "s0")
            run = exp / "runs" / rel
            assert main(["train", "-c", str(exp / "configs" / rel.with_suffix(".yaml")), "-o", str(run), "--no-progress"]) == 0
            steps = runs[("toy_gmm", m, b)]["steps"]
            for nfe in ((1, 2) if b == 32 else (1,)):
                out = exp / "samples" / rel / f"step{steps}_nfe{nfe}"
                assert main(["sample", "--checkpoint", str(run / "model.pt"), "-o", str(out), "--steps", str(nfe),
                             "--device", "cpu", "--no-progress"]) == 0
                assert main(["toy-metrics", "--samples", str(out / "samples.npz"),
                             "-o", str(exp / "metrics" / rel / f"step{steps}_nfe{nfe}.json")]) == 0
    rel = Path("toy_gmm", "ct", "b32", "s0")
    ckpts = sorted(str(p) for p in (exp / "runs" / rel / "checkpoints").glob("step-*.pt"))
    assert main(["theory", "--checkpoint", *ckpts, "-o", str(exp / "theory" / rel), "--num-probe", "64",
                 "--lipschitz-points", "2", "--lipschitz-iters", "2", "--device", "cpu", "--no-progress"]) == 0
    assert main(["aggregate", "--experiment-dir", str(exp), "--out", str(exp / "summary.csv")]) == 0
    return {"exp": exp, "config": exp_cfg, "plan": plan, "runs": runs, "costs": costs}


def test_budget_steps_inverse_to_flops_per_step(experiment):
    runs = experiment["runs"]
    toy_budget = 8 * TOY_FPS["ct"] * 32
    assert runs[("toy_gmm", "ct", 32)]["steps"] == 8  # the reference gets exactly its steps
    for (ds, m, b), r in runs.items():
        budget = toy_budget if ds == "toy_gmm" else 4.0e13
        assert r["budget_flops"] == pytest.approx(budget)
        assert r["steps"] == max(1, math.floor(budget / r["flops_per_step"] + 1e-9))
        assert r["steps"] * r["flops_per_step"] <= budget * (1 + 1e-9) < (r["steps"] + 1) * r["flops_per_step"]
        assert r["images_seen"] == r["steps"] * b * (2 if m == "act" else 1)
        assert r["checkpoint_steps"][-1] == r["steps"] and r["estimated_wall_seconds"] == pytest.approx(r["steps"] * r["seconds_per_step"])
        for seed, path in r["configs"].items():
            cfg = load_config(path)
            assert (cfg.train.steps, cfg.train.batch_size, cfg.train.seed, cfg.method.name) == (r["steps"], b, int(seed), m)
            assert cfg.train.ckpt_every == r["ckpt_every"] and r["ckpt_every"] % cfg.train.log_every == 0
    assert abs(runs[("cifar10", "ct", 16)]["steps"] - 2 * runs[("cifar10", "ct", 32)]["steps"]) <= 1  # half the FLOPs, twice the steps
    assert runs[("cifar10", "act", 32)]["steps"] < runs[("cifar10", "ct", 32)]["steps"]
    assert load_config(runs[("cifar10", "act", 32)]["configs"]["1"]).model.discriminator == "tiny"
    assert load_config(runs[("cifar10", "ict", 32)]["configs"]["0"]).train.log_every == 5  # the dataset override


def test_budget_errors_and_cost_configs(experiment, tmp_path):
    from act.compute.budget import checkpoint_schedule, plan_budget, write_cost_configs

    assert checkpoint_schedule(2000, 4, 25) == (500, 25, [500, 1000, 1500, 2000])
    assert checkpoint_schedule(9, 4, 25)[2][-1] == 9
    with pytest.raises(KeyError, match="ict_b16"):  # a missing cost file is named
        plan_budget(experiment["config"], [p for p in experiment["costs"] if p.name != "ict_b16.json" and p.is_file()])
    written = write_cost_configs(experiment["config"], tmp_path / "configs")
    assert len(written) == 4 + 6 and all(load_config(p).train.batch_size in (16, 32) for p in written)
    bad = {**EXPERIMENT, "datasets": {"x": {**EXPERIMENT["datasets"]["toy_gmm"], "budget": {"flops": 1, "steps": 3}}}}
    with pytest.raises(ConfigError, match="exactly one"):
        plan_budget(bad, [])


def test_aggregate_rows_and_columns(experiment):
    from act.report.aggregate import COLUMNS, read_summary

    df = read_summary(experiment["exp"] / "summary.csv")
    assert set(COLUMNS) <= set(df.columns) and "loss_ct" in df.columns
    img = df[df["dataset"] == "cifar10"]
    n_points = sum(len(experiment["runs"][("cifar10", m, b)]["checkpoint_steps"]) * len(IMG_SEEDS) * 2
                   for m in ("ct", "ict", "act") for b in IMG_BATCHES if (m, b) != ("ict", 16))
    assert len(img) == n_points and img["fid"].notna().all()
    assert not img.duplicated(["method", "batch", "seed", "ckpt_step", "nfe"]).any()
    act32 = img[(img["method"] == "act") & (img["batch"] == 32)]
    assert (act32["params_discriminator"] == 800_000).all()
    assert (act32["train_flops"] == act32["ckpt_step"] * IMG_FPS["act"] * 32).all()
    assert (act32["images_seen"] == act32["ckpt_step"] * 64).all() and act32["wall_time"].notna().all()
    final = img[img["final"].astype(bool)]
    assert final["theory_final_bound_online"].eq(12.0).all() and final.loc[final["seed"] == 0, "inpaint_psnr"].eq(20.0).all()
    assert img.loc[img["method"] == "ict", "inception_score"].isna().all()  # IS "missing" -> NaN
    # the CT settings of each run's consistency loss: ACT's CT term and CT share them here, iCT does not
    recipes = img.groupby("method")["ct_recipe"].unique()
    assert list(recipes["ct"]) == list(recipes["act"]) == ["s0 2, s1 150, mu0 0.9, target ema"]
    assert list(recipes["ict"]) == ["s0 10, s1 1280, mu0 0.9, target online"]
    ict = img[img["method"] == "ict"]  # its cost file was removed after budgeting
    assert (ict["flops_per_step"] == IMG_FPS["ict"] * 32).all() and ict["seconds_per_step"].isna().all()
    toy = df[df["dataset"] == "toy_gmm"]
    assert toy["toy"].astype(bool).all() and (toy["toy_kind"] == "gaussian_mixture").all()
    sampled = toy[toy["nfe"].notna()]
    assert len(sampled) == 6 and (sampled["w1"] > 0).all() and sampled["fid"].isna().all()
    # the trivial references of act toy-metrics' eval seed (0 by default), read from its JSON
    assert (sampled["w1_data_floor"] < sampled["w1_gaussian"]).all() and (sampled["w1_gaussian"] < sampled["w1_pointmass"]).all()
    assert (sampled["eval_seed"] == 0).all() and img["eval_seed"].isna().all()
    theory = toy[(toy["method"] == "ct") & (toy["batch"] == 32) & toy["theory_final_bound_online"].notna()]
    assert len(theory) >= 2 and toy["ckpt_step"].max() == 16  # CT at b16 trains 16 steps


def test_aggregate_reads_only_the_named_inputs(experiment, tmp_path):
    """The workflow's form: the run outputs its rule declares, so stale folders of other runs or stages are left out."""
    from act.plan.layout import STAGES, run_dirs
    from act.report.aggregate import aggregate, theory_sigma
    from act.report.figures import make_figures

    exp = experiment["exp"]
    walked = aggregate(exp)
    folders = {stage: [str(f) for _, f in run_dirs(exp, stage)] for stage in STAGES}
    named = [f"{f}/model.pt" for f in folders["runs"]] + [f"{f}/inpaint.json" for f in folders["inpaint"]]
    named += [f for stage in ("samples", "metrics", "theory") for f in folders[stage]]
    pd.testing.assert_frame_equal(aggregate(exp, named), walked)  # everything named: the folder's table
    images = [f for f in named if "/toy_gmm/" not in f and "/theory/" not in f]  # a plan without the toy runs, no theory
    part = aggregate(exp, images)
    assert set(part["dataset"]) == {"cifar10"} and part["theory_final_bound_online"].isna().all()
    cif = walked[walked["dataset"] == "cifar10"].reset_index(drop=True)
    same = [c for c in part.columns if not c.startswith("theory_")]  # (loss columns of the toy ACT runs: gone)
    pd.testing.assert_frame_equal(part[same], cif[same], check_dtype=False)  # (dtypes: of the rows present)
    with pytest.raises(ValueError, match="not a run's output"):
        aggregate(exp, [exp / "budget.json"])
    assert theory_sigma(exp, images).empty and set(theory_sigma(exp)["dataset"]) == {"cifar10", "toy_gmm"}
    index = make_figures(part, theory_sigma(exp, images), tmp_path / "figures")
    assert {"theory_bound_cifar10", "distance_vs_sigma_cifar10"} <= {s["figure"] for s in index["skipped"]}
    assert not any("toy_gmm" in w for w in index["written"]) and not index["errors"]


def test_aggregate_of_an_empty_or_partial_folder(tmp_path):
    from act.report.aggregate import COLUMNS, aggregate

    assert list(aggregate(tmp_path).columns) == COLUMNS
    (tmp_path / "metrics" / "d" / "ct" / "b8" / "s0").mkdir(parents=True)
    (tmp_path / "metrics" / "d" / "ct" / "b8" / "s0" / "step10_nfe1.json").write_text("{not json")
    df = aggregate(tmp_path)
    assert len(df) == 1 and math.isnan(df["fid"][0]) and math.isnan(df["flops_per_step"][0])


def test_tables(experiment, tmp_path):
    from act.report.tables import columns

    out = tmp_path / "tables"
    assert main(["tables", "--summary", str(experiment["exp"] / "summary.csv"), "--out", str(out)]) == 0  # default reference files
    cif = pd.read_csv(out / "cifar10.csv")
    assert set(columns(False)) <= set(cif.columns)
    measured = cif[cif["source"] == "measured"]
    assert len(measured) == 5 and set(measured["n seeds"]) == {2}
    assert set(zip(measured["method"], measured["batch size"])) == {("ACT", 16), ("ACT", 32), ("CT", 16), ("CT", 32), ("iCT", 32)}
    act32 = measured[(measured["method"] == "ACT") & (measured["batch size"] == 32)].iloc[0]
    assert act32["1-step FID"] == pytest.approx(40.5) and act32["1-step FID std"] == pytest.approx(np.std([40, 41], ddof=1))
    paper = cif[cif["source"] == "paper"].set_index("method")
    assert set(paper.index) == {"ACT", "CT", "iCT"}
    assert paper.loc["ACT", "1-step FID"] == 6.0 and paper.loc["ACT", "params G (M)"] == 27.5 and paper.loc["ACT", "status"] == "verified"
    assert paper.loc["CT", "2-step FID"] == 5.83 and "unverified" in paper.loc["CT", "status"]
    assert list(cif["method"]) == ["ACT", "ACT", "ACT", "CT", "CT", "CT", "iCT", "iCT"]  # grouped, measured first
    md, tex = (out / "cifar10.md").read_text(), (out / "cifar10.tex").read_text()
    for col in columns(False):
        assert col in md and col.replace("_", r"\_") in tex
    assert "40.50 ± 0.71" in md and r"40.50 $\pm$ 0.71" in tex and r"\toprule" in tex and "Consistency Models paper" in md
    toy = pd.read_csv(out / "toy_gmm.csv")
    assert set(columns(True)) <= set(toy.columns) and "1-step FID" not in toy.columns
    assert (toy["source"] == "measured").all() and len(toy) == 4 and toy["1-step W1"].notna().all()
    assert "1-step W1" in (out / "toy_gmm.md").read_text() and (out / "toy_gmm.tex").is_file()
    mapped = tmp_path / "mapped"  # another key compared with a reported dataset; and cifar10 with none
    assert main(["tables", "--summary", str(experiment["exp"] / "summary.csv"), "--out", str(mapped),
                 "--reported-as", "toy_gmm=imagenet64", "--reported-as", "cifar10="]) == 0
    assert (pd.read_csv(mapped / "cifar10.csv")["source"] == "measured").all()
    assert "paper" in set(pd.read_csv(mapped / "toy_gmm.csv")["source"])


def test_tables_name_each_arms_consistency_recipe():
    from act.report.tables import recipe_note

    rows = pd.DataFrame({"method": ["ct", "ct", "act", "ict", "actnoadv"],
                         "ct_recipe": ["s0 2, s1 30, mu0 0.5, target ema"] * 3 + ["s0 10, s1 256, mu0 0.5, target online",
                                                                                 "s0 2, s1 30, mu0 0.5, target ema"]})
    assert recipe_note(rows).endswith(": ACT / ACT-noadv / CT (s0 2, s1 30, mu0 0.5, target ema); "
                                      "iCT (s0 10, s1 256, mu0 0.5, target online).")
    assert recipe_note(rows.assign(ct_recipe=None)) is None and recipe_note(rows[["method"]]) is None


def test_figures_written_and_skipped(experiment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the summary's file paths are relative to its own folder, not to here
    out = tmp_path / "figures"
    # the summary and its per-sigma part only (beside it: act aggregate wrote both), and the images they name
    assert (experiment["exp"] / "summary_sigma.csv").is_file()
    assert main(["figures", "--summary", str(experiment["exp"] / "summary.csv"), "--out", str(out)]) == 0
    index = json.loads((out / "figures.json").read_text())
    assert not index["errors"]
    for name in ("samples", "quality_vs_step", "quality_vs_batch", "quality_vs_compute", "theory_bound", "inpainting"):
        assert (out / f"{name}_cifar10.png").stat().st_size > 0 and (out / f"{name}_cifar10.pdf").is_file()
    for name in ("samples", "quality_vs_step", "quality_vs_batch", "quality_vs_compute", "theory_bound"):
        assert (out / f"{name}_toy_gmm.png").is_file() and (out / f"{name}_toy_gmm.pdf").is_file()
    assert (out / "lambda_schedule.png").is_file() and (out / "lambda_schedule.pdf").is_file()
    assert (out / "distance_vs_sigma_cifar10.png").is_file() and (out / "discriminator_cifar10.png").is_file()
    assert (out / "distance_vs_sigma_toy_gmm.png").is_file()
    # toy runs have no inpainting, and the fixture's toy theory has no ACT run
    assert [s["figure"] for s in index["skipped"]] == ["inpainting_toy_gmm", "discriminator_toy_gmm"]


def test_figures_skip_missing_inputs(tmp_path, capsys):
    from act.report.aggregate import aggregate, theory_sigma
    from act.report.figures import make_figures

    exp = tmp_path / "exp"
    (exp / "runs" / "d" / "ct" / "b8" / "s0" / "checkpoints").mkdir(parents=True)  # a run with nothing measured yet
    (exp / "runs" / "d" / "ct" / "b8" / "s0" / "checkpoints" / "step-0000010.pt").touch()
    index = make_figures(aggregate(exp), theory_sigma(exp), tmp_path / "figs")
    assert [Path(p).name for p in index["written"]] == ["lambda_schedule.png", "lambda_schedule.pdf"]
    assert {s["figure"] for s in index["skipped"]} == {f"{n}_d" for n in ("quality_vs_step", "quality_vs_batch", "quality_vs_compute",
                                                                        "samples", "theory_bound", "inpainting",
                                                                        "distance_vs_sigma", "discriminator")}
    assert "skipping samples_d" in capsys.readouterr().err


def test_tables_give_a_released_checkpoint_its_own_row(experiment, tmp_path):
    """A released checkpoint's folder (import.json + metrics/), in the summary's released part (act aggregate
    --released), is one table row beside the measured ones: its FID, its file's step and batch, no seeds, never
    averaged in and never in summary.csv; a dataset with only released rows gets a table too."""
    from act.plan.layout import released_dir

    exp = experiment["exp"]
    folders = []
    for dataset, name, fid in (("cifar10", "official", 6.3), ("imagenet64", "official", 12.0)):
        folder = released_dir(tmp_path / "exp", dataset, name)
        write_json_atomic(folder / "import.json", {
            "step": 150000, "source": "/ckpt/cifar10_fid_6_0.ckpt", "released_as": "cifar10_fid_6_0.ckpt",
            "source_sha256": "ab" * 32, "train": {"steps": 300000, "batch_size": 80},
            "params": {"generator": 27_500_000, "discriminator": 17_976_000}})
        for nfe, value in ((1, fid), (2, fid - 1)):
            write_json_atomic(folder / "metrics" / f"step150000_nfe{nfe}.json",
                              {"fid": value, "precision": 0.7, "recall": 0.5, "inception_score": {"value": 9.1, "std": 0.1}})
        folders.append(str(folder))
    out, summary = tmp_path / "tables", tmp_path / "summary.csv"
    assert main(["aggregate", "--experiment-dir", str(exp), "--released", *folders, "--out", str(summary)]) == 0
    from act.report.aggregate import resolve_paths

    # released rows apart; the files rows name are relative to each summary's folder, and the same files
    pd.testing.assert_frame_equal(resolve_paths(pd.read_csv(summary), tmp_path),
                                  resolve_paths(pd.read_csv(exp / "summary.csv"), exp))
    assert pd.read_csv(summary)["samples_dir"].dropna().str.startswith("..").all()
    released = pd.read_csv(tmp_path / "summary_released.csv")
    assert len(released) == 4 and set(released["name"]) == {"official"} and set(released["nfe"]) == {1, 2}
    assert main(["tables", "--summary", str(summary), "--out", str(out)]) == 0  # the released part beside it
    cif = pd.read_csv(out / "cifar10.csv")
    rel = cif[cif["source"] == "released"]
    assert len(rel) == 1 and len(cif[cif["source"] == "measured"]) == 5  # the measured means are untouched
    r = rel.iloc[0]
    assert (r["method"], r["1-step FID"], r["2-step FID"], r["IS"]) == ("ACT", 6.3, 5.3, 9.1)
    assert (r["steps"], r["batch size"]) == (150000, 80) and pd.isna(r["n seeds"]) and pd.isna(r["1-step FID std"])
    assert r["params G (M)"] == pytest.approx(27.5) and r["images seen"] == 150000 * 80 * 2
    assert list(cif["source"][cif["method"] == "ACT"]) == ["measured", "measured", "released", "paper"]
    md = (out / "cifar10.md").read_text()
    assert "cifar10_fid_6_0.ckpt (sha256 abababababab...)" in md and "Released rows" in md
    assert set(pd.read_csv(out / "imagenet64.csv")["source"]) == {"released", "paper"}

    bad = tmp_path / "exp" / "released" / "cifar10" / "missing"
    bad.mkdir(parents=True)
    assert main(["aggregate", "--experiment-dir", str(exp), "--released", str(bad),
                 "--out", str(tmp_path / "t2" / "summary.csv")]) == 2
    assert not (tmp_path / "t2").exists()

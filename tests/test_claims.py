"""The verdict logic of act claims, on synthetic summary tables whose answers are known."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from act.report import verdicts as V
from act.report.aggregate import complete
from act.report.claim_rows import final_rows, quality_metric
from act.report.claims import claims_table
from act.report.claims_output import write_claims
from act.report.claims_quality import reach_fraction

FPS = {"ct": 1.0e9, "ict": 1.0e9, "act": 2.0e9, "actsteps": 2.0e9, "actnoadv": 2.0e9, "actpaper": 2.0e9}  # at b16
METHOD = {"ct": ("ct", math.nan), "ict": ("ict", math.nan), "act": ("act", 0.3), "actsteps": ("act", 0.3),
          "actnoadv": ("act", 0.0), "actpaper": ("act", 0.3)}
GAUSS = 0.27  # the moment-matched Gaussian's W1 on the 8-Gaussian mixture


def summary(arms, seeds=(0, 1, 2), dataset="toy2d", metric="w1", gauss=GAUSS, checkpoints=4, nfes=(1, 2), recipes=None):
    """Rows like act aggregate's. ``arms[arm] = (batches {batch: steps}, value(seed, step, nfe))``; every run
    trains its own schedule of ``steps``, checkpoints at 1/checkpoints of it; the last is final. ``recipes``: arm ->
    its ct_recipe column (default: none)."""
    rows = []
    for arm, (batches, value) in arms.items():
        name, lam = METHOD[arm]
        for b, steps in batches.items():
            for s in seeds:
                for k in np.linspace(steps / checkpoints, steps, checkpoints).astype(int):
                    for nfe in nfes:
                        rows.append({"dataset": dataset, "method": arm, "method_name": name, "lambda_max": lam,
                                     "ct_recipe": (recipes or {}).get(arm, math.nan),
                                     "batch": b, "seed": s, "ckpt_step": int(k), "nfe": nfe, "final": k == steps,
                                     "train_steps": steps, metric: value(s, k / steps, nfe),
                                     "w1_gaussian": gauss + 0.01 * np.random.default_rng(100 + s).normal(),
                                     "train_flops": k * FPS[arm] * b / 16,
                                     "images_per_step": b * (2 if name == "act" else 1)})
    df = pd.DataFrame(rows)
    df["nfe"] = df["nfe"].astype("Int64")
    return complete(df)  # as read_summary gives it: the toy column from the metrics


def level(v, scale=0.005, offset=0):
    """Final value v (seed noise ``scale``); earlier in the run 0.3 worse: a curve that converges."""
    return lambda s, frac, nfe: v + 0.3 * (1 - frac) + scale * np.random.default_rng(s + offset).normal() + 0.01 * (nfe - 1)


def row(table, claim, nfe=1, scale=None):
    t = table[(table["claim"] == claim) & ((table["nfe"] == nfe) if nfe else table["nfe"].isna())]
    if scale is not None:
        t = t[t["scale"].str.startswith(scale)]
    assert len(t) == 1, t[["claim", "scale", "nfe", "verdict"]]
    return t.iloc[0]


# As the embedded default: ACT trained on CT's FLOPs at batch 16 (here 0.9x: 9000 steps at 2x the cost), ACT with
# CT's steps, ACT with lambda_max 0 on ACT's budget, CT at batches 16 and 256.
DEFAULT = {"ct": ({16: 20000, 256: 20000}, level(0.20)), "act": ({16: 9000}, level(0.10, offset=3)),
           "actsteps": ({16: 20000}, level(0.08, offset=5)), "actnoadv": ({16: 9000}, level(0.21, offset=7))}


# ----------------------------------------------------------------------------- statistics
def test_welch_contrast_matches_scipy():
    from scipy import stats

    a, b = [1.0, 2.0, 4.0, 3.5], [0.5, 0.7, 0.4]
    iv = V.welch_contrast([a, b], [1, -1])
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert iv.estimate == pytest.approx(np.mean(a) - np.mean(b))
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert iv.p == pytest.approx(res.pvalue, rel=1e-9) and iv.df == pytest.approx(res.df, rel=1e-9)
    one = V.welch_contrast([a], [1.0])
    ci1 = stats.ttest_1samp(a, 0.0).confidence_interval(0.95)
    assert (one.low, one.high) == pytest.approx((ci1.low, ci1.high), rel=1e-9)
    assert V.welch_contrast([[1.0], b], [1, -1]) is None  # one seed: no interval
    same = V.welch_contrast([[2.0, 2.0], [1.0, 1.0]], [1, -1])
    assert same.se == 0 and same.low == same.high == 1.0 and math.isnan(same.p)


def test_every_verdict_of_the_rule():
    assert V.verdict(V.Interval(1.0, 0.1, 5, 0.5, 1.5, 0.01))[0] == V.HOLDS
    assert V.verdict(V.Interval(-1.0, 0.1, 5, -1.5, -0.5, 0.01))[0] == V.FAILS
    assert V.verdict(V.Interval(0.1, 0.1, 5, -0.2, 0.4, 0.4))[0] == V.INCONCLUSIVE
    assert V.verdict(None)[0] == V.UNDECIDABLE
    # every seed of every group the same: no spread is no evidence, however large the difference
    assert V.verdict(V.welch_contrast([[2.0, 2.0], [1.0, 1.0]], [1, -1]))[0] == V.INCONCLUSIVE


def test_holm_adjusts_step_down_and_keeps_nan_out_of_the_family():
    assert V.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = V.holm([0.01, math.nan, 0.5])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.5)
    assert V.holm_verdict(V.HOLDS, 1.0, 0.2) == V.INCONCLUSIVE
    assert V.holm_verdict(V.HOLDS, 1.0, 0.01) == V.HOLDS and V.holm_verdict(V.INCONCLUSIVE, -1, 0.01) == V.FAILS
    assert V.holm_verdict(V.FAILED_BASELINE, 1.0, 0.01) == V.FAILED_BASELINE


# ----------------------------------------------------------------------------- quality rows
def test_the_default_design_answers_every_core_row():
    t = claims_table(summary(DEFAULT))
    for nfe in (1, 2):
        assert row(t, "C1a", nfe)["verdict"] == V.HOLDS  # ACT (10k steps, same FLOPs) vs CT b16
        assert "ACT-steps" not in row(t, "C1a", nfe)["scale"]
        c1b = row(t, "C1b", nfe)
        assert c1b["verdict"] == V.HOLDS and "ACT-steps b16" in c1b["scale"] and c1b["g1_steps"] == 20000
        assert row(t, "C7", nfe)["verdict"] == V.HOLDS  # lambda_max 0 is as bad as CT
        assert row(t, "P1", nfe)["verdict"] == V.INCONCLUSIVE  # CT's seeds agree at both batches
    c2 = row(t, "C2")
    assert c2["verdict"] == V.HOLDS and "batch 1/16, images per step 1/8, steps 0.45" in c2["scale"]
    # no ACT at a second batch: the extension is not run; S1 for every group
    assert row(t, "X1")["verdict"] == V.NOT_RUN
    assert set(t.loc[t["claim"] == "S1", "verdict"]) == {V.HOLDS}
    assert len(t[(t["claim"] == "S1") & (t["nfe"] == 1)]) == 5
    assert {"quote", "kind", "p", "df", "p_holm", "verdict_holm", "g1_values"} <= set(t.columns)
    assert row(t, "C1a")["kind"] == "claim" and row(t, "P1")["kind"] == "premise"
    assert "larger batch sizes are needed" in row(t, "P1")["quote"]
    assert row(t, "C1a")["g1_values"].startswith("s0=")


def test_act_arms_with_other_ct_settings_are_not_compared_with_ct():
    """toy_full's actpaper (ACT at mu0 0.9 beside CT at 0.5) is better and closer to CT's FLOPs than act, but its CT
    term trains another recipe: it keeps its S1 row and enters no comparison."""
    arms = dict(DEFAULT, actpaper=({16: 9500}, level(0.05, offset=9)))
    same = "s0 2, s1 150, mu0 0.5, target ema"
    recipes = {"ct": same, "act": same, "actsteps": same, "actnoadv": same, "actpaper": same.replace("0.5", "0.9")}
    t = claims_table(summary(arms, recipes=recipes))
    for claim in ("C1a", "C1b", "C2", "C4", "C7"):
        assert not t.loc[t["claim"] == claim, "scale"].str.contains("ACT-paper").any(), claim
    assert "ACT b16 vs ACT-noadv b16" in row(t, "C7")["scale"]
    assert row(t, "S1", scale="ACT-paper b16")["verdict"] == V.HOLDS
    # without the column (older summaries) every ACT arm is taken as sharing CT's settings
    assert "ACT-paper b16" in row(claims_table(summary(arms)), "C1a")["scale"]


def test_c2_needs_fewer_than_half_the_steps_and_a_sixth_of_the_batch():
    slow = dict(DEFAULT, act=({16: 10000}, level(0.1)))  # exactly half of CT's steps is not fewer than half
    t = claims_table(summary({k: v for k, v in slow.items() if k != "actsteps"}))
    assert row(t, "C2")["verdict"] == V.NOT_RUN and "fewer than half" in row(t, "C2")["why"]
    close = {"ct": ({16: 20000, 64: 20000}, level(0.2)), "act": ({16: 8000}, level(0.1))}
    t = claims_table(summary(close))
    assert row(t, "C2")["verdict"] == V.NOT_RUN and "below 1/6" in row(t, "C2")["why"]
    images = {"ct": ({16: 20000, 128: 20000}, level(0.2)), "act": ({16: 8000}, level(0.1))}
    c2 = row(claims_table(summary(images)), "C2")
    assert c2["verdict"] == V.HOLDS and "images per step ACT loads 1/4" in c2["why"]


def test_a_baseline_no_better_than_a_gaussian_voids_the_comparison():
    failed = dict(DEFAULT, ct=({16: 20000, 256: 20000}, level(GAUSS + 0.02)))
    t = claims_table(summary(failed))
    for claim in ("C1a", "C1b", "C2", "P1", "C4"):
        r = row(t, claim)
        assert r["verdict"] == V.FAILED_BASELINE, claim
        assert "not shown better than a moment-matched Gaussian" in r["baseline"]
        assert r["ci_low"] > 0 or claim == "P1"  # the interval is kept, the verdict is not "holds"
    assert row(t, "C7")["verdict"] == V.HOLDS  # an ablation, not the CT baseline
    assert row(t, "S1", scale="CT b16")["verdict"] in (V.FAILS, V.INCONCLUSIVE)
    assert row(t, "S1", scale="ACT b16")["verdict"] == V.HOLDS


def test_one_seed_is_undecidable_and_identical_seeds_are_inconclusive():
    t = claims_table(summary(DEFAULT, seeds=(0,)))
    tested = t[t["claim"].isin(["C1a", "C1b", "C2", "C7", "P1"])]
    assert set(tested["verdict"]) == {V.UNDECIDABLE} and set(tested["p_holm"].isna()) == {True}
    exact = {k: (b, (lambda v: lambda s, f, n: v + 0.3 * (1 - f))(v)) for k, (b, v) in
             {"ct": ({16: 20000}, 0.2), "act": ({16: 10000}, 0.1)}.items()}
    t = claims_table(summary(exact, gauss=0.3))
    assert row(t, "C1a")["verdict"] == V.INCONCLUSIVE and "no spread" in row(t, "C1a")["why"]


def test_matched_compute_uses_own_schedules_not_mid_run_checkpoints():
    # ACT with CT's steps would win, but ACT trained on CT's FLOPs (half the steps) is worse: C1a does not hold
    arms = {"ct": ({16: 20000}, level(0.2)), "act": ({16: 10000}, level(0.4)), "actsteps": ({16: 20000}, level(0.1))}
    t = claims_table(summary(arms))
    c1a, c1b = row(t, "C1a"), row(t, "C1b")
    assert c1a["verdict"] == V.FAILS and c1a["g1_steps"] == 10000 and "1.00x CT's" in c1a["scale"]
    assert c1b["verdict"] == V.HOLDS and c1b["g1_label"].startswith("ACT-steps")
    only_steps = {"ct": ({16: 20000}, level(0.2)), "actsteps": ({16: 20000}, level(0.1))}
    assert row(claims_table(summary(only_steps)), "C1a")["verdict"] == V.NOT_RUN  # 2x CT's FLOPs: not lower cost


def test_convergence_share_of_ct_compute():
    curve = pd.DataFrame({"train_flops": [1.0, 2.0, 3.0, 4.0], "w1": [0.5, 0.3, 0.2, 0.1]})
    assert reach_fraction(curve, "w1", 0.25, True, 8.0) == (pytest.approx(2.5 / 8), True)
    assert reach_fraction(curve, "w1", 0.6, True, 8.0) == (pytest.approx(1 / 8), True)  # already at the first
    assert reach_fraction(curve, "w1", 0.05, True, 8.0) == (pytest.approx(4 / 8), False)
    t = claims_table(summary(DEFAULT))
    c4 = row(t, "C4")
    # ACT's curve 0.1 + 0.3 (1 - f) reaches CT's 0.2 at f = 2/3 of its run, which has 0.9x CT's FLOPs
    assert c4["verdict"] == V.HOLDS and c4["difference"] == pytest.approx(1 - 0.9 * 2 / 3, abs=0.05)
    assert len(t[t["claim"] == "C4"]) == 1  # one-step only


def test_the_batch_sensitivity_extension():
    arms = {"ct": ({16: 20000, 256: 20000}, lambda s, f, n: (0.4 if f == 1 else 0.5) + 0.01 * s),
            "act": ({16: 10000, 256: 10000}, lambda s, f, n: 0.1 + 0.01 * s)}
    t = claims_table(summary(arms, gauss=0.9))
    assert row(t, "X1", scale="b16 vs b256")["verdict"] == V.INCONCLUSIVE  # neither depends on the batch
    rows = summary({"ct": ({16: 20000, 256: 20000}, level(0.2)), "act": ({16: 10000, 256: 10000}, level(0.1))})
    rows.loc[(rows["method"] == "ct") & (rows["batch"] == 16), "w1"] += 0.1  # CT loses 0.1 at the small batch
    t = claims_table(rows)
    assert row(t, "X1")["verdict"] == V.HOLDS and row(t, "X1")["difference"] == pytest.approx(0.1, abs=0.02)
    assert row(t, "P1")["verdict"] == V.HOLDS


# ----------------------------------------------------------------------------- theory, recipes, inpainting
def _with_theory(rows, bound, growth, tightness):
    final = rows["final"].astype(bool)
    for (arm, b), v in bound.items():
        sel = final & (rows["method"] == arm) & (rows["batch"] == b)
        rng = np.random.default_rng(len(arm) + b)
        rows.loc[sel, "theory_final_bound_online"] = v + 0.01 * rng.normal(size=sel.sum())
        rows.loc[sel, "theory_w_coupled_growth_upper"] = growth[arm] + 0.05 * rng.normal(size=sel.sum())
        rows.loc[sel, "theory_bound_tightness"] = tightness[arm]
    return rows


def test_theory_rows_from_the_summary():
    rows = _with_theory(summary({"ct": DEFAULT["ct"], "act": DEFAULT["act"]}),
                        {("ct", 16): 1.5, ("ct", 256): 0.9, ("act", 16): 2.0},
                        {"ct": -0.8, "act": 0.9}, {"ct": 3.0, "act": 12.0})
    t = claims_table(rows)
    c3a = row(t, "C3a", nfe=None)
    assert c3a["verdict"] == V.HOLDS and c3a["difference"] == pytest.approx(0.6, abs=0.05)
    assert row(t, "C3b", nfe=None, scale="CT b16")["verdict"] == V.FAILS  # peaks, then falls
    assert row(t, "C3b", nfe=None, scale="ACT b16")["verdict"] == V.HOLDS
    c3c = row(t, "C3c", nfe=None, scale="ACT b16")
    assert c3c["verdict"] == V.DESCRIBED and c3c["difference"] == pytest.approx(12.0)
    assert set(t.loc[t["claim"].str.startswith("C3") & (t["verdict"] != V.DESCRIBED), "p_holm"].notna()) == {True}
    t = claims_table(summary(DEFAULT))
    assert set(t.loc[t["claim"].str.startswith("C3"), "verdict"]) == {V.NOT_RUN}


def test_shape_summary_of_the_coupled_distance():
    from act.theory.analysis import shape_summary

    sig = np.geomspace(0.002, 80, 20)
    grow = {"w_coupled": np.linspace(0, 1, 20), "sigma": sig}
    peak = {"w_coupled": np.r_[np.linspace(0, 1, 12), np.linspace(0.95, 0.6, 8)], "sigma": sig}
    g, p = shape_summary(grow, 2.0), shape_summary(peak, 2.0)
    assert g["w_coupled_growth_upper"] == pytest.approx(1.0) and g["w_coupled_fall"] == 0.0
    assert g["bound_tightness"] == pytest.approx(2.0) and g["w_coupled_peak_sigma"] == pytest.approx(80)
    assert p["w_coupled_growth_upper"] < -0.5 and p["w_coupled_fall"] == pytest.approx(0.4)
    assert p["w_coupled_peak_sigma"] == pytest.approx(sig[11])


SETTINGS = pd.DataFrame([
    {"dataset": "cifar10", "method": "ACT", "generator_params_M": 27.5, "discriminator_params_M": 18.0,
     "batch_size": 80, "training_iterations": 300000},
    {"dataset": "cifar10", "method": "CT", "generator_params_M": 56, "batch_size": 512, "training_iterations": 800000},
    {"dataset": "imagenet64", "method": "ACT", "generator_params_M": 107.6, "discriminator_params_M": 53.9,
     "batch_size": 320, "training_iterations": 400000},
    {"dataset": "imagenet64", "method": "CT", "generator_params_M": 296, "batch_size": 2048,
     "training_iterations": 800000},
    {"dataset": "lsun_cat256", "method": "ACT", "generator_params_M": 113.7, "batch_size": 640,
     "training_iterations": 800000},
    {"dataset": "lsun_cat256", "method": "CT", "batch_size": 2048, "training_iterations": 1000000}])


def test_recipe_rows_are_decided_without_training():
    t = claims_table(summary(DEFAULT), settings=SETTINGS)
    rec = t[t["dataset"].str.endswith("(recipes)")].set_index(["dataset", "scale"])
    v = rec["verdict"]
    assert v["cifar10 (recipes)", "generator parameters (M)"] == V.HOLDS_RECIPE  # 27.5 / 56 = 0.49
    assert v["cifar10 (recipes)", "generator + discriminator parameters (M)"] == V.FAILS_RECIPE  # 0.81
    assert v["cifar10 (recipes)", "training steps"] == V.HOLDS_RECIPE
    assert v["imagenet64 (recipes)", "training steps"] == V.FAILS_RECIPE  # exactly 1/2 is not "fewer than 1/2"
    assert v["cifar10 (recipes)", "batch (generator)"] == V.HOLDS_RECIPE  # 80 / 512 = 0.156
    assert v["cifar10 (recipes)", "batch (images per step)"] == V.FAILS_RECIPE  # 160 / 512
    assert v["lsun_cat256 (recipes)", "generator parameters (M)"] == V.NOT_RUN  # CT's size not reported
    assert rec.loc[("cifar10 (recipes)", "generator parameters (M)"), "difference"] == pytest.approx(27.5 / 56)
    assert rec["p_holm"].isna().all()


def test_inpainting_rows():
    rows = summary({"ct": ({16: 2000}, level(50.0)), "act": ({16: 1000}, level(40.0))}, dataset="fashion_mnist",
                   metric="fid", nfes=(1,))
    final = rows["final"].astype(bool)
    rng = np.random.default_rng(0)
    rows.loc[final, "inpaint_psnr"] = np.where(rows.loc[final, "method"] == "act", 20.0, 14.0) + rng.normal(0, .1, final.sum())
    rows.loc[final, "inpaint_psnr_trivial"] = 12.0 + rng.normal(0, 0.1, final.sum())
    t = claims_table(rows)
    assert row(t, "C5a", nfe=None)["verdict"] == V.HOLDS
    assert row(t, "C5a", nfe=None)["difference"] == pytest.approx(8.0, abs=0.3)
    assert row(t, "C5b", nfe=None)["verdict"] == V.HOLDS
    assert row(t, "C1a")["baseline"] == ""  # images: no trivial reference measured, no baseline check
    toy = claims_table(summary(DEFAULT))
    assert set(toy.loc[toy["claim"].str.startswith("C5"), "verdict"]) == {V.NOT_RUN}


def test_recipes_under_one_reported_dataset_are_compared_together():
    """The paper configs: one dataset key per recipe (CT b512 800k steps, ACT b80 300k), reported as cifar10."""
    parts = []
    for key, arm, b, steps, fid in (("cifar10_ct", "ct", 512, 800_000, 8.7), ("cifar10_act", "act", 80, 300_000, 6.0)):
        parts.append(summary({arm: ({b: steps}, lambda s, f, n, fid=fid: fid + 0.1 * s)}, seeds=(0, 1),
                             dataset=key, metric="fid", nfes=(1,)))
    t = claims_table(pd.concat(parts), reported=pd.DataFrame(
        [{"dataset": "cifar10", "method": "ACT", "steps_sampling": 1, "metric": "fid", "value": 6.0},
         {"dataset": "cifar10", "method": "CT", "steps_sampling": 1, "metric": "fid", "value": 8.7}]),
        reported_as={"cifar10_ct": "cifar10", "cifar10_act": "cifar10"})
    assert set(t["dataset"]) == {"cifar10 (cifar10_act, cifar10_ct)"}
    c1a = row(t, "C1a")
    assert c1a["scale"].startswith("ACT b80 vs CT b512") and c1a["verdict"] == V.HOLDS
    c1b = row(t, "C1b")  # no ACT run of CT's 800k steps: the row names the pair it lacks
    assert c1b["verdict"] == V.NOT_RUN and c1b["scale"] == "ACT b80 vs CT b512" and "800,000 steps" in c1b["why"]
    c2 = row(t, "C2")
    assert c2["verdict"] == V.HOLDS and "CT 8.7 vs ACT 6" in c2["reported"] and "images per step 1/3.2" in c2["scale"]


def test_final_rows_are_each_runs_own_end():
    rows = summary(DEFAULT)
    fin = final_rows(complete(rows.drop(columns="final")))
    assert (fin["ckpt_step"] == fin["train_steps"]).all() and len(fin) == 5 * 3 * 2
    # without train_steps: each run's last checkpoint; the data kind from the metrics (exact W1, no FID: toy)
    fin = final_rows(complete(rows.drop(columns=["final", "train_steps", "toy"])))
    assert len(fin) == 5 * 3 * 2 and (fin["ckpt_step"] == fin.groupby(["method", "batch", "seed"])["ckpt_step"]
                                      .transform("max")).all()
    assert complete(rows.drop(columns="toy"))["toy"].all()
    images = complete(rows.drop(columns="toy").assign(fid=1.0))
    assert not images["toy"].any() and quality_metric(images) == ("fid", True)
    # a run without its config beside runs with theirs: its own last checkpoint is its final one
    mixed = rows.astype({"final": object, "train_steps": float})
    lone = (mixed["method"] == "ct") & (mixed["seed"] == 0)
    mixed.loc[lone, ["final", "train_steps"]] = [math.nan, math.nan]
    fin = final_rows(complete(mixed))
    assert set(fin.index) == set(rows.index[rows["final"]])  # (here each run's last checkpoint is its end)
    # a frame read without complete(): an empty value never counts as final or as toy
    raw = rows.assign(final=rows["final"].astype(object).where(~lone, None), toy=None)
    assert set(final_rows(raw).index) == set(rows.index[rows["final"] & ~lone])
    assert quality_metric(raw) == ("fid", True)


def test_write_claims_files(tmp_path):
    rows = summary(DEFAULT)
    rows["w1_data_floor"], rows["w1_pointmass"] = 0.05, 0.71
    paths = write_claims(rows, tmp_path, settings=SETTINGS, title="synthetic")
    assert all(p.is_file() for p in paths.values())
    data = json.loads(paths["json"].read_text())
    assert {r["verdict"] for r in data["rows"]} <= set(V.VERDICTS) and data["min_seeds"] == 2
    assert data["claims"]["C2"]["kind"] == "claim" and "1/6" in data["claims"]["C2"]["quote"]
    md = paths["md"].read_text()
    for part in ("## Verdicts", "## Evidence", "## What each row tests", "## Trivial references",
                 "1-step: difference", "2-step: difference", "**holds**", "point mass at the mean 0.71"):
        assert part in md, part
    c1a = next(line for line in md.splitlines() if line.startswith("| C1a | claim"))
    assert c1a.count("**holds**") == 2  # one-step and two-step side by side
    csv = pd.read_csv(paths["csv"])
    assert list(csv["claim"]) == [r["claim"] for r in data["rows"]] and csv["df"].notna().any()

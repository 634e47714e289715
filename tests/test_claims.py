"""The verdict logic of act claims, on synthetic summary tables whose answers are known."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from act.report import claims as C
from act.report.claims_output import write_claims

FPS = {"ct": 1.0e9, "act": 2.0e9}  # FLOPs per step at batch 16; linear in the batch


def summary(values, steps=(5000, 10000), batches=(16, 128), seeds=(0, 1, 2), dataset="toy2d", metric="w1"):
    """Rows like act aggregate's: ``values[(method, batch)]`` is a function (seed, step) -> metric value."""
    rows = []
    for (m, b), f in values.items():
        if b not in batches:
            continue
        for s in seeds:
            for k in steps:
                v = f(s, k)
                rows.append({"dataset": dataset, "method": m, "batch": b, "seed": s, "ckpt_step": k, "nfe": 1.0,
                             "train_steps": max(steps), metric: v, "train_flops": k * FPS[m] * b / 16,
                             "params_generator": 1000.0})
    return pd.DataFrame(rows)


def noise(scale, seed_offset=0):
    return lambda s: scale * np.random.default_rng(s + seed_offset).normal()


def flat(level, scale=0.01, offset=0):
    n = noise(scale, offset)
    return lambda s, k: level + n(s) + (0.05 if k < 10000 else 0.0)


def by_claim(table, claim):
    return table[table["claim"] == claim]


def test_welch_contrast_matches_scipy():
    from scipy import stats

    a, b = [1.0, 2.0, 4.0, 3.5], [0.5, 0.7, 0.4]
    iv = C.welch_contrast([a, b], [1, -1])
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert iv.estimate == pytest.approx(np.mean(a) - np.mean(b))
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    one = C.welch_contrast([a], [1.0])
    ci1 = stats.ttest_1samp(a, 0.0).confidence_interval(0.95)
    assert (one.low, one.high) == pytest.approx((ci1.low, ci1.high), rel=1e-9)
    assert C.welch_contrast([[1.0], b], [1, -1]) is None  # one seed: no interval
    same = C.welch_contrast([[2.0, 2.0], [1.0, 1.0]], [1, -1])
    assert same.low == same.high == 1.0


def test_every_verdict_is_reachable():
    assert C.verdict(C.Interval(1.0, 0.1, 5, 0.5, 1.5))[0] == C.HOLDS
    assert C.verdict(C.Interval(-1.0, 0.1, 5, -1.5, -0.5))[0] == C.FAILS
    assert C.verdict(C.Interval(0.1, 0.1, 5, -0.2, 0.4))[0] == C.INCONCLUSIVE
    assert C.verdict(None)[0] == C.INCONCLUSIVE


def test_act_clearly_better_holds_and_clearly_worse_does_not():
    good = {("act", 16): flat(0.1), ("act", 128): flat(0.1), ("ct", 16): flat(0.5), ("ct", 128): flat(0.3)}
    t = C.claims_table(summary(good))
    for claim in ("C1a", "C1b"):
        assert set(by_claim(t, claim)["verdict"]) == {C.HOLDS}, by_claim(t, claim)
    assert by_claim(t, "C2")["verdict"].item() == C.HOLDS
    # CT loses 0.2 going to the small batch, ACT nothing: C4 holds
    assert by_claim(t, "C4")["verdict"].item() == C.HOLDS
    assert by_claim(t, "C4")["difference"].item() == pytest.approx(0.2, abs=0.03)

    bad = {("act", 16): flat(0.6), ("act", 128): flat(0.6), ("ct", 16): flat(0.2), ("ct", 128): flat(0.2)}
    t = C.claims_table(summary(bad))
    for claim in ("C1a", "C1b", "C2"):
        assert set(by_claim(t, claim)["verdict"]) == {C.FAILS}
    assert by_claim(t, "C4")["verdict"].item() == C.INCONCLUSIVE  # no batch effect either way


def test_overlapping_noise_is_inconclusive_and_one_seed_never_decides():
    noisy = {(m, b): flat(0.4, scale=0.2, offset=7 * i) for i, (m, b) in enumerate(
        [("act", 16), ("act", 128), ("ct", 16), ("ct", 128)])}
    t = C.claims_table(summary(noisy))
    assert set(by_claim(t, "C1b")["verdict"]) == {C.INCONCLUSIVE}
    good = {("act", 16): flat(0.1), ("act", 128): flat(0.1), ("ct", 16): flat(0.5), ("ct", 128): flat(0.5)}
    t = C.claims_table(summary(good, seeds=(0,)))
    tested = t[~t["verdict"].eq(C.NOT_RUN)]
    assert len(tested) and set(tested["verdict"]) == {C.INCONCLUSIVE}
    assert all("seeds" in w for w in tested["why"])


def test_matched_compute_picks_the_act_checkpoint_within_ct_flops():
    # ACT costs 2x per step: matched compute is ACT at step 5000 against CT at 10000. ACT is better at
    # 10000 but worse at 5000, so matched compute fails while matched steps holds.
    values = {("act", 16): lambda s, k: (0.1 if k == 10000 else 0.9) + 0.01 * s, ("ct", 16): lambda s, k: 0.5 + 0.01 * s}
    t = C.claims_table(summary(values, batches=(16,)))
    c1a, c1b = by_claim(t, "C1a").iloc[0], by_claim(t, "C1b").iloc[0]
    assert c1a["g1_steps"] == 5000 and c1a["g2_steps"] == 10000 and c1a["verdict"] == C.FAILS
    assert c1b["g1_steps"] == 10000 and c1b["verdict"] == C.HOLDS
    # one batch size: C2 and C4 cannot be tested
    assert by_claim(t, "C2")["verdict"].item() == C.NOT_RUN
    assert by_claim(t, "C4")["verdict"].item() == C.NOT_RUN


def test_c2_needs_a_sixfold_batch_ratio_and_missing_methods_are_not_run():
    good = {("act", 32): flat(0.1), ("act", 128): flat(0.1), ("ct", 32): flat(0.5), ("ct", 128): flat(0.5)}
    t = C.claims_table(summary(good, batches=(32, 128)))
    assert by_claim(t, "C2")["verdict"].item() == C.NOT_RUN
    only_ct = {("ct", 16): flat(0.5), ("ct", 128): flat(0.5)}
    t = C.claims_table(summary(only_ct))
    assert set(t["verdict"]) == {C.NOT_RUN}
    assert by_claim(t, "C6")["verdict"].item() == C.NOT_RUN


def test_flattening_is_the_last_relative_change():
    t = C.claims_table(summary({("act", 16): flat(0.1, 0.0), ("ct", 16): flat(0.5, 0.0)}, batches=(16,)))
    row = by_claim(t, "C1b").iloc[0]
    assert row["g1_flattening"] == pytest.approx(0.05 / 0.1) and row["g2_flattening"] == pytest.approx(0.05 / 0.5)


def _theory_csv(path, growth):
    sig = np.geomspace(0.002, 80, 10)
    pd.DataFrame({"k": range(10), "sigma": sig, "w_independent": 0.03 + growth * np.linspace(0, 1, 10)}).to_csv(path, index=False)


def test_theory_and_inpainting_claims(tmp_path):
    values = {("act", 16): flat(0.1), ("ct", 16): flat(0.5)}
    rows = summary(values, batches=(16,), dataset="fashion_mnist", metric="fid")
    final = rows["ckpt_step"] == 10000
    rng = np.random.default_rng(0)
    rows.loc[final, "inpaint_psnr"] = np.where(rows.loc[final, "method"] == "act", 20.0, 14.0) + rng.normal(0, 0.1, final.sum())
    rows.loc[final, "inpaint_psnr_trivial"] = 12.0 + rng.normal(0, 0.1, final.sum())
    for m, growth in (("act", 0.1), ("ct", 0.6)):
        for s in range(3):
            d = tmp_path / "theory" / "fashion_mnist" / m / "b16" / f"s{s}"
            d.mkdir(parents=True)
            _theory_csv(d / "step-0010000.csv", growth + 0.01 * s)
    t = C.claims_table(rows, tmp_path / "theory")
    assert by_claim(t, "C3a")["verdict"].item() == C.HOLDS
    assert by_claim(t, "C3b")["verdict"].item() == C.HOLDS
    assert by_claim(t, "C3b")["difference"].item() == pytest.approx(0.5)
    assert by_claim(t, "C5a")["verdict"].item() == C.HOLDS
    assert by_claim(t, "C5a")["difference"].item() == pytest.approx(8.0, abs=0.3)
    assert by_claim(t, "C5b")["verdict"].item() == C.HOLDS
    # toy data: no inpainting; no theory folder: C3 not run
    toy = C.claims_table(summary(values, batches=(16,)))
    assert set(by_claim(toy, "C5a")["verdict"]) == {C.NOT_RUN} and set(by_claim(toy, "C3a")["verdict"]) == {C.NOT_RUN}


def test_write_claims_files(tmp_path):
    good = {("act", 16): flat(0.1), ("act", 128): flat(0.1), ("ct", 16): flat(0.5), ("ct", 128): flat(0.3)}
    paths = write_claims(summary(good), tmp_path, title="synthetic")
    assert all(p.is_file() for p in paths.values())
    data = json.loads(paths["json"].read_text())
    assert {r["verdict"] for r in data["rows"]} <= set(C.VERDICTS) and data["min_seeds"] == 2
    md = paths["md"].read_text()
    assert "**holds**" in md and "C4" in md and md.count("\n| C") == len(data["rows"])
    csv = pd.read_csv(paths["csv"])
    assert list(csv["claim"]) == [r["claim"] for r in data["rows"]] and not math.isnan(csv["ci_low"].dropna().iloc[0])


def test_recipes_under_one_reported_dataset_are_compared_together():
    """The paper configs: one dataset key per recipe (CT b512 800k steps, ACT b80 300k), reported as cifar10."""
    rows = []
    for key, m, b, steps in (("cifar10_ct", "ct", 512, 800_000), ("cifar10_act", "act", 80, 300_000)):
        for s in (0, 1):
            for k in range(100_000, steps + 1, 100_000):
                rows.append({"dataset": key, "method": m, "batch": b, "seed": s, "ckpt_step": k, "nfe": 1.0,
                             "train_steps": steps, "fid": (6.0 if m == "act" else 8.7) + 0.1 * s,
                             "train_flops": k * b * (2 if m == "act" else 1)})
    t = C.claims_table(pd.DataFrame(rows), reported=pd.DataFrame(
        [{"dataset": "cifar10", "method": "ACT", "steps_sampling": 1, "metric": "fid", "value": 6.0},
         {"dataset": "cifar10", "method": "CT", "steps_sampling": 1, "metric": "fid", "value": 8.7}]),
        reported_as={"cifar10_ct": "cifar10", "cifar10_act": "cifar10"})
    assert set(t["dataset"]) == {"cifar10 (cifar10_act, cifar10_ct)"}
    c1b = by_claim(t, "C1b").iloc[0]
    assert c1b["scale"].startswith("ACT b80 vs CT b512") and c1b["g2_steps"] == 300_000 and c1b["verdict"] == C.HOLDS
    c2 = by_claim(t, "C2").iloc[0]
    assert c2["verdict"] == C.HOLDS and c2["g1_steps"] == 300_000 and "CT 8.7 vs ACT 6" in c2["reported"]
    assert by_claim(t, "C4")["verdict"].item() == C.NOT_RUN

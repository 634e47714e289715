"""The sample-quality rows of ``act claims``: S1, P1, C1a, C1b, C2, C4, C7, X1 and the inpainting rows C5.

Every comparison uses each run's final model (:mod:`act.report.claim_rows`); one-step and
two-step samples give one row each (side by side in the Markdown table).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from act.report.claim_rows import (BASELINE, FEWER_STEPS_RATIO, FLOP_TOLERANCE, SMALL_BATCH_RATIO, Arm, ClaimRow,
                                   arm_label, at_nfe, baseline_check, compare, group, mark_baseline, not_run)
from act.report.verdicts import Group, verdict, welch_contrast

Checks = Dict[Tuple[str, int], Tuple[Optional[bool], str, Optional[ClaimRow]]]


def batch_pairs(act_batches: List[int], ct_batches: List[int]) -> List[Tuple[int, int]]:
    """(ACT batch, CT batch) pairs: every batch both ran, else (recipes with their own batch sizes, as the paper
    configs) ACT's largest against CT's largest."""
    common = sorted(set(act_batches) & set(ct_batches))
    if common:
        return [(b, b) for b in common]
    return [(max(act_batches), max(ct_batches))] if act_batches and ct_batches else []


def pair_label(a: int, c: int) -> str:
    return f"batch {a}" if a == c else f"ACT b{a} vs CT b{c}"


def _steps(n: float) -> str:
    return f"{n:,.0f}" if math.isfinite(n) else "?"


class QualityRows:
    """The rows of one dataset at one number of sampling steps."""

    def __init__(self, dataset: str, final: pd.DataFrame, runs: pd.DataFrame, arms: Dict[str, Arm], metric: str,
                 lower: bool, nfe: int) -> None:
        self.dataset, self.arms, self.metric, self.lower, self.nfe = dataset, arms, metric, lower, nfe
        self.final, self.runs = at_nfe(final, nfe, metric), at_nfe(runs, nfe, metric)
        self.checks: Checks = {}
        self.ct = arms.get(BASELINE)
        # ACT arms whose CT term trains with CT's settings: an arm that changes them (toy_full's actpaper, mu0 0.9)
        # would compare two recipes, not two methods; it keeps its S1 and description rows.
        self.act = [a for a in arms.values() if a.is_act and a.same_recipe(self.ct)]

    def group(self, arm: str, batch: int) -> Group:
        return group(self.final, arm, batch, self.metric, self.runs)

    def compare(self, claim: str, scale: str, better: Tuple[str, int], worse: Tuple[str, int]) -> ClaimRow:
        row = compare(claim, self.dataset, scale, self.metric, self.nfe, self.group(*better), self.group(*worse),
                      self.lower)
        cts = [k for k in (better, worse) if k[0] == BASELINE]
        return mark_baseline(row, [self.checks[k] for k in cts if k in self.checks]) if cts else row

    def not_run(self, claim: str, why: str, scale: str = "-") -> ClaimRow:
        return not_run(claim, self.dataset, why, self.metric, self.nfe, scale)

    def rows(self) -> List[ClaimRow]:
        out = self.sanity()
        if self.ct is None:
            why = f"needs the CT baseline arm '{BASELINE}'; this experiment has {sorted(self.arms)}"
            return out + [self.not_run(c, why) for c in ("P1", "C1a", "C1b", "C2", "C7", "X1")]
        return out + self.p1() + self.c1() + self.c2() + self.c7() + self.x1()

    def sanity(self) -> List[ClaimRow]:
        """S1 for every (arm, batch); the results also decide which rows compare with a failed baseline."""
        out = []
        for name, arm in self.arms.items():
            for b in arm.batches:
                check = baseline_check(self.final, name, b, self.metric, self.lower)
                self.checks[(name, b)] = check
                if check[2] is not None:
                    row = check[2]
                    row.dataset, row.nfe = self.dataset, self.nfe
                    out.append(row)
        return out

    def p1(self) -> List[ClaimRow]:
        bs = self.ct.batches
        if len(bs) < 2:
            return [self.not_run("P1", f"needs CT at two batch sizes; it ran {bs}")]
        s, b = bs[0], bs[-1]
        scale = f"CT b{s} vs b{b}, steps {_steps(self.ct.steps[s])} vs {_steps(self.ct.steps[b])}"
        return [self.compare("P1", scale, (BASELINE, b), (BASELINE, s))]

    def c1(self) -> List[ClaimRow]:
        out = []
        if not self.act:
            return [self.not_run(c, "needs an ACT arm (method act, lambda_max > 0)") for c in ("C1a", "C1b")]
        for a, c in batch_pairs(sorted({b for arm in self.act for b in arm.batches}), self.ct.batches):
            budget = self.ct.flops[c] * (1 + FLOP_TOLERANCE)
            cheaper = [arm for arm in self.act if a in arm.flops and arm.flops[a] <= budget]
            if cheaper:
                arm = max(cheaper, key=lambda x: x.flops[a])
                scale = (f"{pair_label(a, c)}: {arm_label(arm.name, a)} {_steps(arm.steps[a])} steps, "
                         f"{arm.flops[a] / self.ct.flops[c]:.2f}x CT's {_steps(self.ct.steps[c])}-step FLOPs")
                out.append(self.compare("C1a", scale, (arm.name, a), (BASELINE, c)))
            else:
                out.append(self.not_run("C1a", f"no ACT run at batch {a} within CT's training FLOPs", pair_label(a, c)))
            same = [arm for arm in self.act if arm.steps.get(a) == self.ct.steps[c]]
            if same:
                arm = same[0]
                scale = f"{pair_label(a, c)}, {_steps(self.ct.steps[c])} steps each ({arm_label(arm.name, a)})"
                out.append(self.compare("C1b", scale, (arm.name, a), (BASELINE, c)))
            else:
                out.append(self.not_run("C1b", f"no ACT run at batch {a} trains CT's {_steps(self.ct.steps[c])} steps",
                                        pair_label(a, c)))
        return out

    def c2(self) -> List[ClaimRow]:
        big = max(self.ct.batches)
        k = self.ct.steps[big]
        small = [(arm, b) for arm in self.act for b in arm.batches if b < big * SMALL_BATCH_RATIO]
        if not small:
            return [self.not_run("C2", f"needs an ACT batch below 1/6 of CT's largest ({big})")]
        fewer = [(arm, b) for arm, b in small if arm.steps[b] < k * FEWER_STEPS_RATIO]
        if not fewer:
            return [self.not_run("C2", f"no ACT run below batch {big / 6:.4g} trains fewer than half of CT's "
                                       f"{_steps(k)} steps")]
        arm, b = max(fewer, key=lambda x: (x[1], x[0].steps[x[1]]))
        images = arm.images[b] / self.ct.images[big]
        scale = (f"{arm_label(arm.name, b)} ({_steps(arm.steps[b])} steps) vs CT b{big} ({_steps(k)} steps): "
                 f"batch 1/{big / b:.3g}, images per step 1/{1 / images:.3g}, steps {arm.steps[b] / k:.2f}")
        row = self.compare("C2", scale, (arm.name, b), (BASELINE, big))
        if images >= SMALL_BATCH_RATIO:
            row.why += f"; counted in images per step ACT loads 1/{1 / images:.3g} of CT's, not less than 1/6"
        return [row]

    def c7(self) -> List[ClaimRow]:
        ablations = [a for a in self.arms.values() if a.method == "act" and not a.adversarial]
        out = []
        for z in ablations:
            for arm in self.act:
                for b in sorted(set(z.batches) & set(arm.batches)):
                    if arm.steps[b] == z.steps[b] and arm.same_recipe(z):
                        scale = f"{arm_label(arm.name, b)} vs {arm_label(z.name, b)}, {_steps(arm.steps[b])} steps each"
                        out.append(self.compare("C7", scale, (arm.name, b), (z.name, b)))
        return out or [self.not_run("C7", "needs an ACT arm with lambda_max 0 at an ACT arm's batch and steps")]

    def x1(self) -> List[ClaimRow]:
        for arm in self.act:
            both = sorted(set(arm.batches) & set(self.ct.batches))
            if len(both) >= 2:
                s, b = both[0], both[-1]
                g = [self.group(BASELINE, s), self.group(BASELINE, b), self.group(arm.name, s), self.group(arm.name, b)]
                sign = 1.0 if self.lower else -1.0  # batch effect: quality lost going to the small batch
                iv = welch_contrast([x.values for x in g], [sign, -sign, -sign, sign])
                v, why = verdict(iv)
                row = ClaimRow("X1", self.dataset, f"b{s} vs b{b} ({arm.name})", self.metric, g, iv, v, why, self.nfe)
                return [mark_baseline(row, [self.checks[(BASELINE, x)] for x in (s, b) if (BASELINE, x) in self.checks])]
        return [self.not_run("X1", "needs an ACT arm and CT at the same two batch sizes")]


def reach_fraction(curve: pd.DataFrame, column: str, level: float, lower: bool, budget: float) -> Tuple[float, bool]:
    """(FLOPs at which ``curve`` first reaches ``level``, as a share of ``budget``; reached?). Linear between
    checkpoints; the first checkpoint's FLOPs when it is already there; the run's last FLOPs when never."""
    c = curve.sort_values("train_flops")
    f, m = c["train_flops"].to_numpy(float), c[column].to_numpy(float)
    ok = m <= level if lower else m >= level
    if not ok.any():
        return f[-1] / budget, False
    j = int(np.argmax(ok))
    if j == 0:
        return f[0] / budget, True
    t = (level - m[j - 1]) / (m[j] - m[j - 1])
    return (f[j - 1] + t * (f[j] - f[j - 1])) / budget, True


def convergence_rows(q: QualityRows) -> List[ClaimRow]:
    """C4: the compute ACT's own run needs to reach CT's final one-step mean, as a share of CT's FLOPs."""
    if q.ct is None or not q.act:
        return [q.not_run("C4", "needs the CT arm and an ACT arm")]
    out = []
    for a, c in batch_pairs(sorted({b for arm in q.act for b in arm.batches}), q.ct.batches):
        budget = q.ct.flops[c] * (1 + FLOP_TOLERANCE)
        cheaper = [arm for arm in q.act if a in arm.flops and arm.flops[a] <= budget]
        if not cheaper or not math.isfinite(q.ct.flops[c]):
            out.append(q.not_run("C4", f"no ACT run at batch {a} within CT's training FLOPs"))
            continue
        arm = max(cheaper, key=lambda x: x.flops[a])
        ct = q.group(BASELINE, c)
        level = float(np.mean(ct.values)) if ct.values else math.nan
        fracs, missed = [], 0
        curves = q.runs[(q.runs["method"] == arm.name) & (q.runs["batch"] == a)]
        seeds = sorted(int(s) for s in curves["seed"].unique())
        for s in seeds:
            frac, reached = reach_fraction(curves[curves["seed"] == s], q.metric, level, q.lower, q.ct.flops[c])
            fracs.append(1.0 - frac)
            missed += not reached
        g = Group(f"{arm_label(arm.name, a)}: 1 - FLOPs share to reach {level:.4g}", fracs, seeds)
        iv = welch_contrast([fracs], [1.0])
        v, why = verdict(iv)
        if missed:
            why += f"; {missed} seed(s) never reach the level (their share is their whole run's)"
        scale = f"{pair_label(a, c)}: CT's final mean {level:.4g} at {_steps(q.ct.steps[c])} steps"
        row = ClaimRow("C4", q.dataset, scale, q.metric, [g, ct], iv, v, why, q.nfe)
        out.append(mark_baseline(row, [q.checks[(BASELINE, c)]] if (BASELINE, c) in q.checks else []))
    return out


def inpaint_rows(final: pd.DataFrame, dataset: str, toy: bool) -> List[ClaimRow]:
    """C5a (ACT vs a trivial fill, paired per run) and C5b (ACT vs CT), final models."""
    if toy:
        return [not_run(c, dataset, "2-D toy data: no images to inpaint") for c in ("C5a", "C5b")]
    if "inpaint_psnr" not in final or final["inpaint_psnr"].notna().sum() == 0:
        return [not_run(c, dataset, "no act inpaint results (inpaint disabled)") for c in ("C5a", "C5b")]
    have = final[final["inpaint_psnr"].notna()].drop_duplicates(["method", "batch", "seed"])
    metric, out = "PSNR of the filled region (dB)", []
    acts = [m for m in have["method"].unique() if m == "act"]
    for m in acts:
        for b in sorted(have.loc[have["method"] == m, "batch"].unique()):
            mine = have[(have["method"] == m) & (have["batch"] == b)].sort_values("seed")
            diff = list(mine["inpaint_psnr"] - mine["inpaint_psnr_trivial"])
            iv = welch_contrast([diff], [1.0])
            v, why = verdict(iv)
            seeds = [int(s) for s in mine["seed"]]
            out.append(ClaimRow("C5a", dataset, f"batch {b}, final", metric,
                                [Group(arm_label(m, b), list(mine["inpaint_psnr"]), seeds),
                                 Group("trivial fill", list(mine["inpaint_psnr_trivial"]), seeds)], iv, v, why))
    ct_b = sorted(have.loc[have["method"] == BASELINE, "batch"].unique())
    for a, c in batch_pairs(sorted(have.loc[have["method"] == "act", "batch"].unique()), ct_b):
        out.append(compare("C5b", dataset, f"{pair_label(a, c)}, final", metric, None,
                           group(have, "act", a, "inpaint_psnr"), group(have, BASELINE, c, "inpaint_psnr"), False))
    return out or [not_run(c, dataset, "no ACT inpainting results") for c in ("C5a", "C5b")]

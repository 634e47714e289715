"""Every schedule formula against docs/METHOD.md sections 1-3, computed independently here."""

import math

import pytest
import torch

from act import schedules as S


def test_karras_grid_matches_formula_and_is_increasing():
    n, eps, T, rho = 18, 0.002, 80.0, 7.0
    got = S.karras_sigmas(n)
    want = [(eps ** (1 / rho) + i / (n - 1) * (T ** (1 / rho) - eps ** (1 / rho))) ** rho for i in range(n)]
    assert got.dtype == torch.float64
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), rtol=1e-12)
    assert got[0].item() == eps and got[-1].item() == T
    assert bool((got[1:] > got[:-1]).all())


def test_karras_grid_rejects_bad_input():
    with pytest.raises(ValueError):
        S.karras_sigmas(1)
    with pytest.raises(ValueError):
        S.karras_sigmas(10, sigma_min=1.0, sigma_max=0.5)


@pytest.mark.parametrize("k,K,s0,s1", [(0, 1000, 2, 150), (1, 1000, 2, 150), (500, 1000, 2, 150), (999, 1000, 2, 150), (1000, 1000, 2, 150), (123, 800, 2, 200)])
def test_ct_num_scales_both_variants(k, K, s0, s1):
    act = round(math.sqrt(k / K * (s1**2 - s0**2) + s0**2))  # the official ACT code
    cm = math.ceil(math.sqrt(k / K * ((s1 + 1) ** 2 - s0**2) + s0**2) - 1) + 1  # Consistency Models
    assert S.ct_num_scales(k, K, s0, s1) == cm  # CT's own curriculum is the default
    assert S.ct_num_scales(k, K, s0, s1, variant="act") == act
    assert abs(act - cm) <= 2  # "essentially the same"


def test_ct_num_scales_endpoints():
    assert S.ct_num_scales(0, 100, 2, 150, "act") == 2
    assert S.ct_num_scales(100, 100, 2, 150, "act") == 150
    assert S.ct_num_scales(0, 100, 2, 150, "cm") == 2
    assert S.ct_num_scales(100, 100, 2, 150, "cm") == 151  # CM's final N is s1 + 1
    with pytest.raises(ValueError):
        S.ct_num_scales(0, 100, 2, 150, variant="nope")


def test_official_act_phase_offsets_change_n_at_few_steps():
    """docs/METHOD.md s.7: official ACT reads N at (k + 1/2)/K in its discriminator phase and at (k + 1)/K in its EMA
    update (Lightning counts both optimiser steps); this project uses N(k) throughout. On CIFAR-10's 300k steps
    (s0 2, s1 150, round form) that changes N at 70 and 148 steps: rare, as the table says."""
    K = 300_000
    base = [S.ct_num_scales(k, K, 2, 150, "act") for k in range(K + 1)]
    half = sum(S.ct_num_scales(2 * k + 1, 2 * K, 2, 150, "act") != base[k] for k in range(K))
    ahead = sum(base[k + 1] != base[k] for k in range(K))
    assert (half, ahead) == (70, 148)


def test_ct_ema_decay_both_variants():
    # official: exp(s0 ln mu0 / (N - 1)); paper: exp(s0 ln mu0 / N)
    assert S.ct_ema_decay(2, 2, 0.9) == pytest.approx(math.exp(2 * math.log(0.9) / 1))
    assert S.ct_ema_decay(2, 2, 0.9) == pytest.approx(0.81)
    assert S.ct_ema_decay(150, 2, 0.9, "paper") == pytest.approx(math.exp(2 * math.log(0.9) / 150))
    assert S.ct_ema_decay(2, 2, 0.9, "paper") == pytest.approx(0.9)
    # decay rises towards 1 as N grows
    assert S.ct_ema_decay(150, 2, 0.95) > S.ct_ema_decay(10, 2, 0.95)
    with pytest.raises(ValueError):
        S.ct_ema_decay(1, 2, 0.9)


def test_ict_num_scales_doubling():
    K, s0, s1 = 400_000, 10, 1280
    k_prime = math.floor(K / (math.log2(math.floor(s1 / s0)) + 1))  # 50_000
    assert k_prime == 50_000
    for k in [0, 1, k_prime - 1, k_prime, 3 * k_prime + 5, K - 1, K]:
        assert S.ict_num_scales(k, K, s0, s1) == min(s0 * 2 ** (k // k_prime), s1) + 1
    assert S.ict_num_scales(0, K) == 11
    assert S.ict_num_scales(K - 1, K) == 1281


def test_ict_index_probs_formula():
    sig = S.karras_sigmas(11)
    pm, ps = -1.1, 2.0
    raw = [math.erf((math.log(sig[i + 1]) - pm) / (math.sqrt(2) * ps)) - math.erf((math.log(sig[i]) - pm) / (math.sqrt(2) * ps)) for i in range(10)]
    want = torch.tensor(raw, dtype=torch.float64) / sum(raw)
    got = S.ict_index_probs(sig, pm, ps)
    assert got.shape == (10,)
    assert torch.allclose(got, want, rtol=1e-10)
    assert got.sum().item() == pytest.approx(1.0)
    # mass concentrates around exp(Pm) ~ 0.33, not at the ends
    assert got.argmax().item() not in (0, 9)


def test_ict_weights():
    sig = S.karras_sigmas(6)
    w = S.ict_weights(sig)
    assert torch.allclose(w, 1.0 / (sig[1:] - sig[:-1]))
    assert bool((w[:-1] > w[1:]).all())  # small sigma gaps get large weights


def test_method_defaults_take_each_code_s_own_curriculum():
    """CT ends at N = s1 + 1 (CM's ceil form), ACT at N = s1 (ACT's round form)."""
    from act.config import load_config

    ct, act = load_config().method, load_config(None, ("method.name=act",)).method
    assert (ct.curriculum, act.curriculum) == ("cm", "act")
    assert S.ct_num_scales(1000, 1000, ct.s0, ct.s1, ct.curriculum) == 151
    assert S.ct_num_scales(1000, 1000, act.s0, act.s1, act.curriculum) == 150

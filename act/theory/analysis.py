"""One checkpoint's Wasserstein-bound report: timestep table, one-step distances, Lipschitz, JS (docs/METHOD.md s.5).

One-step inequality (tested): with s_i = f(T z_i, T) (a one-step sample) and the chain
of :mod:`act.theory.bound`,
    W1(1/M sum delta_{s_i}, 1/M sum delta_{x0_i}) <= (1/M) sum_i ||s_i - x0_i||
        <= (1/M) sum_i ||f(T z_i, T) - f(x0_i + T z_i, T)|| + B_{N-1}   ("one_step_bound_measured"),
where the first term is the measured form of the paper's L * W1(N(0, T^2 I), p_T), which
it bounds by L * (1/M) sum_i ||x0_i|| ("one_step_bound_lipschitz"; L from power iteration
is a local lower estimate, so that form is indicative only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from act.checkpoint import NETWORKS, load_networks
from act.schedules import karras_sigmas
from act.theory.bound import apply_batched, measure_timesteps, num_classes, per_sample_norm
from act.theory.lipschitz import lipschitz_at_T
from act.theory.probe import Probe, check_probe
from act.theory.wasserstein import BOUNDED_DISTANCES, distance_name, distance_to_data

DEFAULT_NUM_SCALES = 150  # when the method has no s1 (the CT/ACT CIFAR-10 value)
BOUND_TOLERANCE = 1e-6  # float32 rounding of the input x0 + eps z; see act.theory.bound
COLUMNS = ("k", "sigma", "l_online", "l_target", "bound_online", "bound_target", "e_coupled", "w_coupled",
           "w_independent", "js", "logit_gap")


@dataclass
class TheoryOptions:
    num_scales: Optional[int] = None  # None: the checkpoint's method s1, else DEFAULT_NUM_SCALES
    network: Optional[str] = None  # measured network; None: the checkpoint's sampling network
    batch_size: int = 256  # probe samples per forward pass
    lipschitz_points: int = 16  # probe points x0 + T z for the power iteration
    lipschitz_iters: int = 30
    image_distance: str = "w1"  # images: exact W1 (bounded by B_k), or sliced_w1 (bounded) / sliced_w2 (not)
    projections: int = 256
    projection_seed: int = 0
    progress: bool = True


@dataclass
class TheoryResult:
    table: Dict[str, np.ndarray]  # COLUMNS -> (N,) arrays
    summary: Dict[str, Any]


def frozen_networks(path: Union[str, Path], device: torch.device) -> Tuple[Dict[str, nn.Module], Optional[nn.Module], Any, Dict]:
    """({generator, target, eval_ema, ...}: consistency functions, discriminator or None, config, state),
    in eval mode without gradients."""
    nets, cfg, state = load_networks(path, NETWORKS, device)
    nets = {name: net.requires_grad_(False) for name, net in nets.items()}
    return nets, nets.pop("discriminator", None), cfg, state


def default_num_scales(cfg: Any) -> int:
    return int(getattr(cfg.method, "s1", None) or DEFAULT_NUM_SCALES)


def analyse_checkpoint(path: Union[str, Path], probe: Probe, device: torch.device,
                       opts: Optional[TheoryOptions] = None) -> TheoryResult:
    """The timestep table and the summary of one checkpoint, measured on ``probe``."""
    opts = opts or TheoryOptions()
    nets, disc, cfg, state = frozen_networks(path, device)
    check_probe(probe, cfg.data, tuple(state["data_shape"]))
    measured = opts.network or state.get("sampling_network", "generator")
    if measured not in nets:
        raise KeyError(f"{path} holds no network {measured!r}; it has {sorted(nets)}")
    n = opts.num_scales or default_num_scales(cfg)
    nc = cfg.noise
    sigmas = karras_sigmas(n, nc.sigma_min, nc.sigma_max, nc.rho)
    table = measure_timesteps(nets, measured, probe, sigmas, discriminator=disc, batch_size=opts.batch_size,
                              device=device, image_distance=opts.image_distance, projections=opts.projections,
                              projection_seed=opts.projection_seed, progress=opts.progress)
    table["k"] = np.arange(n)
    dname = distance_name(probe.x0, opts.image_distance)
    exact = dname in BOUNDED_DISTANCES  # both <= the identity coupling's mean cost
    bound = table["bound_online"]
    summary = {
        "checkpoint": str(path), "step": int(state["step"]), "method": cfg.method.name, "network": measured,
        "target_pair": "generator" in nets and "target" in nets, "discriminator": disc is not None,
        "num_scales": n, "num_probe": len(probe), "data": probe.meta.get("data"), "distance": dname,
        "sigma_min": float(sigmas[0]), "sigma_max": float(sigmas[-1]), "eps_term": float(bound[0]),
        "data_dim": int(np.prod(probe.data_shape)), "eps_sqrt_d": float(sigmas[0]) * math.sqrt(int(np.prod(probe.data_shape))),
        "final_bound_online": float(bound[-1]), "final_bound_target": float(table["bound_target"][-1]),
        "w_coupled_T": float(table["w_coupled"][-1]), "w_independent_T": float(table["w_independent"][-1]),
        "bound_holds": bound_holds(table, exact=exact), **shape_summary(table, float(bound[-1])),
        **one_step_summary(nets[measured], probe, float(sigmas[-1]), float(bound[-1]), exact, device, opts),
        "js_mean": float(np.nanmean(table["js"])) if disc is not None else None,
        "logit_gap_mean": float(np.nanmean(table["logit_gap"])) if disc is not None else None,
        "probe": probe.meta, "columns": column_notes(measured),
    }
    return TheoryResult({c: table[c] for c in COLUMNS}, summary)


def one_step_summary(net: nn.Module, probe: Probe, T: float, final_bound: float, exact: bool, device: torch.device,
                     opts: TheoryOptions) -> Dict[str, Any]:
    """One-step distances, the one-step bounds of the module docstring, and the Lipschitz estimate at T."""
    dist = dict(image_distance=opts.image_distance, n_projections=opts.projections, seed=opts.projection_seed)
    labels = probe.labels if num_classes(net) else None
    one_step = apply_batched(net, T * probe.z, T, labels, opts.batch_size, device)  # f(T z, T)
    at_T = apply_batched(net, probe.x0 + T * probe.z, T, labels, opts.batch_size, device)  # f(x0 + T z, T)
    shift = per_sample_norm(one_step, at_T).mean().item()
    m = min(opts.lipschitz_points, len(probe))
    lip = lipschitz_at_T(net, (probe.x0[:m] + T * probe.z[:m]).to(device), T,
                         labels[:m].to(device) if labels is not None else None, iters=opts.lipschitz_iters)
    x0_norm = probe.x0.double().flatten(1).norm(dim=1).mean().item()
    w_probe = distance_to_data(one_step, probe.x0, **dist)
    return {
        "w_data_floor": distance_to_data(probe.x0, probe.x_indep, **dist),  # two data samples: the finite-M floor
        "one_step_w_probe": w_probe,
        "one_step_w_independent": distance_to_data(one_step, probe.x_indep, **dist),
        "one_step_e_coupled": per_sample_norm(one_step, probe.x0).mean().item(),
        "one_step_shift": shift, "one_step_bound_measured": final_bound + shift,
        "one_step_bound_holds": (w_probe <= final_bound + shift + BOUND_TOLERANCE) if exact else None,
        "one_step_bound_lipschitz": final_bound + lip["lipschitz_max"] * x0_norm, "mean_x0_norm": x0_norm,
        **lip,
    }


def shape_summary(table: Dict[str, np.ndarray], final_bound: float) -> Dict[str, float]:
    """How the coupled distance w(sigma_k) behaves along the grid, and how tightly B bounds it at sigma_max.

    ``w_coupled_growth_upper``: Spearman correlation of w with k over the upper half of the grid
    (k >= N // 2); the lower half rises from w(eps) = 0 for any imperfect model, so a statistic over
    the whole grid (or its endpoints) would show growth whatever the model. ``w_coupled_fall``: the
    share of its peak that w loses by sigma_max (0: largest at sigma_max). ``bound_tightness``:
    B(sigma_max) / w(sigma_max) (>= 1 where the bound holds; 1 = tight).
    """
    from scipy import stats

    w = np.asarray(table["w_coupled"], dtype=np.float64)
    upper = np.arange(len(w) // 2, len(w))
    rho = stats.spearmanr(upper, w[upper]).statistic if len(upper) > 2 and np.ptp(w[upper]) > 0 else math.nan
    peak = int(np.nanargmax(w))
    return {"w_coupled_growth_upper": float(rho), "w_coupled_peak_sigma": float(table["sigma"][peak]),
            "w_coupled_fall": float((w[peak] - w[-1]) / w[peak]) if w[peak] > 0 else math.nan,
            "bound_tightness": final_bound / float(w[-1]) if w[-1] > 0 else math.nan}


def bound_holds(table: Dict[str, np.ndarray], exact: bool, tol: float = BOUND_TOLERANCE) -> bool:
    """e_coupled <= B_k(online) at every k, and w_coupled <= e_coupled where the distance is W1 or sliced W1
    (sliced W2 has no such relation to the identity coupling's mean l2 cost)."""
    chain = bool(np.all(table["e_coupled"] <= table["bound_online"] + tol))
    coupling = bool(np.all(table["w_coupled"] <= table["e_coupled"] + tol)) if exact else True
    return chain and coupling


def column_notes(measured: str) -> Dict[str, str]:
    """What each CSV column holds, written into the JSON summary beside it."""
    return {
        "k": "grid index, sigma_0 = eps < ... < sigma_{N-1} = T (Karras grid)",
        "l_online": f"mean_i ||f(x0_i + sigma_(k+1) z_i, sigma_(k+1)) - f(x0_i + sigma_k z_i, sigma_k)||_2, f = {measured} "
                    "network on both sides (target = online); empty in the last row",
        "l_target": "the same with the generator at sigma_(k+1) and the target EMA at sigma_k (the training pair); "
                    "empty without a target network",
        "bound_online": "B_k = eps * mean_i ||z_i|| + sum_(n<k) l_online[n]",
        "bound_target": "eps * mean_i ||z_i|| + sum_(n<k) l_target[n] (a proxy: bounds nothing exactly)",
        "e_coupled": "mean_i ||f(x0_i + sigma_k z_i, sigma_k) - x0_i||_2 (<= bound_online by the triangle inequality)",
        "w_coupled": "distance between {f(x0_i + sigma_k z_i, sigma_k)} and the probe's own {x0_i} (exact W1 <= e_coupled)",
        "w_independent": "distance between {f(x0_i + sigma_k z_i, sigma_k)} and independent data (not bounded)",
        "logit_gap": "E D(real, sigma_k) - E D(fake, sigma_k) on the same reals and fakes as js (near 0: D gives "
                     "no signal); empty without a discriminator",
        "js": "log 2 - (E softplus(-D(real, sigma_k)) + E softplus(D(fake, sigma_k))) / 2, fakes from the measured "
              "network; empty without a discriminator",
    }

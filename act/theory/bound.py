"""Per-timestep CT losses, the cumulative Wasserstein bound, and the measured distances (docs/METHOD.md s.5).

Notation: a probe of pairs (x0_i, z_i), i = 1..M; a Karras grid sigma_0 = eps < ... <
sigma_{N-1} = T; the measured consistency function f; g_k(i) = f(x0_i + sigma_k z_i, sigma_k).

- ``l_online[n] = (1/M) sum_i ||g_{n+1}(i) - g_n(i)||_2`` (l2 norm, not squared), n = 0..N-2:
  the CT loss with target = online network (the measured network against itself).
- ``l_target[n] = (1/M) sum_i ||f_gen(x0_i + sigma_{n+1} z_i, sigma_{n+1}) - f_tgt(x0_i + sigma_n z_i, sigma_n)||_2``:
  the training pair of CT/ACT (student = generator, teacher = target EMA), when both exist.
- ``B_k = sum_{n<k} l[n] + eps * (1/M) sum_i ||z_i||``, k = 0..N-1.

The inequality (tested; it holds for every network, trained or not): because
f(x, eps) = x exactly, g_0(i) = x0_i + eps z_i, and the triangle inequality along the
chain g_0, g_1, ..., g_k gives per sample
    ||g_k(i) - x0_i|| <= eps ||z_i|| + sum_{n<k} ||g_{n+1}(i) - g_n(i)||;
averaging over the probe, and since the identity pairing g_k(i) <-> x0_i is one coupling of
the two empirical measures,
    W1(1/M sum_i delta_{g_k(i)}, 1/M sum_i delta_{x0_i}) <= e_coupled[k] := (1/M) sum_i ||g_k(i) - x0_i|| <= B_k(online).
``w_coupled`` is that left-hand side (exact W1 on 2-D data); ``w_independent`` compares
the same g_k with independent data, which nothing forces below B_k. ``B_k(target)`` bounds
nothing exactly (student and teacher differ); it is the proxy the training loss gives.
Up to float32 rounding of the network input x0 + eps z (relative 1e-7), so tests allow ~1e-6.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from act.theory.probe import Probe
from act.theory.wasserstein import distance_to_data

LOG2 = math.log(2.0)


def per_sample_norm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """||a_i - b_i||_2 per row, in float64 (B,)."""
    return (a.double() - b.double()).flatten(1).norm(dim=1)


def cumulative_bound(losses: np.ndarray, eps_term: float) -> np.ndarray:
    """B_k = eps_term + sum_{n<k} losses[n], k = 0..len(losses): one more entry than ``losses``."""
    return eps_term + np.concatenate([[0.0], np.cumsum(np.asarray(losses, dtype=np.float64))])


def js_estimate(d_real: torch.Tensor, d_fake: torch.Tensor) -> float:
    """log 2 - (E softplus(-D(real)) + E softplus(D(fake))) / 2: a lower bound on JS(real, fake) for any D."""
    a = torch.nn.functional.softplus(-d_real.double()).mean()
    b = torch.nn.functional.softplus(d_fake.double()).mean()
    return float(LOG2 - (a + b) / 2)


@torch.no_grad()
def apply_batched(net: nn.Module, x: torch.Tensor, sigma: float, labels: Optional[torch.Tensor], batch_size: int,
                  device: torch.device) -> torch.Tensor:
    """net(x, sigma, labels) in batches on ``device``; result float32 on the CPU, shaped like x."""
    outs = []
    for s in range(0, x.shape[0], batch_size):
        xb = x[s : s + batch_size].to(device)
        sig = torch.full((xb.shape[0],), float(sigma), dtype=torch.float64, device=device)  # exact eps: f = x
        lab = labels[s : s + batch_size].to(device) if labels is not None else None
        outs.append(net(xb, sig, lab).float().cpu())
    return torch.cat(outs)


def measure_timesteps(
    nets: Dict[str, nn.Module],
    measured: str,
    probe: Probe,
    sigmas: torch.Tensor,
    *,
    discriminator: Optional[nn.Module] = None,
    batch_size: int = 256,
    device: torch.device = torch.device("cpu"),
    image_distance: str = "w1",
    projections: int = 256,
    projection_seed: int = 0,
    progress: bool = True,
) -> Dict[str, np.ndarray]:
    """Arrays over the grid (length N): sigma, l_online, l_target, bound_online, bound_target, e_coupled,
    w_coupled, w_independent, js, logit_gap (NaN where undefined: l_* at k = N-1, l_target without a target,
    js and logit_gap without D).

    Network outputs are streamed: only timesteps k-1 and k are held, so images fit in memory.
    """
    n = len(sigmas)
    pair = "generator" in nets and "target" in nets  # online-vs-target needs both
    needed = list(dict.fromkeys([measured] + (["generator", "target"] if pair else [])))
    use_labels = {k: probe.labels if num_classes(nets[k]) else None for k in needed}
    res = {key: np.full(n, np.nan) for key in ("l_online", "l_target", "e_coupled", "w_coupled", "w_independent", "js",
                                          "logit_gap")}
    dist = dict(image_distance=image_distance, n_projections=projections, seed=projection_seed)
    prev: Dict[str, torch.Tensor] = {}
    for k in tqdm(range(n), disable=not progress, desc="timesteps", leave=False):
        sigma = float(sigmas[k])
        x = probe.x0 + torch.tensor(sigma, dtype=torch.float32) * probe.z  # (M, *shape)
        outs = {name: apply_batched(nets[name], x, sigma, use_labels[name], batch_size, device) for name in needed}
        g = outs[measured]
        if k > 0:
            res["l_online"][k - 1] = per_sample_norm(g, prev[measured]).mean().item()
            if pair:
                res["l_target"][k - 1] = per_sample_norm(outs["generator"], prev["target"]).mean().item()
        res["e_coupled"][k] = per_sample_norm(g, probe.x0).mean().item()
        res["w_coupled"][k] = distance_to_data(g, probe.x0, **dist)
        res["w_independent"][k] = distance_to_data(g, probe.x_indep, **dist)
        if discriminator is not None:
            res["js"][k], res["logit_gap"][k] = discriminator_js(discriminator, probe, g, sigma, batch_size, device)
        prev = outs
    eps_term = float(sigmas[0]) * probe.z.double().flatten(1).norm(dim=1).mean().item()
    res["bound_online"] = cumulative_bound(res["l_online"][:-1], eps_term)
    res["bound_target"] = cumulative_bound(res["l_target"][:-1], eps_term) if pair else np.full(n, np.nan)
    res["sigma"] = sigmas.double().numpy().copy()
    return res


@torch.no_grad()
def discriminator_js(disc: nn.Module, probe: Probe, fakes: torch.Tensor, sigma: float, batch_size: int,
                     device: torch.device) -> Tuple[float, float]:
    """(JS estimate, E D(real) - E D(fake)) at one sigma: reals = the probe's independent data, fakes = the
    measured network's outputs. A gap near 0 means D does not tell them apart (no adversarial signal)."""
    labelled = num_classes(disc) > 0

    def logits(x: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        out = []
        for s in range(0, x.shape[0], batch_size):
            xb = x[s : s + batch_size].to(device)
            sig = torch.full((xb.shape[0],), sigma, device=device)
            lab = labels[s : s + batch_size].to(device) if labelled and labels is not None else None
            out.append(disc(xb, sig, lab).float().cpu().reshape(-1))
        return torch.cat(out)

    real, fake = logits(probe.x_indep, probe.labels_indep), logits(fakes, probe.labels)
    return js_estimate(real, fake), float(real.double().mean() - fake.double().mean())


def num_classes(net: nn.Module) -> int:
    """Classes a conditional network takes (on itself or its backbone); 0 when unconditional."""
    for obj in (net, getattr(net, "backbone", None)):
        if obj is not None and getattr(obj, "num_classes", 0):
            return int(obj.num_classes)
    return 0

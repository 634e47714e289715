"""Wasserstein-bound proxies of consistency training (ACT paper, Kong et al. CVPR 2024; docs/METHOD.md s.5).

On a fixed probe of (x0, z) pairs: the per-timestep l2 CT losses l_n, their cumulative
bound B_k = sum_{n<k} l_n + eps E||z||, the measured distance of f(x0 + sigma_k z, sigma_k)
to data (exact W1 by default, for 2-D toy data and images; sliced W1 or W2 for images as options; coupled with the probe's own
x0, for which W1 <= B_k must hold, and against independent data), the discriminator's
JS estimate per sigma, and a Lipschitz estimate of f(., T). See :mod:`act.theory.bound`
for the inequality.
"""

from act.theory.analysis import COLUMNS, TheoryOptions, TheoryResult, analyse_checkpoint
from act.theory.bound import cumulative_bound, js_estimate, measure_timesteps
from act.theory.lipschitz import jacobian_spectral_norm, lipschitz_at_T
from act.theory.probe import Probe, build_probe, load_probe, save_probe
from act.theory.report import plot_bound, plot_over_training, write_table
from act.theory.wasserstein import exact_w1, sliced_wasserstein

__all__ = [
    "COLUMNS", "Probe", "TheoryOptions", "TheoryResult", "analyse_checkpoint", "build_probe", "cumulative_bound",
    "exact_w1", "jacobian_spectral_norm", "js_estimate", "lipschitz_at_T", "load_probe",
    "measure_timesteps", "plot_bound", "plot_over_training", "save_probe", "sliced_wasserstein", "write_table",
]

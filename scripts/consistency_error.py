"""Distance of trained consistency functions to the exact one, on the ``toy2d:gaussian`` data.

For data N(0, sigma_data^2 I) the consistency function is known in closed form
(act.data.toy.gaussian_consistency_function), so a run on that data shows directly how far
training has carried the learned f(x, sigma) at each noise level, checkpoint by checkpoint:

    act train -c config/train/ct_toy2d.yaml --set data.options.kind=gaussian --set train.steps=20000 -o runs/ct_gauss
    python scripts/consistency_error.py runs/ct_gauss

Prints, per checkpoint, the relative error E|f - f*| / E|f*| at each sigma (0 is exact) of the
network that is sampled, and the one-step exact W1 to held-out data (0.5 * sqrt(pi/2) ~ 0.63 for
a collapse onto the mean; ~0.03 between two samples of 1000 points).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from act.data.toy import gaussian_consistency_function, sample_toy
from act.theory.wasserstein import exact_w1
from act.checkpoint import load_networks

SIGMAS = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0, 80.0)


def errors(path: Path, n: int = 1000) -> dict:
    net, cfg, state = load_networks(path)
    if (cfg.data.name, cfg.data.options.get("kind")) not in (("toy2d", "gaussian"), ("toy2d:gaussian", None)):
        raise SystemExit(f"{path} was trained on {cfg.data.name} {cfg.data.options}: need toy2d kind=gaussian")
    x0 = sample_toy("gaussian", n, seed=12345)  # held out: the training set uses the config's seed
    z = torch.randn(n, 2, generator=torch.Generator().manual_seed(1))
    out = {"step": int(state["step"])}
    with torch.no_grad():
        for s in SIGMAS:
            xt = x0 + s * z
            exact = gaussian_consistency_function(xt, s, cfg.noise.sigma_min)
            f = net(xt, torch.full((n,), s))
            out[f"{s:g}"] = float((f - exact).norm(dim=1).mean() / exact.norm(dim=1).mean())
        out["w1"] = exact_w1(net(cfg.noise.sigma_max * z, torch.full((n,), cfg.noise.sigma_max)), x0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path, help="an `act train` output folder (toy2d, kind gaussian)")
    args = p.parse_args()
    ckpts = sorted((args.run_dir / "checkpoints").glob("step-*.pt"))
    if not ckpts:
        raise SystemExit(f"no checkpoints in {args.run_dir / 'checkpoints'}")
    print("step".rjust(7) + "".join(f"{'s=' + format(s, 'g'):>8}" for s in SIGMAS) + "   W1(1-step)")
    for c in ckpts:
        e = errors(c)
        print(f"{e['step']:7d}" + "".join(f"{e[f'{s:g}']:8.3f}" for s in SIGMAS) + f"   {e['w1']:.3f}")


if __name__ == "__main__":
    main()

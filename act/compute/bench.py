"""``act bench``: what the training and sampling steps cost on this device, against what the device can do.

One run measures, on the current device and synthetic images of a preset's shape:

- the dense matmul peak (fp32; on GPUs also TF32 and bf16): the denominator of every utilisation;
- per method (CT, iCT, ACT): FLOPs of a training step (``torch.utils.flop_counter``, R1 steps
  weighted 1 in ``r1_interval``), seconds per step (plain and, for ACT, R1 steps timed apart and
  weighted the same way), utilisation = FLOP/s over the peak, and peak memory (CUDA);
- the bare ``UNet2DModel`` of the same preset: forward, backward and a RAdam step on the same
  batch, the best a method built on it could do;
- ACT's time over CT's beside its FLOP ratio (the issue's efficiency target: at most 1.1);
- one-step sampling images/s beside the bare forward's;
- the FID network alone (Inception-v3 to pool3 on 299 px images): images/s, GFLOP/s and its share
  of the fp32 matmul peak, for each way of running it (``eager``, the default, and ``torchscript``);
- evaluation (Inception features, FID, KID, precision/recall) images/s with a cold reference cache
  (the reference's features computed) and a warm one (read back), per Inception backend;
- each workflow rule's process start-up (its imports and, where it builds one, the network)
  beside ``import torch``, each in a fresh interpreter.

Every number comes from this one run; the switches (precision, compile, channels_last, the compiled
optimiser step, TF32, train.sync) apply to every row the bare UNet's included, so two calls side by
side show a switch's effect.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from act.config import METHOD_NAMES

# What each workflow rule's process imports (and builds) before its first useful operation.
_NETWORK = "; from act.networks import build_generator; build_generator('tiny')"  # diffusers' UNet, imported and built
STARTUP = {
    "import torch": "import torch",
    "train": "import act.train" + _NETWORK,
    "score (sample + evaluate)": "import act.commands.sample, act.metrics.evaluation" + _NETWORK,
    "theory": "import act.theory" + _NETWORK,
    "cost": "import act.compute.cost" + _NETWORK,
    "budget": "import act.compute.budget",
    "aggregate": "import act.report.aggregate",
    "tables": "import act.report.tables",
    "figures": "import act.report.figures",
    "claims": "import act.report.claims_output",
}


@dataclass
class BenchOptions:
    preset: str = "cifar10"
    batch: int = 16
    steps: int = 3
    warmup: int = 1
    methods: Sequence[str] = METHOD_NAMES
    device: str = "auto"
    precision: str = "fp32"
    compile: bool = False
    channels_last: bool = False
    compile_optimizer: bool = False
    tf32: bool = False
    sync: str = "step"  # train.sync: "log" leaves the finiteness checks to log steps
    eval_images: int = 200  # generated and reference images of the evaluation timing (0: skip it)
    startup: bool = True
    startup_repeats: int = 2

    def switches(self) -> str:
        """The fast paths that are on, in words (the table's title)."""
        on = [n for n, v in (("compiled", self.compile), ("channels_last", self.channels_last),
                             ("compiled optimiser", self.compile_optimizer), ("TF32", self.tf32),
                             ("sync at log steps", self.sync == "log")) if v]
        return ", ".join([self.precision, *on])


def timed(fn: Callable[[], Any], dev: Any, reps: int, warmup: int = 1) -> float:
    """Mean seconds of ``fn()`` over ``reps`` calls after ``warmup`` calls (device synchronised)."""
    from act.devices import synchronize

    for _ in range(warmup):
        fn()
    synchronize(dev)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    synchronize(dev)
    return (time.perf_counter() - t0) / reps


def matmul_peak(dev: Any, dtype: Any, n: Optional[int] = None, reps: int = 5) -> float:
    """Dense matmul FLOP/s of an n x n product (2 n^3 FLOPs), the best of a few calls."""
    import torch

    n = n or (8192 if dev.type == "cuda" else 2048)
    a, b = (torch.randn(n, n, device=dev, dtype=dtype) for _ in range(2))
    return 2 * n ** 3 / min(timed(lambda: a @ b, dev, 1) for _ in range(reps))


def method_config(opts: BenchOptions, method: str) -> Any:
    """The config of one benchmarked method on the preset (its data: random images of the preset's shape,
    :func:`act.compute.cost.synthetic_images`), with the l2 distance: LPIPS needs weights no package ships, and would
    add the same VGG cost to every method."""
    from act.config import load_config

    sets = [f"method.name={method}", "method.distance=l2", f"model.preset={opts.preset}",
            f"train.batch_size={opts.batch}", f"train.precision={opts.precision}", f"train.compile={opts.compile}",
            f"train.device={opts.device}", f"train.channels_last={opts.channels_last}", f"train.tf32={opts.tf32}",
            f"train.compile_optimizer={opts.compile_optimizer}", f"train.sync={opts.sync}"]
    if method == "act":
        sets.append(f"model.discriminator={opts.preset}")
    return load_config(None, tuple(sets))


def bench_method(opts: BenchOptions, method: str) -> Dict[str, Any]:
    """FLOPs, seconds and memory of one training step of ``method`` (the real ``act.train.train_step``)."""
    import torch

    from act.compute.cost import prepare_step
    from act.networks import count_parameters

    prep = prepare_step(method_config(opts, method), synthetic=True)
    dev, m = prep.device, prep.method
    interval = m.regularizer_interval or 0
    flops = {label: prep.count_flops(k) for label, k in ((("r1_step", 0),) if interval else ()) + (("plain_step", 1),)}
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    ks = iter(k for k in range(2, 10 ** 9) if not interval or k % interval)
    plain = timed(lambda: prep.step(next(ks)), dev, opts.steps, opts.warmup)
    out = {"method": method, "flops_plain": flops["plain_step"], "seconds_plain": plain,
           "params": {k: count_parameters(v) for k, v in m.networks.items()}}
    fl, sec = flops["plain_step"], plain
    if interval:  # R1 steps timed on their own, then weighted 1 in interval, as their FLOPs
        r1k = iter(range(interval, 10 ** 9, interval))
        r1 = timed(lambda: prep.step(next(r1k)), dev, max(1, opts.steps // 2), 1)
        fl = (flops["r1_step"] + (interval - 1) * fl) / interval
        sec = (r1 + (interval - 1) * sec) / interval
        out.update({"flops_r1": flops["r1_step"], "seconds_r1": r1, "r1_interval": interval})
    out.update({"flops_per_step": fl, "seconds_per_step": sec, "images_per_step": prep.images_per_step,
                "peak_memory_gib": torch.cuda.max_memory_allocated(dev) / 2 ** 30 if dev.type == "cuda" else None})
    out["sampling_images_per_second"] = sampling_rate(m.sampling_network(), prep.x, prep.labels, prep.cfg, dev, opts)
    return out


def sampling_rate(net: Any, x: Any, labels: Any, cfg: Any, dev: Any, opts: BenchOptions) -> float:
    """One-step sampling images/s: f(sigma_max z, sigma_max) in eval mode without gradients, batch ``opts.batch``."""
    import torch

    b = opts.batch
    z = cfg.noise.sigma_max * torch.randn_like(x[:b])
    sigma = torch.full((b,), cfg.noise.sigma_max, device=dev)
    lab = None if labels is None else labels[:b]
    from act.train import _autocast

    net.eval()
    with torch.no_grad(), _autocast(dev, opts.precision):
        sec = timed(lambda: net(z, sigma, lab), dev, opts.steps, opts.warmup)
    net.train()
    return b / sec


def bare_unet(opts: BenchOptions) -> Dict[str, Any]:
    """The preset's diffusers UNet2DModel alone: a training step (forward, mean-square loss, backward, RAdam)
    and a forward pass, on the same batch as the methods' generator phase."""
    import torch

    from act.compute.cost import flop_counter
    from act.devices import resolve_device
    from act.networks import build_generator, count_parameters
    from act.networks.build import config_data_shape
    from act.train import _autocast, to_layout

    dev = resolve_device(opts.device)
    gen = build_generator(opts.preset)
    c, r, _ = config_data_shape(gen.network_config)
    k = int(gen.network_config.get("num_class_embeds") or 0)
    unet = gen.backbone.unet.to(dev, memory_format=torch.channels_last if opts.channels_last else torch.preserve_format)
    opt = torch.optim.RAdam(unet.parameters(), lr=1e-4, foreach=True)  # as the methods' optimisers
    if opts.compile_optimizer:
        opt.step = torch.compile(opt.step, fullgraph=False)
    if opts.compile:
        unet.compile()
    x = to_layout(torch.randn(opts.batch, c, r, r, device=dev), opts.channels_last)
    t = torch.rand(opts.batch, device=dev) * 100
    cls = torch.randint(k, (opts.batch,), device=dev) if k else None

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with _autocast(dev, opts.precision):
            out = unet(x, t, class_labels=cls).sample
        out.float().square().mean().backward()
        opt.step()

    counter = flop_counter()
    with counter:
        step()
    train_flops = int(counter.get_total_flops())
    sec = timed(step, dev, opts.steps, opts.warmup)
    with torch.no_grad(), _autocast(dev, opts.precision):
        fwd = timed(lambda: unet(x, t, class_labels=cls), dev, opts.steps, opts.warmup)
    return {"flops_per_step": train_flops, "seconds_per_step": sec, "forward_images_per_second": opts.batch / fwd,
            "params": count_parameters(unet)}


def inception_flops_per_image(net: Any) -> float:
    """FLOPs of one 299 px image through the eager FID network to pool3 (``torch.utils.flop_counter`` counts its
    convolutions, which folding batch norms leaves as they are; it cannot look inside the TorchScript)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        net(torch.zeros(1, 3, 299, 299, device=next(net.parameters()).device))
    return float(counter.get_total_flops())


def bench_inception(opts: BenchOptions, peak: float, images: int = 32) -> Dict[str, Any]:
    """The FID network alone on ``images`` resized images, per backend: images/s, FLOP/s and its share of the
    matmul peak measured in the same run (the best of two timed passes after a warm-up)."""
    import torch

    from act.devices import resolve_device
    from act.metrics.inception import BACKENDS, build_feature_extractor

    dev = resolve_device(opts.device)
    x = torch.rand(images, 3, 299, 299, generator=torch.Generator().manual_seed(0)).mul(255).to(dev)
    extractors = {backend: build_feature_extractor(device=str(dev), backend=backend) for backend in BACKENDS}
    flops = inception_flops_per_image(extractors["eager"].net)
    out: Dict[str, Any] = {"images": images, "gflop_per_image": flops / 1e9, "backends": {}}
    for backend, fx in extractors.items():
        with torch.inference_mode():
            fx.forward_resized(x[:4])
            sec = min(timed(lambda: fx.forward_resized(x), dev, 1, 0) for _ in range(2))
        out["backends"][backend] = {"images_per_second": images / sec, "flops_per_second": images * flops / sec,
                                    "utilisation": images * flops / sec / peak}
    return out


def bench_evaluation(opts: BenchOptions, resolution: int, channels: int) -> Dict[str, Any]:
    """Images/s of ``act evaluate``'s work (Inception pool3 features, FID, KID, precision/recall; IS where its
    weights are here) on ``opts.eval_images`` random images against as many reference images, per Inception
    backend, twice: a cold reference cache (the reference's features computed and cached), then a warm one."""
    import tempfile

    import numpy as np

    from act import io
    from act.metrics.evaluation import EvalOptions, evaluate
    from act.metrics.inception import BACKENDS

    rng = np.random.default_rng(0)
    n = opts.eval_images
    shape = (n, resolution, resolution, channels)
    out: Dict[str, Any] = {"images": n, "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        io.write_npz(f"{tmp}/samples.npz", images=rng.integers(0, 256, shape, dtype=np.uint8))
        io.write_npz(f"{tmp}/reference.npz", images=rng.integers(0, 256, shape, dtype=np.uint8))
        for backend in BACKENDS:
            res_by: Dict[str, Any] = {}
            for label in ("cold", "warm"):
                res = evaluate(EvalOptions(samples=f"{tmp}/samples.npz", reference=f"{tmp}/reference.npz",
                                           cache_dir=f"{tmp}/cache", device=opts.device, progress=False,
                                           kid_subset_size=min(1000, n // 2), inception_backend=backend))
                t = res["timings"]
                res_by[label] = {"images_per_second": n / t["total_s"], "total_s": t["total_s"],
                                 "reference_from_cache": bool(t["reference_from_cache"]),
                                 "inception_score": res["inception_score"].get("value") is not None, "fid": res["fid"]}
            out["backends"][backend] = res_by
    return out


def startup_seconds(repeats: int = 2) -> Dict[str, float]:
    """Seconds of each workflow rule's start-up in a fresh interpreter (the best of ``repeats``)."""
    out = {}
    for name, code in STARTUP.items():
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
            best = min(best, time.perf_counter() - t0)
        out[name] = best
    return out


def run_bench(opts: BenchOptions, progress: Callable[[str], None] = lambda s: None) -> Dict[str, Any]:
    import torch

    from act.devices import resolve_device
    from act.provenance import provenance

    dev = resolve_device(opts.device)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = opts.tf32  # the bare UNet's too
    peaks = {"fp32": matmul_peak(dev, torch.float32)}
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        peaks["tf32"] = matmul_peak(dev, torch.float32)
        torch.backends.cuda.matmul.allow_tf32 = opts.tf32
        peaks["bf16"] = matmul_peak(dev, torch.bfloat16)
        peaks["fp32"] = matmul_peak(dev, torch.float32) if opts.tf32 else peaks["fp32"]
    peak = peaks["bf16" if opts.precision in ("bf16", "fp16") and "bf16" in peaks else
                 "tf32" if opts.tf32 and "tf32" in peaks else "fp32"]
    progress(f"matmul peak {peak / 1e9:.1f} GFLOP/s")
    rows: List[Dict[str, Any]] = []
    bare = bare_unet(opts)
    bare["utilisation"] = bare["flops_per_step"] / bare["seconds_per_step"] / peak
    progress(f"bare UNet step {bare['seconds_per_step']:.3f} s")
    for method in opts.methods:
        r = bench_method(opts, method)
        r["utilisation"] = r["flops_per_step"] / r["seconds_per_step"] / peak
        r["vs_bare_flop_rate"] = (r["flops_per_step"] / r["seconds_per_step"]) / (bare["flops_per_step"] / bare["seconds_per_step"])
        rows.append(r)
        progress(f"{method} step {r['seconds_per_step']:.3f} s")
    by = {r["method"]: r for r in rows}
    ratio = None
    if "act" in by and "ct" in by:
        t = by["act"]["seconds_per_step"] / by["ct"]["seconds_per_step"]
        f = by["act"]["flops_per_step"] / by["ct"]["flops_per_step"]
        ratio = {"time": t, "flops": f, "time_per_flop": t / f}
    if opts.eval_images:
        from act.networks.build import config_data_shape, resolve_generator_config

        c, r, _ = config_data_shape(resolve_generator_config(opts.preset))
        progress("the FID network alone, per backend")
        inception = bench_inception(opts, peaks["fp32"])
        progress(f"evaluation of {opts.eval_images} images per backend, cold then warm reference cache")
        evaluation = bench_evaluation(opts, r, c)
    else:
        evaluation = inception = None
    out = {"options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(opts).items()},
           "device": str(dev), "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
           "threads": torch.get_num_threads(), "matmul_peak_flops": peaks, "peak_used": peak, "bare_unet": bare,
           "methods": rows, "act_over_ct": ratio, "inception": inception, "evaluation": evaluation,
           "provenance": provenance()}
    if opts.startup:
        s = startup_seconds(opts.startup_repeats)
        out["startup_seconds"] = s
        out["startup_over_import_torch"] = {k: v / s["import torch"] for k, v in s.items()}
    return out


def markdown(res: Dict[str, Any]) -> str:
    o, peak = res["options"], res["peak_used"]
    switches = BenchOptions(**{k: v for k, v in o.items() if k in BenchOptions.__dataclass_fields__}).switches()
    lines = [f"# act bench: preset {o['preset']}, batch {o['batch']}, {switches}, {res['device_name']} "
             f"({res['threads']} threads)", "",
             "Matmul peak: " + ", ".join(f"{k} {v / 1e9:,.1f} GFLOP/s" for k, v in res["matmul_peak_flops"].items()), "",
             "| step | GFLOP | s | GFLOP/s | of peak | vs bare UNet | peak mem (GiB) | 1-step sampling img/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    b = res["bare_unet"]
    lines.append(f"| bare UNet2DModel | {b['flops_per_step'] / 1e9:,.1f} | {b['seconds_per_step']:.3f} | "
                 f"{b['flops_per_step'] / b['seconds_per_step'] / 1e9:,.1f} | {b['utilisation']:.0%} | 1.00 | – | "
                 f"{b['forward_images_per_second']:,.0f} (forward) |")
    for r in res["methods"]:
        mem = f"{r['peak_memory_gib']:.2f}" if r["peak_memory_gib"] is not None else "–"
        lines.append(f"| {r['method']} | {r['flops_per_step'] / 1e9:,.1f} | {r['seconds_per_step']:.3f} | "
                     f"{r['flops_per_step'] / r['seconds_per_step'] / 1e9:,.1f} | {r['utilisation']:.0%} | "
                     f"{r['vs_bare_flop_rate']:.2f} | {mem} | {r['sampling_images_per_second']:,.0f} |")
    if res.get("act_over_ct"):
        a = res["act_over_ct"]
        lines += ["", f"ACT / CT: time {a['time']:.2f} x, FLOPs {a['flops']:.2f} x, time per FLOP {a['time_per_flop']:.2f} x "
                      "(target: at most 1.10)"]
    if res.get("inception"):
        i = res["inception"]
        base = i["backends"]["torchscript"]["images_per_second"]
        lines += ["", f"| FID network alone ({i['images']} images at 299 px, {i['gflop_per_image']:.2f} GFLOP each) | "
                      "images/s | GFLOP/s | of fp32 peak | x torchscript |", "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {k} | {v['images_per_second']:,.1f} | {v['flops_per_second'] / 1e9:,.1f} | {v['utilisation']:.0%} | "
                  f"{v['images_per_second'] / base:.2f} |" for k, v in i["backends"].items()]
    if res.get("evaluation"):
        e = res["evaluation"]
        base = {k: e["backends"]["torchscript"][k]["images_per_second"] for k in ("cold", "warm")}
        lines += ["", f"| evaluation ({e['images']} images vs {e['images']} reference) | backend | images/s | s | "
                      "x torchscript | FID |", "| --- | --- | ---: | ---: | ---: | ---: |"]
        for backend, by in e["backends"].items():
            lines += [f"| {k} reference cache{'' if by[k]['inception_score'] else ' (no IS: weights absent)'} | "
                      f"{backend} | {by[k]['images_per_second']:,.1f} | {by[k]['total_s']:.2f} | "
                      f"{by[k]['images_per_second'] / base[k]:.2f} | {by[k]['fid']:.4f} |" for k in ("cold", "warm")]
    if res.get("startup_seconds"):
        lines += ["", "| process start-up | s | x import torch |", "| --- | ---: | ---: |"]
        lines += [f"| {k} | {v:.2f} | {res['startup_over_import_torch'][k]:.2f} |" for k, v in res["startup_seconds"].items()]
    lines += ["", f"Peak used for utilisation: {peak / 1e9:,.1f} GFLOP/s. ACT rows weight R1 steps 1 in r1_interval, "
                  "in FLOPs and in seconds. Distance l2 for every method (LPIPS would add the same VGG cost to each).", ""]
    return "\n".join(lines)

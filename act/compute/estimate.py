"""The bill of an experiment before it runs: GPU-hours and images per second of every run.

Per (dataset key, arm, batch) of an experiment config (an arm: a method or a variant of one), seeds multiplying::

    GPU-seconds per step = FLOPs per step / (dense peak of the run's precision x utilisation)
    GPU-hours            = steps x GPU-seconds per step x seeds / 3600
    wall hours per run   = steps x GPU-seconds per step / GPUs per run / 3600   (ideal data parallelism)

FLOPs per step come from the JSONs ``act cost`` writes (``{cost_dir}/{dataset}/{arm}_b{batch}.json``,
act/plan/layout.py ``cost_path``), or are measured here on the CPU at batch 2 and scaled linearly to
the run's batch (:func:`measure_flops`, cached by config hash). A cost file measured on the GPU type
estimated for gives the seconds per step itself ("measured"), in place of peak x utilisation.
Steps follow each arm's budget (its own, else the dataset's) as ``act budget`` plans them
(act/compute/budget.py): fixed ``steps``, or matched compute (``flops``, or a ``reference`` run's steps x
its FLOPs per step, at the reference's batch or the run's own) divided by each run's FLOPs per step.

Only ``measure_flops`` imports torch; everything else runs on the cost files alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from act.errors import InputError, UserError

PathLike = Union[str, Path]
Key = Tuple[str, str, int]  # (dataset, arm, batch)


class EstimateError(InputError):
    """A user error: one line naming the problem and its fix (``act estimate`` exits 2)."""


# --- Devices ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GPU:
    """Dense peak throughputs (FLOP/s, no structured sparsity) of one GPU type."""

    key: str
    name: str
    fp32: float  # CUDA cores, no tensor cores
    tf32: float  # tensor cores, TF32 inputs (train.tf32: true)
    half: float  # tensor cores, bf16 or fp16 inputs (train.precision bf16 | fp16)
    source: str
    pattern: str  # matches torch.cuda.get_device_name() of this type (a cost file's device_name)


GPUS: Dict[str, GPU] = {
    # NVIDIA A100 Tensor Core GPU datasheet (SXM): FP32 19.5 TFLOPS; TF32 156 (312 with sparsity);
    # BF16/FP16 tensor 312 (624 with sparsity).
    "a100": GPU("a100", "NVIDIA A100 SXM", 19.5e12, 156e12, 312e12,
                "NVIDIA A100 Tensor Core GPU datasheet (SXM; dense, without sparsity)", r"(?<![A-Z0-9])A100(?![0-9])"),
    # NVIDIA H100 Tensor Core GPU datasheet (SXM): FP32 67 TFLOPS; TF32 989 and BF16/FP16 1979 are
    # "with sparsity": dense is half, 495 and 989.
    "h100": GPU("h100", "NVIDIA H100 SXM", 67e12, 495e12, 989e12,
                "NVIDIA H100 Tensor Core GPU datasheet (SXM; sparsity figures halved to dense)", r"(?<![A-Z0-9])H100(?![0-9])"),
    # NVIDIA H200 Tensor Core GPU datasheet: the compute of the H100 SXM (FP32 67; TF32 989, BF16/FP16
    # 1979 with sparsity), more and faster memory.
    "h200": GPU("h200", "NVIDIA H200 SXM", 67e12, 495e12, 989e12,
                "NVIDIA H200 Tensor Core GPU datasheet (same compute as H100 SXM; sparsity figures halved to dense)",
                r"(?<![A-Z0-9])H200(?![0-9])"),
}

# An assumption, not a measurement: dense-peak utilisation (model FLOPs utilisation) typical of
# UNet training steps; applies to every run without a cost file measured on the GPU type.
DEFAULT_UTILIZATION = 0.35
MEASURE_BATCH = 2  # --measure: the batch measured on the CPU (ACT splits its D batch: at least 2)
CACHE_VERSION = 1  # of the --measure cache's entries; a change re-measures


def gpu_spec(key: str) -> GPU:
    if key not in GPUS:
        raise EstimateError(f"unknown --gpu {key!r}: choose one of {', '.join(GPUS)}")
    return GPUS[key]


def peak_flops(gpu: GPU, precision: str, tf32: bool = False) -> Tuple[float, str]:
    """(dense peak FLOP/s, label) of ``gpu`` at ``train.precision`` (fp32: TF32 tensor cores when ``train.tf32``)."""
    if precision in ("bf16", "fp16"):
        return gpu.half, precision
    elif precision == "fp32":
        return (gpu.tf32, "tf32") if tf32 else (gpu.fp32, "fp32")
    else:
        raise EstimateError(f"unknown train.precision {precision!r}: expected fp32, bf16 or fp16")


def same_gpu_type(gpu: GPU, device_name: Optional[str]) -> bool:
    """Whether a cost file's ``device_name`` (torch.cuda.get_device_name) is of ``gpu``'s type."""
    return bool(device_name) and re.search(gpu.pattern, str(device_name).upper()) is not None


# --- The experiment --------------------------------------------------------------------------

def load_experiment(path: PathLike) -> Any:
    from act.plan.experiment import parse_experiment

    p = Path(path)
    if not p.is_file():
        raise EstimateError(f"no experiment config {p}: pass an existing file with -c (e.g. config/paper/cifar10.yaml)")
    try:
        return parse_experiment(p)
    except (UserError, ValueError, TypeError, FileNotFoundError) as e:
        raise EstimateError(f"{p}: {e}") from None


def gpus_per_run(exp: Any, dataset: str) -> int:
    """``resources: {train: {gpu: N}}`` of the dataset (over ``defaults:``), else the experiment's, else 1."""
    from act.plan.experiment import resource_request

    gpu = resource_request(exp.raw, dataset, "train", "gpu")
    return 1 if gpu is None else int(gpu)  # 1: the workflow schema's default


TRAIN_RUNTIME = 60  # minutes: the workflow schema's default of resources.train.runtime
TRAIN_RETRIES = 2  # the SLURM profile's retries, which apply where resources.train.retries is unset
STOP_MINUTES = 5  # the SLURM profile's --signal=TERM@300: a training job stops this long before its limit


def train_allocation(exp: Any, dataset: str) -> Tuple[float, int]:
    """(minutes of one training job, ``resources.train.runtime``; resubmissions it may have,
    ``resources.train.retries``): a run of N such jobs needs N - 1 retries."""
    from act.plan.experiment import resource_request

    minutes = resource_request(exp.raw, dataset, "train", "runtime") or TRAIN_RUNTIME
    retries = resource_request(exp.raw, dataset, "train", "retries")
    return float(minutes), TRAIN_RETRIES if retries is None else int(retries)


def allocations(wall_minutes: float, job_minutes: float) -> int:
    """Training jobs a run of ``wall_minutes`` takes at ``job_minutes`` a job: each trains until the profile's
    SIGTERM, :data:`STOP_MINUTES` before its limit (at most half the job goes so); start-up not counted."""
    return max(1, math.ceil(wall_minutes / max(job_minutes - STOP_MINUTES, job_minutes / 2)))


def run_config(exp: Any, dataset: str, arm: str, batch: int) -> Any:
    """The config ``act cost`` measures for this run (the workflow's cost.yaml)."""
    from act.plan.experiment import resolve_run_config

    try:
        return resolve_run_config(exp, dataset, arm, batch)
    except (UserError, ValueError, TypeError, FileNotFoundError) as e:
        raise EstimateError(f"{dataset}/{arm} at batch {batch}: {e}") from None


def flop_keys(exp: Any) -> List[Key]:
    """Every (dataset, arm, batch) whose FLOPs per step the estimate needs: the runs and any budget reference."""
    from act.plan.experiment import cost_jobs

    try:
        return [(j["dataset"], j["method"], int(j["batch"])) for j in cost_jobs(exp)]
    except (UserError, ValueError) as e:
        raise EstimateError(str(e)) from None


def plan_steps(exp: Any, dataset: str, flops: Mapping[Key, float]) -> Dict[Tuple[str, int], Tuple[int, Optional[float]]]:
    """(steps, budget FLOPs) per (arm, batch) of ``dataset`` under each arm's budget, as ``act budget`` plans them."""
    from act.compute.budget import budget_flops, steps_for

    plan = exp.datasets[dataset]
    out = {}
    for arm, batch in plan.pairs():
        budget = budget_flops(exp, dataset, flops, arm, batch)
        steps = int(plan.budget_of(arm).steps) if budget is None else steps_for(budget, float(flops[(dataset, arm, batch)]))
        out[(arm, batch)] = (steps, budget)
    return out


# --- FLOPs per step ------------------------------------------------------------------------

def cost_file(cost_dir: PathLike, key: Key) -> Path:
    """``{cost_dir}/{dataset}/{method}_b{batch}.json``: cost_path's layout below its experiment's ``cost/``."""
    from act.plan.layout import cost_path

    return Path(cost_dir) / cost_path("", *key).relative_to("cost")


def read_cost_dir(cost_dir: PathLike, keys: List[Key]) -> Tuple[Dict[Key, Dict[str, Any]], List[Key]]:
    """The cost JSONs of ``keys`` under ``cost_dir`` ({dataset}/{method}_b{batch}.json), and the keys with none."""
    from act.compute.budget import read_costs

    found = [k for k in keys if cost_file(cost_dir, k).is_file()]
    try:
        costs = read_costs([cost_file(cost_dir, k) for k in found])
    except (UserError, ValueError, json.JSONDecodeError) as e:
        raise EstimateError(f"{e}: rerun act cost for it") from None
    return costs, [k for k in keys if k not in costs]


def config_hash(cfg: Any, max_batch: int = MEASURE_BATCH) -> str:
    """Of the resolved config and what measuring it depends on (measured batch, torch version, cache version)."""
    import torch

    from act.config import to_dict

    blob = json.dumps({"config": to_dict(cfg), "max_batch": max_batch, "torch": torch.__version__,
                       "version": CACHE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_cache_path() -> Path:
    """$ACT_ESTIMATE_CACHE, else $XDG_CACHE_HOME/act-bench/estimate-flops.json (~/.cache when unset)."""
    if os.environ.get("ACT_ESTIMATE_CACHE"):
        return Path(os.environ["ACT_ESTIMATE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "act-bench", "estimate-flops.json")


def read_cache(path: PathLike) -> Dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return {}  # a broken cache is re-measured, never an error
    return dict(data.get("entries") or {}) if isinstance(data, Mapping) else {}


def _random_vgg16_file(folder: Path) -> Path:
    """torchvision's VGG-16 layout (features only: all LPIPS reads), randomly initialised."""
    import torch
    import torchvision

    path = folder / "vgg16-random.pth"
    if not path.is_file():
        features = torchvision.models.vgg16(weights=None).features
        torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path


def measure_flops(cfg: Any, max_batch: int = MEASURE_BATCH, cache: Optional[Dict[str, Any]] = None,
                  scratch: Optional[PathLike] = None) -> Dict[str, Any]:
    """FLOPs per step of ``cfg`` (act.compute.cost.measure_cost on the CPU at ``max_batch``, scaled linearly to its batch).

    Synthetic images of the preset's shape (toy data: the toy data itself), fp32 (FLOP counts do not
    depend on the dtype), no compile. LPIPS without VGG-16 weights on this machine gets a randomly
    initialised VGG-16 (``random_lpips_weights``): FLOPs do not depend on weight values. ``cache``
    (hash -> entry) is looked up first and updated with what is measured.
    """
    key = config_hash(cfg, max_batch)
    if cache is not None and key in cache:
        return {**cache[key], "cached": True}
    from act.compute.cost import measure_cost
    from act.distances import find_vgg16_weights

    method = cfg.method
    random_vgg = method.distance == "lpips" and find_vgg16_weights(method.lpips_weights) is None
    with tempfile.TemporaryDirectory(prefix="act-estimate-") as tmp:
        if random_vgg:
            folder = Path(scratch) if scratch is not None else Path(tmp)
            method = dataclasses.replace(method, lpips_weights=str(_random_vgg16_file(folder)))
        train = dataclasses.replace(cfg.train, device="cpu", precision="fp32", compile=False, tf32=False,
                                    cudnn_benchmark=False, deterministic=False)
        cpu_cfg = dataclasses.replace(cfg, method=method, train=train)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # lpips builds its VGG with torchvision's deprecated pretrained=False
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torchvision\.models\._utils")
            r = measure_cost(cpu_cfg, steps=1, warmup=0, synthetic=cfg.data.name != "toy2d", device="cpu",
                             max_batch=max_batch)
        elapsed = time.perf_counter() - t0
    entry = {"flops_per_step": float(r["flops_per_step"]), "images_per_step": int(r["images_per_step"]),
             "batch_size": int(r["batch_size"]), "measured_batch_size": int(r["measured_batch_size"]),
             "scaled_by": float(r["scaled_by"]), "flops_detail": r["flops_detail"], "params": r["params"],
             "method": cfg.method.name, "preset": cfg.model.preset, "random_lpips_weights": random_vgg,
             "measure_seconds": elapsed, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if cache is not None:
        cache[key] = entry
    return {**entry, "cached": False}


# --- The estimate ----------------------------------------------------------------------------

def estimate(exp: Any, gpu: GPU, costs: Mapping[Key, Mapping[str, Any]], utilization: Optional[float] = None) -> Dict[str, Any]:
    """Rows (one per dataset, arm, batch; ``method``: the arm), totals and assumptions, from FLOPs per step in ``costs``.

    ``costs[key]``: ``flops_per_step`` and ``images_per_step``; a cost file's ``seconds_per_step`` and
    ``device_name`` too (used in place of the utilisation when of ``gpu``'s type); ``_source``: where
    the FLOPs come from; ``random_lpips_weights``: measured with a random VGG-16.
    """
    from act.compute.budget import check_cost_methods

    util = DEFAULT_UTILIZATION if utilization is None else float(utilization)
    if not 0 < util <= 1:
        raise EstimateError(f"--utilization {utilization}: give a fraction of the peak in (0, 1], e.g. 0.35")
    try:
        check_cost_methods(exp, costs)
    except (UserError, ValueError) as e:
        raise EstimateError(str(e)) from None
    flops = {k: float(c["flops_per_step"]) for k, c in costs.items()}
    rows: List[Dict[str, Any]] = []
    for ds, plan in exp.datasets.items():
        steps = plan_steps(exp, ds, flops)
        gpus = gpus_per_run(exp, ds)
        job_minutes, retries = train_allocation(exp, ds)
        for method, batch in plan.pairs():
            key = (ds, method, batch)
            c = costs[key]
            cfg = run_config(exp, ds, method, batch)
            peak, peak_label = peak_flops(gpu, cfg.train.precision, cfg.train.tf32)
            (n_steps, budget), fps, n_seeds = steps[(method, batch)], flops[key], len(plan.seeds)
            sps = c.get("seconds_per_step")
            measured = same_gpu_type(gpu, c.get("device_name")) and bool(sps) and float(sps) > 0
            gpu_s = float(sps) if measured else fps / (peak * util)  # seconds of one GPU per step (global batch)
            images = int(c.get("images_per_step") or batch)
            wall_h = n_steps * gpu_s / max(1, gpus) / 3600  # one run on its GPUs, ideal data parallelism
            rows.append({
                "dataset": ds, "method": method, "batch": batch, "seeds": list(plan.seeds), "n_seeds": n_seeds,
                "precision": peak_label, "peak_tflops": peak / 1e12, "steps": n_steps, "budget_kind": plan.budget_of(method).kind,
                "budget_flops": budget, "flops_per_step": fps, "gflop_per_step": fps / 1e9,
                "pflop_per_run": n_steps * fps / 1e15, "pflop_total": n_steps * fps * n_seeds / 1e15,
                "gpus_per_run": gpus, "gpu_seconds_per_step": gpu_s,
                "utilization": fps / (gpu_s * peak), "basis": "measured" if measured else "assumed",
                "measured_device": c.get("device_name") if measured else None,
                "measured_batch_size": c.get("measured_batch_size") if measured else None,
                "gpu_hours_per_run": n_steps * gpu_s / 3600, "gpu_hours_total": n_steps * gpu_s * n_seeds / 3600,
                "wall_hours_per_run": wall_h,
                "train_job_minutes": job_minutes, "train_retries": retries,
                "allocations": allocations(60 * wall_h, job_minutes),
                "images_per_step": images, "images_per_second": images * max(1, gpus) / gpu_s,
                "flops_source": c.get("_source") or c.get("_file"),
                "random_lpips_weights": bool(c.get("random_lpips_weights")),
            })
    totals = {"runs": sum(r["n_seeds"] for r in rows), "pflop_total": sum(r["pflop_total"] for r in rows),
              "gpu_hours_total": sum(r["gpu_hours_total"] for r in rows),
              "wall_hours_sequential": sum(r["wall_hours_per_run"] * r["n_seeds"] for r in rows),
              "wall_hours_parallel": max((r["wall_hours_per_run"] for r in rows), default=0.0)}
    return {"experiment": exp.name, "experiment_config": str(exp.path) if exp.path else None,
            "gpu": {"key": gpu.key, "name": gpu.name, "peak_tflops": {"fp32": gpu.fp32 / 1e12, "tf32": gpu.tf32 / 1e12,
                                                                      "bf16/fp16": gpu.half / 1e12}, "source": gpu.source},
            "utilization_assumed": util, "utilization_given": utilization is not None,
            "rows": rows, "totals": totals, "warnings": warnings_of(rows),
            "assumptions": assumptions(rows, gpu, util, utilization is not None)}


def warnings_of(rows: List[Dict[str, Any]]) -> List[str]:
    """A run that needs more training jobs than it may be resubmitted would stop unfinished."""
    return [f"{r['dataset']}/{r['method']} b{r['batch']} needs {r['allocations']} training jobs of "
            f"{r['train_job_minutes']:g} min (resources.train.runtime) but may be resubmitted {r['train_retries']} "
            f"times: set resources.train.retries to {r['allocations'] - 1} or more, or it stops unfinished"
            for r in rows if r["allocations"] - 1 > r["train_retries"]]


def assumptions(rows: List[Dict[str, Any]], gpu: GPU, util: float, given: bool) -> List[str]:
    out = [f"{gpu.name}, dense peaks (no sparsity): fp32 {gpu.fp32 / 1e12:g}, TF32 {gpu.tf32 / 1e12:g}, "
           f"bf16/fp16 {gpu.half / 1e12:g} TFLOPS ({gpu.source}). A run's peak is that of its train.precision "
           "(fp32: TF32 when train.tf32 is true).",
           "GPU-s/step = FLOPs per step / (peak x utilisation); GPU-h = steps x GPU-s/step x seeds / 3600; "
           "wall h = one run (one seed) at its GPUs per run (resources: train.gpu), ideal data-parallel scaling; "
           "img/s = training images loaded per step (ACT: 2x batch) over all of a run's GPUs."]
    if any(r["basis"] == "assumed" for r in rows):
        why = "given with --utilization" if given else "an assumption (a typical UNet training MFU), not a measurement"
        out.append(f"basis 'assumed': utilisation {util:g} of the dense peak, {why}.")
    for r in rows:
        if r["basis"] == "measured":
            scaled = (f", measured at batch {r['measured_batch_size']} and scaled linearly"
                      if r.get("measured_batch_size") and r["measured_batch_size"] != r["batch"] else "")
            out.append(f"basis 'measured' ({r['dataset']}/{r['method']} b{r['batch']}): seconds per step of act cost on "
                       f"{r['measured_device']}{scaled} (implied utilisation {r['utilization']:.3g}).")
    if any(r["precision"] == "fp32" for r in rows):
        out.append("precision fp32 without train.tf32: CUDA-core fp32 peak, no tensor cores.")
    out.append(f"jobs/run = wall h per run / (resources.train.runtime less the {STOP_MINUTES} minutes of the SLURM "
               f"profile's --signal=TERM@{60 * STOP_MINUTES}), rounded up: the training jobs one run takes, "
               "each resuming from the last one's checkpoint (resources.train.retries: resubmissions allowed; "
               f"unset: the SLURM profile's {TRAIN_RETRIES}).")
    if any(str(r["flops_source"]).startswith("measured") for r in rows):
        out.append(f"FLOPs of rows measured here: act.compute.cost.measure_cost on the CPU at batch {MEASURE_BATCH}, synthetic images "
                   "of the preset's shape (toy data: the toy data), scaled linearly to the run's batch.")
    if any(r["random_lpips_weights"] for r in rows):
        out.append("LPIPS FLOPs counted with randomly initialised VGG-16 weights (no VGG-16 weights here; "
                   "FLOPs do not depend on weight values).")
    out.append("FLOPs: torch.utils.flop_counter over one full training step (matmuls and convolutions of every "
               "phase's forward and backward, R1 amortised over its interval; elementwise ops not counted). Not "
               "billed: sampling, evaluation, theory, inpainting, act cost, data-loading stalls, restarts.")
    return out

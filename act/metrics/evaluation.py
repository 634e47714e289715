"""One evaluation of one sample set: the ``act evaluate`` workflow rule as a function.

Features of the samples are extracted once and feed FID, KID and precision/recall
(:mod:`act.metrics.scores`); reference features come from the cache when they
can (:mod:`act.metrics.reference`); IS is reported or reported missing
(:mod:`act.metrics.inception_score`); classifier metrics are added when a
classifier is given (:mod:`act.metrics.classifier`).
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional

from act.devices import resolve_device
from act.metrics import reference as ref
from act.metrics.classifier import classifier_metrics, load_classifier
from act.metrics.formats import read_image_set
from act.metrics.inception import (DEFAULT_BACKEND, FEATURE_NETWORK, build_feature_extractor, extract_features,
                                  inception_info)
from act.metrics.inception_score import inception_score
from act.metrics.protocol import DEFAULT_CACHE_DIR, DEFAULT_RESIZE_MODE
from act.metrics.scores import feature_metrics, feature_statistics, frechet_distance
from act.provenance import package_versions

VERSIONED_MODULES = ("act", "torch", "torch_fidelity", "numpy", "scipy")  # metrics.json "versions", with python


@dataclass
class EvalOptions:
    samples: str  # act sample's npz (uint8 'images'), an ADM batch ('arr_0'), a zip or a folder of images
    dataset: Optional[str] = None  # act.data name of the reference data; or give ``reference``
    reference: Optional[str] = None  # a reference file instead (act.metrics.formats): images, or mu/sigma only
    data_root: Optional[str] = None
    split: str = "train"  # the paper protocol compares against the training set
    num_ref: Optional[int] = None  # None: the whole split (paper protocol); else a seeded subset
    ref_seed: int = 0  # which subset, when num_ref is smaller than the split
    num_samples: Optional[int] = None  # None: every image in the npz; else the first n (image i = seed i)
    # Inception metrics (FID, KID, precision/recall, IS) on the first n samples only: None = all of them, 0 = none
    # (the classifier scores still see every sample; CPU experiments read Inception on a subsample)
    inception_num: Optional[int] = None
    eval_seed: Optional[int] = None  # with a classifier: classifier_fd_gaussian, drawn from GAUSSIAN_SEED_OFFSET + this
    resolution: Optional[int] = None  # None: the samples' resolution
    resize_mode: str = DEFAULT_RESIZE_MODE  # how images reach 299 px: part of the metric's definition
    cache_dir: str = DEFAULT_CACHE_DIR
    device: str = "auto"
    batch_size: int = 64  # does not change the features, only speed and memory
    inception_backend: str = DEFAULT_BACKEND  # eager or torchscript: pool3 equal to float rounding (act.metrics.inception)
    inception_weights: Optional[str] = None  # IS weights; else $ACT_INCEPTION_WEIGHTS, then the hub cache
    allow_download: bool = False  # let torch-fidelity download the IS weights
    classifier: Optional[str] = None  # act train-classifier checkpoint: adds classifier_is / classifier_fd
    kid_subsets: int = 100  # torch-fidelity's default
    kid_subset_size: int = 1000  # torch-fidelity's default; capped at the set sizes
    kid_seed: int = 2020  # torch-fidelity's default rng_seed
    pr_k: int = 3  # Kynkäänniemi et al. 2019 and the ADM evaluator
    is_splits: int = 10  # the usual IS protocol
    progress: bool = True


def versions() -> Dict[str, str]:
    """Package versions that change metric values (the modules' own, torch's CUDA build included)."""
    return {**package_versions(VERSIONED_MODULES, imported=True), "python": platform.python_version()}


def ref_network(backend: str) -> str:
    """The feature network as the reference cache names it: the backends' features differ by float rounding,
    so each keeps its own cache (the TorchScript's under the plain name, as before backends existed)."""
    return FEATURE_NETWORK if backend == "torchscript" else f"{FEATURE_NETWORK}@{backend}"


def evaluate(opts: EvalOptions) -> Dict[str, Any]:
    """All metrics of ``opts.samples`` against ``opts.dataset``; a JSON-ready dict."""
    t_start = time.perf_counter()
    device = resolve_device(opts.device, strict=False)
    if (opts.dataset is None) == (opts.reference is None):
        raise ValueError("give the reference as a dataset name or as a reference file, exactly one of the two")
    sample_set = read_image_set(opts.samples, opts.num_samples)
    if sample_set.images is None:
        raise ValueError(f"{opts.samples} holds statistics only; the sample set must hold images")
    samples = sample_set.images
    resolution = opts.resolution or int(samples.shape[1])

    t0 = time.perf_counter()
    stats = None  # (mu, sigma) of a reference file, when it has them
    if opts.reference is not None:
        ref_set = read_image_set(opts.reference, opts.num_ref)
        ref_images, ref_kind = ref_set.images, ref_set.kind
        stats = (ref_set.mu, ref_set.sigma) if ref_set.mu is not None else None
        if ref_images is None and opts.classifier:
            raise ValueError(f"{opts.reference} holds statistics only: classifier scores need reference images")
    else:
        ref_images, _ = ref.load_reference_images(opts.dataset, opts.data_root, opts.split, resolution,
                                                  opts.num_ref, opts.ref_seed)
        ref_kind = "dataset"
    load_ref_s = time.perf_counter() - t0
    if ref_images is not None and len(ref_images) < 2:
        raise ValueError(f"{opts.reference or opts.dataset} gave {len(ref_images)} reference images; need at least 2")

    if opts.inception_num is not None and opts.inception_num < 0:
        raise ValueError(f"inception_num is {opts.inception_num}: give 0 (no Inception metrics), n > 0, or None (all)")
    inception = samples if opts.inception_num is None else samples[:opts.inception_num]
    cache: Dict[str, Any] = {"cache_file": None, "from_cache": None, "seconds": None}
    key, sample_s, metrics_s, is_s, backend = None, 0.0, 0.0, 0.0, opts.inception_backend
    if len(inception) == 0:
        out: Dict[str, Any] = {k: None for k in ("fid", "kid_mean", "kid_std", "precision", "recall",
                                                  "inception_score")}
    else:
        out, key, cache, backend, (sample_s, metrics_s, is_s) = _inception_metrics(opts, inception, ref_images,
                                                                                   stats, device)

    classifier_s = None
    if opts.classifier:
        from act.metrics.toy import GAUSSIAN_SEED_OFFSET

        t0 = time.perf_counter()
        net, ccfg = load_classifier(opts.classifier, str(device))
        gseed = None if opts.eval_seed is None else GAUSSIAN_SEED_OFFSET + opts.eval_seed
        moments, how = None, "the reference images themselves (a reference file)"
        if gseed is not None and opts.dataset is not None:
            moments, how = ref.moment_images(opts.dataset, opts.data_root, opts.split, resolution, opts.num_ref,
                                             opts.ref_seed)
        out.update(classifier_metrics(net, ccfg, samples, ref_images, splits=opts.is_splits,  # reference images exist
                                      gaussian_seed=gseed, moments_of=moments))
        if gseed is not None:
            out["gaussian_moments"] = how
        out["classifier_path"] = opts.classifier
        classifier_s = time.perf_counter() - t0

    out.update({
        "num_samples": int(len(samples)),
        "num_inception": int(len(inception)),
        "num_ref": int(len(ref_images)) if ref_images is not None else None,
        "samples": opts.samples,
        "sample_format": sample_set.kind,
        "sample_shape": list(samples.shape[1:]),
        "dataset": opts.dataset,
        "split": opts.split if opts.dataset else None,
        "resolution": int(ref_images.shape[1]) if ref_images is not None else None,
        "resize_mode": opts.resize_mode,
        "feature_network": FEATURE_NETWORK,
        "feature_network_info": inception_info(opts.resize_mode, backend),
        "reference": {"cache_file": cache["cache_file"], "from_cache": cache["from_cache"],
                      "pixels_sha1": key.pixels_sha1 if key else None, "seed": opts.ref_seed,
                      "path": opts.reference, "format": ref_kind, "statistics": stats is not None},
        "timings": {
            "sample_features_s": sample_s,
            "sample_features_per_1000_s": 1000.0 * sample_s / max(1, len(inception)),
            "reference_load_s": load_ref_s,
            "reference_features_s": cache["seconds"],
            "reference_from_cache": cache["from_cache"],
            "metrics_s": metrics_s,
            "inception_score_s": is_s,
            "classifier_s": classifier_s,
            "total_s": time.perf_counter() - t_start,
        },
        "device": str(device),
        "options": asdict(opts),
        "versions": versions(),
    })
    return out


def _inception_metrics(opts: EvalOptions, samples, ref_images, stats, device):
    """FID, KID, precision/recall and IS of ``samples``: (metrics, cache key, cache info, backend, seconds of
    sample features, metrics and IS)."""
    extractor = build_feature_extractor(opts.resize_mode, str(device), opts.inception_backend)
    backend = extractor.backend
    t0 = time.perf_counter()
    sample_feats = extract_features(samples, extractor, opts.batch_size, "sample features", opts.progress)
    sample_s = time.perf_counter() - t0

    cache: Dict[str, Any] = {"cache_file": None, "from_cache": None, "seconds": None}
    key = None
    if ref_images is not None:
        key = ref.ReferenceKey(dataset=opts.dataset or f"file:{opts.reference}", split=opts.split if opts.dataset else "",
                               resolution=int(ref_images.shape[1]),
                               feature_network=ref_network(backend),
                               resize_mode=opts.resize_mode, num=len(ref_images), seed=opts.ref_seed,
                               pixels_sha1=ref.pixels_sha1(ref_images))
        ref_feats, cache = ref.cached_features(
            key, opts.cache_dir,
            lambda net=extractor: extract_features(ref_images, net, opts.batch_size, "reference features", opts.progress))
    del extractor  # (the network is called above, or not at all: a cache hit)

    t0 = time.perf_counter()
    if ref_images is not None:
        out: Dict[str, Any] = feature_metrics(sample_feats, ref_feats, kid_subsets=opts.kid_subsets,
                                              kid_subset_size=opts.kid_subset_size, pr_k=opts.pr_k,
                                              seed=opts.kid_seed, device=str(device))
    else:  # statistics only: FID, nothing that needs the reference features themselves
        out = {"fid": None, "kid_mean": None, "kid_std": None, "precision": None, "recall": None}
    if stats is not None:
        fid_stats = frechet_distance(*feature_statistics(sample_feats), *stats)
        out["fid_reference_stats"] = fid_stats  # against the file's own mu / sigma (the ADM evaluator's number)
        if ref_images is None:
            out["fid"] = fid_stats
    metrics_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    out["inception_score"] = inception_score(samples, opts.inception_weights, allow_download=opts.allow_download,
                                             device=str(device), batch_size=opts.batch_size,
                                             splits=opts.is_splits, progress=opts.progress)
    is_s = time.perf_counter() - t0
    return out, key, cache, backend, (sample_s, metrics_s, is_s)

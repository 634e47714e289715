"""Names, order and colours shared by tables and figures: one method, one colour, everywhere."""

from __future__ import annotations

from typing import Dict

METHODS = ("act", "ct", "ict")  # table and legend order: the paper's method first
METHOD_LABELS: Dict[str, str] = {"act": "ACT", "ct": "CT", "ict": "iCT"}
METHOD_COLORS: Dict[str, str] = {"act": "#d62728", "ct": "#1f77b4", "ict": "#2ca02c"}  # tab:red, tab:blue, tab:green

# Experiment dataset keys that name a dataset of reported_results.csv; others (fashion_mnist, toy_*) have none.
REPORTED_DATASETS = ("cifar10", "imagenet64", "lsun_cat256")
REFERENCE_DIR = "workflow/resources/reference"  # reported_results.csv, reported_settings.csv (see its README)


# Arms (an experiment's variants of a method) are named after their method: ``actnoadv``, ``ctonline``. They are
# labelled "ACT-noadv", "CT-online", sorted after their method, and drawn in colours of their own.
# No grey among them: held-out data and floor lines are drawn in grey.
VARIANT_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#000000", "#bcbd22", "#17becf", "#ff7f0e")
ARM_COLORS = {"actsteps": "#ff7f0e", "actnoadv": "#8c564b", "actpaper": "#e377c2", "ctpaper": "#9467bd",
              "ctpaperlong": "#000000", "ctpaper1280": "#bcbd22", "ctonline": "#17becf"}  # the arms of the shipped configs, told apart


def base_method(arm: str) -> str:
    """The method an arm name starts with (the longest match: ``ictx`` is iCT's), else the name itself."""
    a = str(arm).lower()
    return next((m for m in sorted(METHODS, key=len, reverse=True) if a.startswith(m)), a)


def method_label(method: str) -> str:
    m = str(method).lower()
    if m in METHOD_LABELS:
        return METHOD_LABELS[m]
    base = base_method(m)
    return f"{METHOD_LABELS[base]}-{m[len(base):].lstrip('-')}" if base in METHOD_LABELS else str(method)


def method_color(method: str) -> str:
    import zlib

    m = str(method).lower()
    return METHOD_COLORS.get(m) or ARM_COLORS.get(m) or VARIANT_COLORS[zlib.crc32(m.encode()) % len(VARIANT_COLORS)]


def method_rank(method: str) -> tuple:
    """Sort key: ACT, CT, iCT, each followed by its variants (by name), then anything else."""
    m = str(method).lower()
    base = base_method(m)
    return (METHODS.index(base) if base in METHODS else len(METHODS), m != base, m)

"""Names, order and colours shared by tables and figures: one method, one colour, everywhere."""

from __future__ import annotations

from typing import Dict

METHODS = ("act", "ct", "ict")  # table and legend order: the paper's method first
METHOD_LABELS: Dict[str, str] = {"act": "ACT", "ct": "CT", "ict": "iCT"}
METHOD_COLORS: Dict[str, str] = {"act": "#d62728", "ct": "#1f77b4", "ict": "#2ca02c"}  # tab:red, tab:blue, tab:green

# Experiment dataset keys that name a dataset of reported_results.csv; others (fashion_mnist, toy_*) have none.
REPORTED_DATASETS = ("cifar10", "imagenet64", "lsun_cat256")
REFERENCE_DIR = "workflow/resources/reference"  # reported_results.csv, reported_settings.csv (see its README)


def method_label(method: str) -> str:
    return METHOD_LABELS.get(str(method).lower(), str(method))


def method_color(method: str) -> str:
    return METHOD_COLORS.get(str(method).lower(), "0.4")


def method_rank(method: str) -> int:
    m = str(method).lower()
    return METHODS.index(m) if m in METHODS else len(METHODS)

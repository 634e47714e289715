"""Names of the evaluation protocol, in one place and importable without torch (the CLI's choices).

:mod:`act.metrics.inception` implements the resize modes, :mod:`act.metrics.reference` the cache.
"""

from __future__ import annotations

RESIZE_MODES = ("tf_bilinear", "clean", "torch_bilinear")  # how images reach 299 px: part of the metric
DEFAULT_RESIZE_MODE = "tf_bilinear"  # the official ACT code evaluates through torch-fidelity
DEFAULT_CACHE_DIR = "resources/reference"  # the reference-feature cache

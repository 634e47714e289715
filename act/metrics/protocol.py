"""Names of the evaluation protocol, in one place and importable without torch (the CLI's choices).

:mod:`act.metrics.inception` implements the resize modes, :mod:`act.metrics.reference` the cache,
:func:`act.sampling.to_uint8` the quantisations, :mod:`act.theory.wasserstein` the distances.
"""

from __future__ import annotations

RESIZE_MODES = ("tf_bilinear", "clean", "torch_bilinear")  # how images reach 299 px: part of the metric
DEFAULT_RESIZE_MODE = "tf_bilinear"  # the official ACT code evaluates through torch-fidelity
# How the FID network runs (act.metrics.inception): "eager", torch-fidelity's module holding the TorchScript's
# tensors with its batch norms folded, channels-last (act.metrics.inception_eager), or the TorchScript itself.
# pool3 agrees between them to float32 rounding; each keeps its own reference-feature cache.
BACKENDS = ("eager", "torchscript")
DEFAULT_BACKEND = "eager"
DEFAULT_CACHE_DIR = "resources/reference"  # the reference-feature cache
# Samples to uint8: "truncate" as the official FID paths of ACT and Consistency Models
# ((x + 1) * 127.5 cast to uint8, i.e. floor), or "round" to nearest (docs/METHOD.md s.6).
QUANTIZATIONS = ("truncate", "round")
DEFAULT_QUANTIZATION = "truncate"
# The theory's distance to data on images (2-D points always get exact W1): exact W1 between the
# flattened images, or sliced W1 / W2 along fixed projections (docs/METHOD.md s.5).
IMAGE_DISTANCES = ("w1", "sliced_w1", "sliced_w2")
BOUNDED_DISTANCES = ("exact W1", "sliced W1")  # names (distance_name) of the distances B_k bounds

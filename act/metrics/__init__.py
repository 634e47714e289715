"""Sample-quality metrics for act-bench: FID, KID, precision/recall, IS, classifier scores.

- :mod:`act.metrics.inception`: the FID Inception-v3 (pool3) as a torch-fidelity
  feature extractor, with named resize modes.
- :mod:`act.metrics.scores`: FID (Heusel et al. 2017), KID (Binkowski et al. 2018),
  precision/recall (Kynkäänniemi et al. 2019), IS from logits (Salimans et al. 2016).
- :mod:`act.metrics.inception_score`: IS with torch-fidelity's weights, found locally.
- :mod:`act.metrics.classifier`: a dataset classifier, ``classifier_is`` / ``classifier_fd``.
- :mod:`act.metrics.reference`: sample sets, reference images, the feature cache.
- :mod:`act.metrics.evaluation`: one evaluation, as ``act evaluate`` runs it.

Importing this package is light; the submodules import torch-fidelity.
"""

from __future__ import annotations

__all__ = ["inception", "scores", "inception_score", "classifier", "reference", "evaluation"]

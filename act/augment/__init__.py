"""ACT-Aug: differentiable ADA augmentation and its adaptive probability controller.

Karras et al. 2020 (ADA) for the ``bgc`` pipeline; Kong et al. 2024 (ACT, Sec. 3.3)
for the R1-EMA rule that moves the probability p; ``act.augment.filters`` holds the
sym6 up/down-sampling path of the official ACT code, which the pipeline's geometric stage uses.
"""

from act.augment.controller import CONTROLLER_MODES, AugmentController
from act.augment.filters import SYM6, antialiased_warp, upfirdn2d
from act.augment.pipeline import (
    COLOR,
    GEOMETRIC,
    PIPELINES,
    TRANSFORMS,
    AugmentStrengths,
    ada_augment,
    resolve_transforms,
)

__all__ = [
    "AugmentController",
    "AugmentStrengths",
    "COLOR",
    "CONTROLLER_MODES",
    "GEOMETRIC",
    "PIPELINES",
    "SYM6",
    "TRANSFORMS",
    "ada_augment",
    "antialiased_warp",
    "resolve_transforms",
    "upfirdn2d",
]

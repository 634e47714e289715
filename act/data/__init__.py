"""Datasets of act-bench: Fashion-MNIST, CIFAR-10, ImageNet 64x64, LSUN Cat 256 /
image folders, and 2-D toy distributions, behind one ``build_dataset``.

Every item is ``(x, label)`` with ``x`` float32 in [-1, 1] and ``label`` an int
(-1 when unlabeled); every dataset has ``name``, ``channels``, ``resolution``,
``num_classes`` and a ``get_batch(indices)`` fast path.
"""

from act.data.base import UNLABELED, ActDataset, ArrayDataset
from act.data.errors import CorruptDataError, DataNotFoundError
from act.data.registry import DATASETS, build_dataset, dataset_names
from act.data.toy import TOY_KINDS, sample_toy

__all__ = [
    "DATASETS", "TOY_KINDS", "UNLABELED", "ActDataset", "ArrayDataset", "CorruptDataError",
    "DataNotFoundError", "build_dataset", "dataset_names", "sample_toy",
]

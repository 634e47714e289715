"""Every seed formula of the project, in one place.

Each random draw is a pure function of a few integers (the run's seed, the step,
a stream, an image index), never of how much was drawn before. So a resumed run
draws what an uninterrupted one would, sampling image i gives the same image at any
batch size, and the theory probe is the same set for every checkpoint. Changing a
formula here changes every number the project has measured: don't.

Streams of a training step: 0 the method's draws (noise, indices, dropout seeds),
1 the data order's augmentations (horizontal flips).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from act.errors import ConfigError

METHOD_STREAM = 0  # the method's draws in a training step
DATA_STREAM = 1  # the data order's draws (flips) in a training step
# Rank r adds r * 2**25 to its seeds. The CPU generator keeps only 32 bits of a seed, and a run of
# K steps spans 16 K consecutive seeds (16 streams per step): up to 2**21 steps and 128 processes,
# no two (step, stream, rank) share a seed.
RANK_SEED_STRIDE = 2**25
LABEL_DRAW = 10_000  # the draw index of an image's class label (sampling)
# act score-run's eval seed E moves a sample set to seeds base + E * EVAL_SEED_STRIDE + i: the sets of
# two eval seeds share no image while a set holds fewer images than this, and eval seed 0 is the set
# act sample draws. (image_generator's seeds wrap at 2**32 in the CPU generator: near eval seed 4295.)
EVAL_SEED_STRIDE = 1_000_000


def step_seed(seed: int, step: int, stream: int = METHOD_STREAM) -> int:
    return (seed * 1_000_003 + step) * 16 + stream


def per_step_generator(seed: int, step: int, device: torch.device, stream: int = METHOD_STREAM) -> torch.Generator:
    """The torch.Generator of training step ``step``: every random draw of a step comes from it.

    Seeded from (seed, step, stream) alone, so a resumed run draws exactly what an
    uninterrupted one would, on any batch of steps, without CUDA-specific RNG calls.
    """
    g = torch.Generator(device=device)
    g.manual_seed(step_seed(seed, step, stream))
    return g


def rank_step_generator(seed: int, step: int, device: torch.device, rank: int = 0) -> torch.Generator:
    """The method's generator of step ``step`` on process ``rank``: rank 0 draws what a single
    process would, the others draw independent noise, still a pure function of (seed, step, rank)."""
    g = per_step_generator(seed, step, device)
    if rank:
        g.manual_seed((g.initial_seed() + rank * RANK_SEED_STRIDE) % 2**64)
    return g


def epoch_permutation_generator(seed: int, epoch: int) -> torch.Generator:
    """The data order of one epoch (training batches walk the permutation it draws)."""
    return torch.Generator().manual_seed(seed * 7919 + epoch)


def image_generator(seed: int, draw: int) -> torch.Generator:
    """Draw ``draw`` (one per sampling step; LABEL_DRAW for the label) of the image of seed ``seed``."""
    return torch.Generator().manual_seed(seed * 65_537 + draw)


def eval_sample_seed(base: int, eval_seed: int, num: int) -> int:
    """The seed of image 0 of a sample set of ``num`` images for eval seed ``eval_seed`` (image i: + i)."""
    if num >= EVAL_SEED_STRIDE:
        raise ConfigError(f"{num} samples per set: eval seeds draw disjoint sets of fewer than {EVAL_SEED_STRIDE} "
                          f"images (act.rng.EVAL_SEED_STRIDE); sample fewer")
    if eval_seed < 0:
        raise ConfigError(f"--eval-seed must be a non-negative integer, got {eval_seed}")
    return base + eval_seed * EVAL_SEED_STRIDE


def probe_generator(seed: int, stream: int) -> torch.Generator:
    """The theory probe's draws (which images, which noise), by stream."""
    return torch.Generator().manual_seed(seed * 16 + stream)


def draw_seed(generator: torch.Generator) -> int:
    """A fresh 62-bit seed from ``generator`` (for dropout masks and augmentations)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))


@contextlib.contextmanager
def seeded_global_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Run a block under a fixed global RNG (dropout masks), restoring the previous state after.

    CT's student and target passes each run under the same seed, so they share one dropout mask.
    """
    if device.type == "cpu":
        fork = torch.random.fork_rng(devices=[])  # the CPU generator only
    else:
        index = device.index if device.index is not None else 0
        fork = torch.random.fork_rng(devices=[index], device_type=device.type)
    with fork:
        if device.type == "cpu":
            # The CPU generator alone: torch.manual_seed would also queue a lazy seeding of every
            # CUDA device (with a formatted stack trace, ~0.4 ms, kept until CUDA starts) per call.
            torch.default_generator.manual_seed(seed)
        else:
            torch.manual_seed(seed)
        yield

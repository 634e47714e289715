"""What each row of ``act claims`` tests: the paper's words, the kind of statement, and this suite's test.

Quotes are from the ACT paper's abstract (Kong et al., CVPR 2024, arXiv 2311.14097), verbatim;
no section, table or theorem number is cited here that has not been checked against the paper.
Kinds:

- ``claim``: the paper states it;
- ``premise``: a statement the paper's argument rests on ("larger batch sizes are needed");
- ``theory``: a consequence of the paper's bound, measured here (``act theory``);
- ``extension``: a question of this suite the paper does not raise;
- ``check``: a sanity check of the experiment itself (does the baseline work at all?);
- ``description``: a measured quantity shown without a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict


@dataclass(frozen=True)
class Claim:
    kind: str
    quote: str  # the paper's words (abstract), or "" for this suite's own questions
    statement: str  # what the row asserts, in the claimed direction
    test: str  # the difference formed; positive = as stated


Q_BATCH = "Therefore, larger batch sizes are needed to reduce both current and accumulated losses."
Q_FID = ("By incorporating a discriminator into the consistency training framework, our method achieves improved FID "
         "scores on CIFAR10 and ImageNet 64x64 and LSUN Cat 256x256 datasets")
Q_COST = ("uses less than 1/6 of the original batch size and fewer than 1/2 of the model parameters and training steps "
          "compared to the baseline method, this leads to a substantial reduction in resource consumption")
Q_RESOURCES = "this leads to a substantial reduction in resource consumption"
Q_ACCUMULATE = "As timestep increases, the upper bound accumulates previous consistency training losses."
Q_WASSERSTEIN = ("we show that optimizing consistency training loss minimizes the Wasserstein distance between target "
                 "and generated distributions")

CLAIMS: Dict[str, Claim] = {
    "S1": Claim("check", "",
                "the method beats a Gaussian with the data's mean and covariance (a baseline that works)",
                "Gaussian - method (the reference scored on the same evaluation draws as each run)"),
    "P1": Claim("premise", Q_BATCH, "CT's quality improves with the batch size (same steps, each run its own schedule)",
                "CT(small batch) - CT(large batch), final models"),
    "C1a": Claim("claim", Q_FID + " ... " + Q_RESOURCES,
                 "ACT beats CT with no more training compute (each run trains its own schedule at the shared budget)",
                 "CT - ACT, final models; ACT's training FLOPs <= CT's"),
    "C1b": Claim("claim", Q_FID, "ACT beats CT at the same number of training steps (each run its own schedule)",
                 "CT - ACT, final models of runs of equal steps"),
    "C2": Claim("claim", Q_COST,
                "ACT with less than 1/6 of CT's batch and fewer than 1/2 of its steps beats CT",
                "CT(large batch) - ACT(small batch), final models"),
    "C3a": Claim("theory", Q_ACCUMULATE + " " + Q_BATCH,
                 "CT's accumulated consistency loss B at sigma_max falls as the batch grows",
                 "B(CT, small batch) - B(CT, large batch), final models (act theory)"),
    "C3b": Claim("theory", Q_ACCUMULATE,
                 "the coupled distance w(sigma) of f(x0 + sigma z, sigma) to the data keeps growing along sigma",
                 "Spearman correlation of w(sigma_k) with k over the upper half of the grid (k >= N/2), per run"),
    "C3c": Claim("description", Q_WASSERSTEIN,
                 "how tightly CT's accumulated loss B bounds the coupled distance at sigma_max",
                 "B(sigma_max) / w(sigma_max) per run (1: tight; the bound holds when >= 1)"),
    "C4": Claim("claim", "Theoretically, ACT enhances generation quality, and convergence.",
                "ACT reaches CT's final one-step quality with less training compute than CT's whole budget",
                "1 - FLOPs(ACT first reaches CT's final mean) / FLOPs(CT), per ACT seed (linear between checkpoints)"),
    "C5a": Claim("claim", "retains zero-shot image inpainting capabilities",
                 "ACT's inpainting beats a trivial fill (each image's mean of its known pixels)",
                 "PSNR(ACT) - PSNR(trivial fill) of the filled region, paired per run"),
    "C5b": Claim("extension", "retains zero-shot image inpainting capabilities",
                 "ACT inpaints at least as well as CT", "PSNR(ACT) - PSNR(CT) of the filled region"),
    "C6": Claim("claim", Q_COST, "ACT's recipe uses fewer than 1/2 of the baseline's parameters / steps, "
                "less than 1/6 of its batch", "ratio ACT / baseline in the papers' recipes (no training)"),
    "C7": Claim("claim", Q_FID,
                "the adversarial term causes the gain: ACT beats the same ACT run with lambda_max = 0",
                "ACT(lambda_max 0) - ACT, same batch, steps, seeds and everything else"),
    "X1": Claim("extension", "",
                "ACT depends less on the batch size than CT (the paper does not say so; C2 is its batch claim)",
                "[CT(small) - CT(large)] - [ACT(small) - ACT(large)], same steps"),
}
ORDER = list(CLAIMS)


def statement(claim: str) -> str:
    return CLAIMS[claim].statement

"""act-bench: Adversarial Consistency Training (Kong et al., CVPR 2024) and its
consistency-training baselines (CT, Song et al. 2023; iCT, Song & Dhariwal 2023),
sharing every piece but their objective."""

__version__ = "0.1.0"

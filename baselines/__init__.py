"""Consistency-training baselines: CT (Song et al. 2023) and iCT (Song & Dhariwal 2023)."""

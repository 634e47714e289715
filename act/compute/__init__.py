"""Compute, in one place: what a training step costs and what a run will cost.

``cost`` measures one real training step (FLOPs counted by torch, seconds, memory); ``bench`` times
the step's variants (precision, compile, channels-last) and sampling on a device; ``budget`` turns an
experiment's compute budgets and the measured FLOPs per step into steps per run and writes the run
configs; ``estimate`` projects an experiment's GPU hours from the measured FLOPs; ``bill`` formats an
estimate as the table ``act estimate`` prints.
"""

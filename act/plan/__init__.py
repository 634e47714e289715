"""Planning a matched-compute experiment, before anything is trained.

``experiment`` parses the experiment config (datasets, methods, batch sizes, seeds, one
compute budget per dataset) and resolves each run's training config; ``budget`` turns the
budget and ``act cost``'s FLOPs per step into steps per run and writes the run configs;
``layout`` is the experiment folder's layout, shared by the workflow and the reports.
"""

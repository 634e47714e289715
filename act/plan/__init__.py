"""Planning a matched-compute experiment, before anything is trained.

``experiment`` parses the experiment config (datasets, their arms: methods or variants of one,
batch sizes, seeds, a compute budget per dataset or arm) and resolves each run's training config;
``act.compute.budget`` turns the budgets and ``act cost``'s FLOPs per step into steps per run;
``layout`` is the experiment folder's layout, shared by the workflow and the reports.
"""

"""Reports of a matched-compute experiment: aggregation, tables, figures and the claims' verdicts.

``aggregate`` reads an experiment folder (or the run outputs named) into one summary table;
``tables``, ``figures`` and ``claims`` render it, beside the numbers the papers report.
Planning (the experiment config, the folder layout) is :mod:`act.plan`; compute and its bill :mod:`act.compute`.
"""

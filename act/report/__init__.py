"""Reports of a matched-compute experiment: budget planning, aggregation, tables, figures.

``budget`` turns one compute budget into per-run step counts and resolved configs;
``aggregate`` walks an experiment folder into one summary table; ``tables`` and
``figures`` render it, beside the numbers the papers report.
"""

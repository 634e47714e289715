# The experiment's plan, results/<name>/plan/: experiment.json, the experiment as validated here (the
# schema's defaults filled in, every --configfile and --config value merged: a record), and one part per
# act command and dataset, the option values the command reads (act <command> --plan FILE); the rules
# pass paths only. A part is rewritten when its text changes (its params), and then exactly the jobs
# reading it rerun: an edit of sample.num re-scores and retrains nothing; one of the budget's keys
# re-plans (act/plan/workflow.py: BUDGET_KEYS, COST_KEYS).


rule plan:
    output:
        path(L.plan_path, "{part}"),
    log:
        logs("plan", "{part}"),
    wildcard_constraints:
        part=wf.one_of(W.parts),
    conda:
        ENV
    params:
        text=lambda wc: wf.plan_text(W.parts[wc.part]),
    shell:
        # the shell, not a run: block, which Snakemake runs in a new process that parses the workflow (~2 s a part)
        "printf '%s' {params.text:q} > {output} && echo wrote {output} > {log}"

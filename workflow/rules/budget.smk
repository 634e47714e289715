# Matched compute: steps of every (method, batch) for the dataset's budget, and one resolved
# config per run. A checkpoint: the checkpoint steps to sample, evaluate and measure are
# known only once it has run (budget.json), and the DAG is re-evaluated then.


checkpoint budget:
    input:
        costs=[path(L.cost_path, j["dataset"], j["method"], j["batch"]) for j in cost_jobs(PLAN)],
        plan=plan_file("budget"),
    output:
        budget=path(L.budget_path),
        configs=[str(L.config_path(CONFIGS, *r)) for r in W.runs],
    log:
        logs("budget", "all"),
    benchmark:
        bench("budget", "all")
    retries: retries("budget")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job("budget", "mem_mb"),
        runtime=job("budget", "runtime"),
        gpu=job("budget", "gpu"),
    params:
        configs_dir=lambda wc, output: CONFIGS,  # of output: Snakemake records no such param (a new record reruns)
    shell:
        "act budget --experiment-config {input.plan} --costs {input.costs} "
        "--out {output.budget} --configs-dir {params.configs_dir} > {log} 2>&1"

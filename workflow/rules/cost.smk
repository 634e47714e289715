# Per-step cost (FLOPs and seconds) of every (dataset, arm, batch) the budget needs.


rule cost_configs:
    input:
        # the config files the plan names: edits to them re-plan, as edits to the plan do
        config_files(PLAN),
        plan=plan_file("cost_configs"),
    output:
        [str(L.cost_config_path(CONFIGS, j["dataset"], j["method"], j["batch"])) for j in cost_jobs(PLAN)],
    log:
        logs("cost_configs", "all"),
    benchmark:
        bench("cost_configs", "all")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job("budget", "mem_mb"),
        runtime=job("budget", "runtime"),
        gpu=0,
    params:
        configs_dir=lambda wc, output: CONFIGS,  # of output: Snakemake records no such param (a new record reruns)
    shell:
        "act budget --experiment-config {input.plan} --configs-dir {params.configs_dir} --cost-configs > {log} 2>&1"


rule cost:
    input:
        config=str(L.cost_config_path(CONFIGS, *WC[:3])),
        plan=plan_file("cost"),
    output:
        path(L.cost_path, *WC[:3]),
    log:
        logs("cost", "{dataset}/{method}_b{batch}"),
    benchmark:
        bench("cost", "{dataset}/{method}_b{batch}")
    retries: retries("cost")
    conda:
        ENV
    threads: job("cost", "threads")
    resources:
        mem_mb=job("cost", "mem_mb"),
        runtime=job("cost", "runtime"),
        gpu=job("cost", "gpu"),
    shell:
        "act cost --plan {input.plan} -c {input.config} --out {output} > {log} 2>&1"

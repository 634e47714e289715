# Per-step cost (FLOPs and seconds) of every (dataset, arm, batch) the budget needs.


rule cost_configs:
    input:
        # the config files the plan names: edits to them re-plan, as edits to the plan do
        config_files(PLAN),
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
        plan=wf.plan_params(config, wf.COST_KEYS),  # a change of what act cost measures re-plans
        plan_file=PLAN_FILE,  # the experiment as validated (written when the run starts)
    shell:
        "act budget --experiment-config {params.plan_file} --configs-dir {params.configs_dir} --cost-configs > {log} 2>&1"


rule cost:
    input:
        config=str(L.cost_config_path(CONFIGS, *WC[:3])),
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
    params:
        steps=config["cost"]["steps"],
        warmup=config["cost"]["warmup"],
        synthetic="--synthetic" if config["cost"]["synthetic"] else "",
        max_batch=(f"--max-batch {config['cost']['max_batch']}" if config["cost"]["max_batch"] else ""),
    shell:
        "act cost -c {input.config} --steps {params.steps} --warmup {params.warmup} {params.synthetic} {params.max_batch} "
        "--out {output} > {log} 2>&1"

# Per-step cost (FLOPs and seconds) of every (dataset, method, batch) the budget needs.


rule cost_configs:
    input:
        train_config_files(),
    output:
        cost_config_files(),
    log:
        logs("cost_configs", "all"),
    benchmark:
        bench("cost_configs", "all")
    params:
        experiment=EXPERIMENT_FILE,
        configs_dir=lambda wc, output: configs_dir(output[0]),
        plan=plan_params(COST_KEYS),  # a change of what act cost measures re-plans
    threads: 1
    resources:
        mem_mb=job("budget", "mem_mb"),
        runtime=job("budget", "runtime"),
        gpu=0,
    conda:
        ENV
    shell:
        "act budget --experiment-config {params.experiment} --configs-dir {params.configs_dir} "
        "--cost-configs > {log} 2>&1"


rule cost:
    input:
        config=str(cost_config_path(f"{R}/configs", "{dataset}", "{method}", "{batch}")),
    output:
        str(cost_path(R, "{dataset}", "{method}", "{batch}")),
    log:
        logs("cost", "{dataset}/{method}_b{batch}"),
    benchmark:
        bench("cost", "{dataset}/{method}_b{batch}")
    params:
        steps=config["cost"]["steps"],
        warmup=config["cost"]["warmup"],
        synthetic="--synthetic" if config["cost"]["synthetic"] else "",
        max_batch=f"--max-batch {config['cost']['max_batch']}" if config["cost"]["max_batch"] else "",
    threads: job("cost", "threads")
    resources:
        mem_mb=job("cost", "mem_mb"),
        runtime=job("cost", "runtime"),
        gpu=job("cost", "gpu"),
    conda:
        ENV
    shell:
        "act cost -c {input.config} --steps {params.steps} --warmup {params.warmup} {params.synthetic} {params.max_batch} "
        "--out {output} > {log} 2>&1"

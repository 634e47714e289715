# Wasserstein-bound proxies (docs/METHOD.md s.5) over a run's checkpoints, on one fixed
# probe per run (its seed: intervals over seeds include the probe's noise): per-timestep CT
# losses, the cumulative bound, measured distances, the discriminator's JS estimate and a
# Lipschitz estimate.


rule theory:
    input:
        model=path(L.model_path, *WC),
        config=run_config,  # after the budget: which checkpoints the run leaves
        plan=plan_file("theory", dataset_part=True),
    output:
        directory(path(L.stage_dir, "theory", *WC)),
    log:
        logs("theory", RUN),
    benchmark:
        bench("theory", RUN)
    retries: retries("theory")
    conda:
        ENV
    threads: job("theory", "threads")
    resources:
        mem_mb=job("theory", "mem_mb"),
        runtime=job("theory", "runtime"),
        gpu=job("theory", "gpu"),
    params:
        checkpoints=lambda wc: run_checkpoints(wc, SETTINGS[wc.dataset]["theory"]["at"]),
    shell:
        "act theory --plan {input.plan} --checkpoint {params.checkpoints} --out {output} --seed {wildcards.seed} "
        "> {log} 2>&1"

# One training run per (dataset, method, batch, seed), from its resolved config. act train
# resumes from the newest checkpoint in the run folder, so a job cut short by a time limit
# continues where it stopped when the workflow runs again; a run folder whose checkpoints come
# from another config (the experiment was edited) is started afresh.
# Preemption: `exec` makes act train the job's own process, so a scheduler's SIGTERM / SIGUSR1
# reaches it (not a shell that would die first); it finishes the step, checkpoints and exits 75,
# and Snakemake's retry resumes it. Every attempt appends to {log}'s target, *.attempts.log, under
# its own header: Snakemake deletes a job's log before each attempt, and only the link goes.


rule train:
    input:
        config=str(L.config_path(CONFIGS, *WC)),
    output:
        model=path(L.model_path, *WC),
    log:
        logs("train", RUN),
    benchmark:
        bench("train", RUN)
    retries: retries("train")  # each resubmission resumes the run
    conda:
        ENV
    threads: job("train", "threads")
    resources:
        mem_mb=job("train", "mem_mb"),
        runtime=job("train", "runtime"),
        gpu=job("train", "gpu"),
        # One machine, whatever the executor: `torchrun --standalone` (the launcher, for several
        # GPUs) starts every process on the node it runs on. SLURM: --nodes=1 (the plugin's
        # `nodes` resource), so --gpus=N never spans nodes.
        nodes=1,
    params:
        launcher=launcher,
        run_dir=lambda wc, output: os.path.dirname(output.model),
    shell:
        "history={log}; history=${{history%.log}}.attempts.log; ln -sf $(basename $history) {log}; "
        "exec {params.launcher} train -c {input.config} -o {params.run_dir} --resume same-config --no-progress "
        ">> $history 2>&1"

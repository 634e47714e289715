# One job per training run: sample every checkpoint it is scored at (`sample.at`: the final model
# or all) at every NFE, and score each set in the same process (act score-run): exact W1 to
# held-out points on 2-D toy data; FID, KID, precision/recall, IS and the classifier scores on
# images, against the training split as in the papers. Each run's evaluation draws come from its
# own seed (--eval-seed {seed}: image i from seed sample.seed + {seed} * act.rng.EVAL_SEED_STRIDE
# + i whatever the batch size or device, and on toy data the held-out reference set of seed
# {seed}), so intervals over seeds include the evaluation's noise.


rule score:
    input:
        unpack(score_inputs),  # (after the budget: a dry run before it knows the plan below all the same)
        plan=plan_file("score", dataset_part=True),
    output:
        samples=directory(path(L.stage_dir, "samples", *WC)),
        metrics=directory(path(L.stage_dir, "metrics", *WC)),
    log:
        logs("score", RUN),
    benchmark:
        bench("score", RUN)
    retries: retries("score")
    conda:
        ENV
    threads: job("score", "threads")
    resources:
        mem_mb=job("score", "mem_mb"),
        runtime=job("score", "runtime"),
        gpu=job("score", "gpu"),
    params:
        checkpoints=score_checkpoints,
        eval_seed=lambda wc: wc.seed,
    shell:
        "act score-run --plan {input.plan} --checkpoint {params.checkpoints} --eval-seed {params.eval_seed} "
        "--samples-dir {output.samples} --metrics-dir {output.metrics} > {log} 2>&1"

# Reference statistics of the image datasets: the small classifier behind classifier_is /
# classifier_fd. (The Inception reference features are cached by act evaluate itself,
# under `reference_cache`; the first evaluation of a dataset fills the cache and the
# others wait for it: see evaluate.smk.)


rule train_classifier:
    input:
        plan=plan_file("classifier", dataset_part=True),
    output:
        classifier=path(L.classifier_path, "{dataset}"),
        summary=path(L.classifier_path, "{dataset}", ".json"),
    log:
        logs("train_classifier", "{dataset}"),
    benchmark:
        bench("train_classifier", "{dataset}")
    wildcard_constraints:
        dataset=wf.one_of(IMAGES),
    retries: retries("train_classifier")
    conda:
        ENV
    threads: job("train_classifier", "threads")
    resources:
        mem_mb=job("train_classifier", "mem_mb"),
        runtime=job("train_classifier", "runtime"),
        gpu=job("train_classifier", "gpu"),
    shell:
        "act train-classifier --plan {input.plan} --out {output.classifier} > {log} 2>&1"

# Reference statistics of the image datasets: the small classifier behind classifier_is /
# classifier_fd. (The Inception reference features are cached by act evaluate itself,
# under `reference_cache`; the first evaluation of a dataset fills the cache and the
# others wait for it: see evaluate.smk.)


rule train_classifier:
    output:
        classifier=path(L.classifier_path, "{dataset}"),
        summary=path(L.classifier_path, "{dataset}", ".json"),
    log:
        logs("train_classifier", "{dataset}"),
    benchmark:
        bench("train_classifier", "{dataset}")
    wildcard_constraints:
        dataset=one_of(IMAGES),
    retries: retries("train_classifier")
    conda:
        ENV
    threads: job("train_classifier", "threads")
    resources:
        mem_mb=job("train_classifier", "mem_mb"),
        runtime=job("train_classifier", "runtime"),
        gpu=job("train_classifier", "gpu"),
    params:
        data=lambda wc: DATA[wc.dataset].name,
        root=lambda wc: (f"--data-root {DATA[wc.dataset].root}" if DATA[wc.dataset].root else ""),
        steps=lambda wc: SETTINGS[wc.dataset]["classifier"]["steps"],
        batch_size=lambda wc: SETTINGS[wc.dataset]["classifier"]["batch_size"],
        width=lambda wc: SETTINGS[wc.dataset]["classifier"]["width"],
        resolution=lambda wc: (f"--resolution {DATA[wc.dataset].resolution}" if DATA[wc.dataset].resolution else ""),
    shell:
        "act train-classifier --dataset {params.data} {params.root} {params.resolution} --steps {params.steps} "
        "--batch-size {params.batch_size} --width {params.width} --device cpu "
        "--out {output.classifier} > {log} 2>&1"

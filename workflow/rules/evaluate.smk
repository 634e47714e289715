# Sample quality. Images: FID, KID, precision/recall, IS and the classifier scores
# (act evaluate, against the training split as in the papers). 2-D toy data: exact W1 to
# held-out points (act toy-metrics).


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        f"{R}/metrics/{POINT}.json",
    log:
        logs("evaluate", POINT),
    benchmark:
        bench("evaluate", POINT)
    wildcard_constraints:
        dataset=one_of(IMAGES),
    params:
        data=lambda wc: DATA[wc.dataset].name,
        options=evaluate_options,
        cache=config["reference_cache"],
        device=config["device"],
    threads: job("evaluate", "threads")
    resources:
        mem_mb=job("evaluate", "mem_mb"),
        runtime=job("evaluate", "runtime"),
        gpu=job("evaluate", "gpu"),
    conda:
        ENV
    shell:
        "act evaluate --samples {input.samples} --dataset {params.data} {params.options} "
        "--cache-dir {params.cache} --device {params.device} --no-progress --out {output} > {log} 2>&1"


rule toy_metrics:
    input:
        samples=f"{R}/samples/{POINT}/samples.npz",
    output:
        f"{R}/metrics/{POINT}.json",
    log:
        logs("toy_metrics", POINT),
    benchmark:
        bench("toy_metrics", POINT)
    wildcard_constraints:
        dataset=one_of(TOY),
    threads: job("toy_metrics", "threads")
    resources:
        mem_mb=job("toy_metrics", "mem_mb"),
        runtime=job("toy_metrics", "runtime"),
        gpu=job("toy_metrics", "gpu"),
    conda:
        ENV
    shell:
        "act toy-metrics --samples {input.samples} --out {output} > {log} 2>&1"

# Zero-shot inpainting of held-out images with each run's final model (images only).


rule inpaint:
    input:
        model=path(L.model_path, *WC),
        plan=plan_file("inpaint", dataset_part=True),
    output:
        result=path(L.inpaint_path, *WC),
        grid=path(L.inpaint_path, *WC, ".png"),
    log:
        logs("inpaint", RUN),
    benchmark:
        bench("inpaint", RUN)
    wildcard_constraints:
        dataset=wf.one_of(IMAGES),
    retries: retries("inpaint")
    conda:
        ENV
    threads: job("inpaint", "threads")
    resources:
        mem_mb=job("inpaint", "mem_mb"),
        runtime=job("inpaint", "runtime"),
        gpu=job("inpaint", "gpu"),
    params:
        out=lambda wc, output: os.path.dirname(output.result),
    shell:
        "act inpaint --plan {input.plan} --checkpoint {input.model} --out {params.out} > {log} 2>&1"

# One- and two-step samples of each run, at its final model or at every checkpoint
# (`sample.at`). Image i comes from seed i whatever the batch size or device.


rule sample:
    input:
        model=f"{R}/runs/{RUN}/model.pt",  # written last: every checkpoint exists when it does
    output:
        samples=f"{R}/samples/{POINT}/samples.npz",
        meta=f"{R}/samples/{POINT}/sample.json",
    log:
        logs("sample", POINT),
    benchmark:
        bench("sample", POINT)
    params:
        checkpoint=lambda wc: checkpoint_file(wc, wc.step),
        out=lambda wc, output: os.path.dirname(output.samples),
        num=lambda wc: SETTINGS[wc.dataset]["sample"]["num"],
        batch_size=lambda wc: SETTINGS[wc.dataset]["sample"]["batch_size"],
        device=config["device"],
    threads: job("sample", "threads")
    resources:
        mem_mb=job("sample", "mem_mb"),
        runtime=job("sample", "runtime"),
        gpu=job("sample", "gpu"),
    conda:
        ENV
    shell:
        "act sample --checkpoint {params.checkpoint} --out {params.out} --steps {wildcards.nfe} "
        "--num {params.num} --batch-size {params.batch_size} --device {params.device} --no-progress "
        "> {log} 2>&1"

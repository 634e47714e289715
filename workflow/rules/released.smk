# Released (official) ACT checkpoints, listed per dataset under `released:`: imported into this
# project's format (act import-official, digest checked), then sampled and scored exactly as the
# trained runs (act score-run, same options); act tables gives each its own row, never averaged
# with the seeds trained here, and the summary, figures and claims leave them out.


rule import_released:
    input:
        lambda wc: RELEASED[(wc.dataset, wc.name)]["checkpoint"],
    output:
        model=os.path.join(REL, "model.pt"),
        record=os.path.join(REL, "import.json"),
    log:
        logs("import_released", "{dataset}/{name}"),
    wildcard_constraints:
        name=one_of(sorted({n for _, n in RELEASED})),
    params:
        options=lambda wc: " ".join(
            f"--{k} {RELEASED[(wc.dataset, wc.name)][k]}" for k in ("sha256", "preset") if k in RELEASED[(wc.dataset, wc.name)]
        ),
    conda:
        ENV
    shell:
        "act import-official {input} -o {output.model} --record {output.record} {params.options} > {log} 2>&1"


rule score_released:
    input:
        unpack(released_inputs),
    output:
        samples=directory(os.path.join(REL, "samples")),
        metrics=directory(os.path.join(REL, "metrics")),
    log:
        logs("score_released", "{dataset}/{name}"),
    benchmark:
        bench("score_released", "{dataset}/{name}")
    wildcard_constraints:
        name=one_of(sorted({n for _, n in RELEASED})),
    params:
        nfe=lambda wc: " ".join(str(n) for n in SETTINGS[wc.dataset]["sample"]["nfe"]),
        num=lambda wc: SETTINGS[wc.dataset]["sample"]["num"],
        batch_size=lambda wc: SETTINGS[wc.dataset]["sample"]["batch_size"],
        options=score_options,
        device=config["device"],
    threads: job("score", "threads")
    resources:
        mem_mb=job("score", "mem_mb"),
        runtime=job("score", "runtime"),
        gpu=job("score", "gpu"),
    conda:
        ENV
    shell:
        "act score-run --checkpoint {input.model} --nfe {params.nfe} --num {params.num} "
        "--batch-size {params.batch_size} {params.options} --samples-dir {output.samples} "
        "--metrics-dir {output.metrics} --device {params.device} --no-progress > {log} 2>&1"

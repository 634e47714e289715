# One summary table of everything measured (pandas), then the tables and figures that
# `snakemake --report` collects into one HTML page.


rule aggregate:
    input:
        aggregate_inputs,
    output:
        report(f"{R}/summary.csv", caption="../report/summary.rst", category="Summary"),
    log:
        logs("aggregate", "all"),
    benchmark:
        bench("aggregate", "all")
    params:
        experiment_dir=lambda wc, output: os.path.dirname(output[0]),
    threads: job("aggregate", "threads")
    resources:
        mem_mb=job("aggregate", "mem_mb"),
        runtime=job("aggregate", "runtime"),
        gpu=job("aggregate", "gpu"),
    conda:
        ENV
    shell:
        "act aggregate --experiment-dir {params.experiment_dir} --out {output} > {log} 2>&1"


rule tables:
    input:
        summary=f"{R}/summary.csv",
    output:
        report(
            directory(f"{R}/tables"),
            patterns=["{name}.csv"],
            caption="../report/tables.rst",
            category="Tables",
        ),
    log:
        logs("tables", "all"),
    benchmark:
        bench("tables", "all")
    params:
        reported=" ".join(
            f"--reported-as {d}={SETTINGS[d]['reported_as']}" for d in PLAN.datasets if SETTINGS[d].get("reported_as")
        ),
    threads: job("tables", "threads")
    resources:
        mem_mb=job("tables", "mem_mb"),
        runtime=job("tables", "runtime"),
        gpu=job("tables", "gpu"),
    conda:
        ENV
    shell:
        "act tables --summary {input.summary} {params.reported} --out-dir {output} > {log} 2>&1"


rule figures:
    input:
        summary=f"{R}/summary.csv",
    output:
        report(
            directory(f"{R}/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        logs("figures", "all"),
    benchmark:
        bench("figures", "all")
    params:
        experiment_dir=lambda wc, input: os.path.dirname(input.summary),
    threads: job("figures", "threads")
    resources:
        mem_mb=job("figures", "mem_mb"),
        runtime=job("figures", "runtime"),
        gpu=job("figures", "gpu"),
    conda:
        ENV
    shell:
        "act figures --summary {input.summary} --experiment-dir {params.experiment_dir} --out-dir {output} "
        "> {log} 2>&1"


# For each claim of the ACT paper: the test at this experiment's scale, the evidence (mean, std,
# seeds, the difference with a 95% Welch interval) and a verdict (act/report/claims.py).
rule claims:
    input:
        summary=f"{R}/summary.csv",
        theory=[f"{R}/theory/{d}/{m}/b{b}/s{s}" for d, m, b, s in runs() if SETTINGS[d]["theory"]["enabled"]],
    output:
        md=report(f"{R}/claims.md", caption="../report/claims.rst", category="Claims"),
        csv=f"{R}/claims.csv",
        json=f"{R}/claims.json",
        png=report(f"{R}/claims.png", caption="../report/claims.rst", category="Claims"),
    log:
        logs("claims", "all"),
    benchmark:
        bench("claims", "all")
    params:
        out=lambda wc, output: os.path.dirname(output.md),
        theory_dir=lambda wc, output: os.path.join(os.path.dirname(output.md), "theory"),
        title=EXP,
        reported=" ".join(
            f"--reported-as {d}={SETTINGS[d]['reported_as']}" for d in PLAN.datasets if SETTINGS[d].get("reported_as")
        ),
    threads: job("claims", "threads")
    resources:
        mem_mb=job("claims", "mem_mb"),
        runtime=job("claims", "runtime"),
        gpu=job("claims", "gpu"),
    conda:
        ENV
    shell:
        "act claims --summary {input.summary} --theory-dir {params.theory_dir} {params.reported} --title {params.title} "
        "--out-dir {params.out} > {log} 2>&1"

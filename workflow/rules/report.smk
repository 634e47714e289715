# One summary of everything measured (pandas; with its parts: act theory's timestep tables, the released
# checkpoints), then the tables, figures and claims, which read it only (and the image files it names),
# and that `snakemake --report` collects into one HTML page.


rule aggregate:
    input:
        runs=aggregate_inputs,
    output:
        summary=report(path(L.summary_path), caption="../report/summary.rst", category="Summary"),
        sigma=path(L.summary_path, "sigma"),
    log:
        logs("aggregate", "all"),
    benchmark:
        bench("aggregate", "all")
    retries: retries("aggregate")
    conda:
        ENV
    threads: job("aggregate", "threads")
    resources:
        mem_mb=job("aggregate", "mem_mb"),
        runtime=job("aggregate", "runtime"),
        gpu=job("aggregate", "gpu"),
    params:
        experiment_dir=lambda wc, output: os.path.dirname(output.summary),
    shell:
        "act aggregate --experiment-dir {params.experiment_dir} --inputs {input.runs} --out {output.summary} "
        "--sigma-out {output.sigma} > {log} 2>&1"


# The summary's released part: a job of its own, so that a released file that fails (a wrong digest) holds up
# only the tables, which show it, and not the summary, figures and claims, which leave it out.
rule released_summary:
    input:
        [os.path.join(folder, f) for folder in RELEASED_DIRS for f in ("import.json", "metrics")],
    output:
        path(L.summary_path, "released"),
    log:
        logs("released_summary", "all"),
    conda:
        ENV
    params:
        released=RELEASED_DIRS,
    shell:
        "act aggregate --released {params.released} --released-out {output} > {log} 2>&1"


rule tables:
    input:
        summary=path(L.summary_path),
        released=path(L.summary_path, "released"),
        plan=plan_file("tables"),
    output:
        report(
            directory(path(L.tables_dir)),
            patterns=["{name}.csv"],
            caption="../report/tables.rst",
            category="Tables",
        ),
    log:
        logs("tables", "all"),
    benchmark:
        bench("tables", "all")
    retries: retries("tables")
    conda:
        ENV
    threads: job("tables", "threads")
    resources:
        mem_mb=job("tables", "mem_mb"),
        runtime=job("tables", "runtime"),
        gpu=job("tables", "gpu"),
    shell:
        "act tables --plan {input.plan} --summary {input.summary} --released {input.released} --out {output} "
        "> {log} 2>&1"


rule figures:
    input:
        summary=path(L.summary_path),
        sigma=path(L.summary_path, "sigma"),
    output:
        report(
            directory(path(L.figures_dir)),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        logs("figures", "all"),
    benchmark:
        bench("figures", "all")
    retries: retries("figures")
    conda:
        ENV
    threads: job("figures", "threads")
    resources:
        mem_mb=job("figures", "mem_mb"),
        runtime=job("figures", "runtime"),
        gpu=job("figures", "gpu"),
    shell:
        "act figures --summary {input.summary} --sigma {input.sigma} --out {output} > {log} 2>&1"


# For each claim of the ACT paper: the test at this experiment's scale on the final models, the evidence
# (per-seed values, the difference with a 95% Welch interval, df, p, Holm) and a verdict; everything it
# reads is in the summary (act theory's numbers included) (act/report/claims*.py, verdicts.py).
rule claims:
    input:
        summary=path(L.summary_path),
        plan=plan_file("claims"),
        # What the summary's theory columns come from: read through the summary only, named here so that a
        # dry run plans every run's jobs before the budget exists.
        theory=[path(L.stage_dir, "theory", *r) for r in W.runs if SETTINGS[r[0]]["theory"]["enabled"]],
    output:
        md=report(path(L.claims_path, ".md"), caption="../report/claims.rst", category="Claims"),
        csv=path(L.claims_path, ".csv"),
        json=path(L.claims_path, ".json"),
        png=report(
            path(L.claims_path, ".png"),
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        logs("claims", "all"),
    benchmark:
        bench("claims", "all")
    retries: retries("claims")
    conda:
        ENV
    threads: job("claims", "threads")
    resources:
        mem_mb=job("claims", "mem_mb"),
        runtime=job("claims", "runtime"),
        gpu=job("claims", "gpu"),
    params:
        out=lambda wc, output: os.path.dirname(output.md),
    shell:
        "act claims --plan {input.plan} --summary {input.summary} --out {params.out} > {log} 2>&1"

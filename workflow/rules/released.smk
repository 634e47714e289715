# Released (official) ACT checkpoints, listed per dataset under `released:`: imported into this
# project's format (act import-official, digest checked), then sampled and scored exactly as the
# trained runs (act score-run, same options); act aggregate puts them in the summary's released part,
# act tables gives each its own row, never averaged with the seeds trained here, and summary.csv,
# the figures and the claims leave them out.


rule import_released:
    input:
        checkpoint=lambda wc: RELEASED[(wc.dataset, wc.name)]["checkpoint"],
        plan=lambda wc: plan_file(f"released/{wc.dataset}/{wc.name}"),
    output:
        model=os.path.join(REL, "model.pt"),
        record=os.path.join(REL, "import.json"),
    log:
        logs("import_released", "{dataset}/{name}"),
    wildcard_constraints:
        name=wf.one_of(sorted({n for _, n in RELEASED})),
    conda:
        ENV
    shell:
        "act import-official --plan {input.plan} {input.checkpoint} -o {output.model} --record {output.record} "
        "> {log} 2>&1"


# Scored by the trained runs' own rule (its params, resources and shell), on this file.
use rule score as score_released with:
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
        name=wf.one_of(sorted({n for _, n in RELEASED})),
    params:
        eval_seed=0,  # one network, not a seed: the evaluation set of seed 0 (what act sample draws)

# act-bench: CT, iCT and ACT at matched compute, from data to report.
#   snakemake --cores 2                                  the embedded default (config/default.yaml)
#   snakemake --cores 2 --configfile config/ci.yaml      another experiment
#   snakemake --profile profiles/slurm --configfile config/paper/cifar10.yaml
#   snakemake --report results/<name>/report.html        after a run
# Stages, in order: reference, cost, budget, train, score (sample + metrics), theory, inpaint, released
# checkpoints (import + score), report, claims.
from snakemake.utils import min_version

min_version("9.0")


# The embedded default, unless --configfile names an experiment: Snakemake would otherwise
# deep-merge that file into the default, and e.g. a paper config would inherit its datasets.
if not workflow.overwrite_configfiles:

    configfile: "config/default.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/reference.smk"
include: "workflow/rules/cost.smk"
include: "workflow/rules/budget.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/theory.smk"
include: "workflow/rules/inpaint.smk"
include: "workflow/rules/released.smk"
include: "workflow/rules/report.smk"


# Seconds of pure bookkeeping: run them where Snakemake runs, not through a scheduler.
localrules:
    all,
    cost_configs,
    budget,
    aggregate,
    tables,
    figures,
    claims,
    import_released,


rule all:
    default_target: True
    input:
        path(summary_path),
        path(tables_dir),
        path(figures_dir),
        path(claims_path, ".md"),
        # The classifiers early, beside the costs.
        [
            path(classifier_path, d)
            for d in IMAGES
            if SETTINGS[d]["classifier"]["enabled"]
        ],

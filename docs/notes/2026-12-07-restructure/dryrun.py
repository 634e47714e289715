"""The job plan of every config, for before/after comparisons of a restructuring.

Usage: python docs/notes/2026-12-07-restructure/dryrun.py OUT   (repository root, the environment active)
For each config: the workflow up to the budget with made-up costs (as tests/test_workflow.py does), then
`snakemake -n -p`; OUT/<config>.txt holds its job blocks (rule, inputs, outputs, wildcards, resources,
shell command) without job ids, dates or reasons, sorted, the results folder written as RESULTS.
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, "tests")
from test_workflow import CONFIGS, budget_with_made_up_costs, snakemake  # noqa: E402

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for configfile in CONFIGS:
    name = configfile.replace("/", "_").removesuffix(".yaml")
    results = Path("/tmp/dryrun_results") / name
    cfg = ["--configfile", configfile, "--config", f"results_dir={results}"]
    import shutil
    shutil.rmtree(results, ignore_errors=True)
    exp_name = __import__("yaml").safe_load(Path(configfile).read_text())["name"]
    budget_with_made_up_costs(cfg, results / exp_name)
    res = snakemake("-n", "-p", *cfg)
    assert res.returncode == 0, res.stderr
    text = (res.stdout + res.stderr).replace(str(results), "RESULTS")
    blocks = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        if not re.match(r"(local)?rule \w+:", block):
            continue
        block = block.split("\n\n")[0] if "\n\n" in block.split("Shell command")[0] else block
        keep = [ln.rstrip() for ln in block.splitlines() if ln.strip() and not re.match(r"\s*(jobid|reason|date):", ln)
                and not ln.startswith(("Job stats", "Would remove", "This was a dry-run", "["))]
        cut = [i for i, ln in enumerate(keep) if ln.startswith(("Job stats", "job ", "total"))]
        blocks.append("\n".join(keep[: cut[0]] if cut else keep))
    (out / f"{name}.txt").write_text("\n\n".join(sorted(blocks)) + "\n")
    print(name, len(blocks), "jobs")

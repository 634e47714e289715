"""The job plan of every config with each act command's options resolved, to compare a workflow that passes
options on the command line with one that passes a plan file (act <command> --plan FILE).

Usage: python docs/notes/2026-12-07-plan/dryrun_options.py OUT   (repository root, the environment active)
For each config: the workflow up to the budget with made-up costs (tests/test_workflow.py), the plan's parts
where the workflow has a plan rule, then `snakemake -n -p`. OUT/<config>.txt holds one block per job: the
rule, its outputs, wildcards and resources, and its act command as a sorted list of options, `--plan FILE`
replaced by the options the file holds, -c/-o spelled --config/--out, plan files left out of the inputs;
the results folder written as RESULTS.
"""

import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import yaml

sys.path.insert(0, "tests")
from test_workflow import CONFIGS, budget_with_made_up_costs, snakemake  # noqa: E402

SHORT = {"-c": "--config", "-o": "--out", "-e": "--experiment-config"}


def options(command: str) -> list:
    """The act command in a shell line as sorted (option, values) pairs, its plan expanded."""
    m = re.search(r"(?:exec )?(?:act|torchrun .*? -m act\.cli) ([\w-]+) (.*?)(?: >>? | 2>&1|$)", command)
    if not m:
        return [("shell", command)]
    tokens = shlex.split(m.group(2))
    pairs, key = {}, "_positional"
    for t in tokens:
        if t.startswith("-") and not re.match(r"-\d", t):
            key = SHORT.get(t, t)
            pairs.setdefault(key, [])
        else:
            pairs.setdefault(key, []).append(t)
    plan = pairs.pop("--plan", None)
    if plan:
        for k, v in json.loads(Path(plan[0]).read_text()).items():
            if f"--{k}" in pairs:
                continue  # the command line wins
            if v is True:
                pairs[f"--{k}"] = []
            elif v is False or v == []:
                continue  # a flag's absence; an empty list, an appending option's default
            else:
                pairs[f"--{k}"] = [str(x) for x in v] if isinstance(v, list) else [str(v)]
    return [("act", m.group(1))] + sorted((k, " ".join(v)) for k, v in pairs.items())


out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for configfile in CONFIGS:
    name = configfile.replace("/", "_").removesuffix(".yaml")
    results = Path("/tmp/dryrun_results") / name
    cfg = ["--configfile", configfile, "--config", f"results_dir={results}"]
    shutil.rmtree(results, ignore_errors=True)
    exp_name = yaml.safe_load(Path(configfile).read_text())["name"]
    budget_with_made_up_costs(cfg, results / exp_name)
    if Path("workflow/rules/plan.smk").exists():  # a workflow with a plan rule: its parts, for expansion
        assert snakemake("--cores", "1", "--until", "plan", *cfg).returncode == 0
    res = snakemake("-n", "-p", *cfg)
    assert res.returncode == 0, res.stderr
    blocks = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", res.stdout + res.stderr):
        if not re.match(r"(local)?rule \w+:", block):
            continue
        lines = block.splitlines()
        head = [ln.rstrip() for ln in lines if re.match(r"\s*(output|wildcards|resources|threads|log|benchmark):", ln)]
        inputs = [ln for ln in lines if re.match(r"\s*input:", ln)]
        if inputs:
            files = [f for f in inputs[0].split(":", 1)[1].split(", ") if "/plan/" not in f and not f.strip().endswith("experiment.json")]
            if files:
                head.append("    input: " + ", ".join(f.strip() for f in files))
        shell = next((ln for ln in lines if "act " in ln and not re.match(r"\s*(input|output|log|benchmark|wildcards):", ln)), None)
        body = [lines[0].strip()] + sorted(head) + ([repr(o) for o in options(shell)] if shell else [])
        blocks.append("\n".join(body).replace(str(results), "RESULTS"))
    (out / f"{name}.txt").write_text("\n\n".join(sorted(blocks)) + "\n")
    print(name, len(blocks), "jobs", flush=True)

"""What a SLURM cluster allows, read before the workflow submits anything: a job whose time request exceeds
its partition's limit would be accepted by sbatch and then stay pending for ever (reason PartitionTimeLimit).

The workflow (workflow/rules/common.smk) calls :func:`runtime_problems` when it runs with the SLURM executor,
on the output of ``sinfo -h -o "%P %l"``; no cluster is needed to test it."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

SINFO_FORMAT = "%P %l"  # partition (the default one starred), its time limit
_LIMIT = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def parse_time_limit(text: str) -> Optional[float]:
    """A SLURM time limit in minutes; None for no limit (``infinite``, ``UNLIMITED``) or an unreadable value.

    SLURM writes ``minutes``, ``minutes:seconds``, ``hours:minutes:seconds``, ``days-hours``,
    ``days-hours:minutes`` or ``days-hours:minutes:seconds``."""
    m = _LIMIT.match(text.strip())
    if not m:
        return None
    days, a, b, c = (int(g) if g is not None else None for g in m.groups())
    if days is not None:  # days-hours[:minutes[:seconds]]
        return days * 1440 + a * 60 + (b or 0) + (c or 0) / 60
    if c is not None:  # hours:minutes:seconds
        return a * 60 + b + c / 60
    return a + (b or 0) / 60  # minutes[:seconds]


def parse_sinfo(output: str) -> Tuple[Dict[str, Optional[float]], Optional[str]]:
    """``sinfo -h -o "%P %l"`` -> ({partition: limit in minutes or None}, the default partition). Lines of
    another shape are skipped, so an unexpected ``sinfo`` yields no limits rather than an error."""
    limits: Dict[str, Optional[float]] = {}
    default = None
    for line in output.splitlines():
        parts = line.split()
        if len(parts) != 2 or parts[0] == "PARTITION":
            continue
        name = parts[0].rstrip("*")
        if parts[0].endswith("*"):
            default = name
        limits[name] = parse_time_limit(parts[1])
    return limits, default


def read_sinfo() -> str:
    """The cluster's partitions and limits, or "" where sinfo is missing or fails."""
    if shutil.which("sinfo") is None:
        return ""
    try:
        res = subprocess.run(["sinfo", "-h", "-o", SINFO_FORMAT], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return res.stdout if res.returncode == 0 else ""


def runtime_problems(requests: Iterable[Tuple[str, float, Optional[str]]], sinfo_output: str) -> List[str]:
    """One line per (rule, runtime in minutes, partition or None for the default) whose runtime exceeds
    its partition's limit, naming the key to change; nothing where the partition or its limit is unknown."""
    limits, default = parse_sinfo(sinfo_output)
    problems = []
    for rule, minutes, partition in requests:
        part = partition or default
        limit = limits.get(part) if part else None
        if limit is not None and minutes > limit:
            problems.append(
                f"resources.{rule}.runtime is {minutes:g} min but partition {part} allows {limit:g}: set it to "
                f"{int(limit)} or less (act train resumes over allocations: README, On a SLURM cluster)")
    return problems


def rule_partition(resource_settings, rule: str) -> Optional[str]:
    """The partition the profile sends ``rule``'s jobs to (set-resources, else default-resources), or None for
    the cluster's default. Snakemake holds these as unevaluated Resources (their ``value`` needs a rule's
    context): their text, ``raw``, is read. Anything unexpected gives None."""
    for source in (getattr(resource_settings, "overwrite_resources", {}).get(rule, {}),
                   getattr(resource_settings, "default_resources", None) or {}):
        try:
            value = source.get("slurm_partition") if isinstance(source, Mapping) else None
            value = getattr(value, "raw", value)
        except Exception:  # noqa: BLE001  Snakemake's Resources may refuse a key it lacks
            value = None
        if isinstance(value, str) and value.strip("'\""):
            return value.strip("'\"")
    return None


def workflow_time_limit_problems(workflow: Any, rules: Iterable[str], runtimes: Callable[[str], Iterable[float]]) -> List[str]:
    """On SLURM (else nothing): one line per submitted rule of ``rules`` whose time request (``runtimes(rule)``:
    minutes, per dataset) is above the limit of the partition the profile sends it to. sbatch would accept such
    a job, which would then pend for ever (PartitionTimeLimit). ``workflow``: Snakemake's, in its onstart (the
    executor is known only then); its local rules (the bookkeeping) are not submitted and not checked."""
    if getattr(workflow.executor_plugin, "name", None) != "slurm":
        return []
    requests = [(r, minutes, rule_partition(workflow.resource_settings, r)) for r in rules
                if not workflow.is_local(workflow.get_rule(r)) for minutes in set(runtimes(r))]
    return runtime_problems(requests, read_sinfo())

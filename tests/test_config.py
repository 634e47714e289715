"""Typed config: YAML loading, overrides, clear errors, round trip."""

import pytest

from act.config import ExperimentConfig, load_config, parse_override, save_config, to_dict
from act.config import CTConfig, ICTConfig
from act.errors import ConfigError, MissingInputError


def test_defaults_and_method_dispatch(tmp_path):
    cfg = load_config()
    assert isinstance(cfg.method, CTConfig)
    cfg = load_config(None, ("method.name=ict", "train.steps=7", "train.lr=1e-3"))
    assert isinstance(cfg.method, ICTConfig)
    assert cfg.train.steps == 7 and cfg.train.lr == 1e-3


def test_unknown_key_lists_valid_ones(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  stepz: 3\n")
    with pytest.raises(ConfigError, match="valid keys"):
        load_config(p)
    with pytest.raises(ConfigError, match="unknown method"):
        load_config(None, ("method.name=gan",))
    with pytest.raises(ConfigError):
        load_config(None, ("train.steps=abc",))
    with pytest.raises(MissingInputError):
        load_config(tmp_path / "missing.yaml")


def test_round_trip(tmp_path):
    cfg = load_config(None, ("train.betas=[0.0, 0.99]", "sample.sigmas=[80.0, 0.661]", "data.options={kind: two_moons}"))
    save_config(cfg, tmp_path / "c.yaml")
    again = load_config(tmp_path / "c.yaml")
    assert to_dict(again) == to_dict(cfg)
    assert again.train.betas == (0.0, 0.99)
    assert again.sample.sigmas == (80.0, 0.661)


def test_parse_override():
    assert parse_override("a.b.c=3") == {"a": {"b": {"c": 3}}}
    with pytest.raises(ConfigError):
        parse_override("nonsense")


def test_shipped_configs_load():
    from pathlib import Path

    for p in sorted(Path(__file__).parents[1].glob("config/train/*.yaml")):
        assert isinstance(load_config(p), ExperimentConfig)


def test_base_inheritance_and_method_switch(tmp_path):
    (tmp_path / "base.yaml").write_text("method: {name: ct, mu0: 0.95}\ntrain: {steps: 9, lr: 0.01}\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\ntrain: {steps: 3}\n")
    (tmp_path / "other.yaml").write_text("base: base.yaml\nmethod: {name: ict}\n")
    child = load_config(tmp_path / "child.yaml")
    assert child.train.steps == 3 and child.train.lr == 0.01 and child.method.mu0 == 0.95
    other = load_config(tmp_path / "other.yaml")
    assert isinstance(other.method, ICTConfig)  # mu0 of CT is not carried over
    # --set method.name=act would reset the file's mu0 to ACT's default: an error naming it, unless restated
    with pytest.raises(ConfigError, match=r"would drop what .*child.yaml sets: mu0=0.95 \(act: 0.9\); keep them with --set method.mu0=0.95"):
        load_config(tmp_path / "child.yaml", ("method.name=act",))
    switched = load_config(tmp_path / "child.yaml", ("method.name=act", "method.mu0=0.95"))
    assert switched.method.name == "act" and switched.method.mu0 == 0.95
    (tmp_path / "toy.yaml").write_text("data: {name: toy2d, options: {kind: moons}}\n")
    with pytest.raises(ConfigError, match="keeps data.options of 'toy2d'"):
        load_config(tmp_path / "toy.yaml", ("data.name=cifar10",))
    assert load_config(tmp_path / "toy.yaml", ("data.name=cifar10", "data.options={}")).data.options == {}
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="itself"):
        load_config(tmp_path / "loop.yaml")


@pytest.mark.parametrize("override, setting", [
    ("method.curriculum=cosine", "method.curriculum"),
    ("method.ema_schedule=linear", "method.ema_schedule"),
    ("method.index_sampling=beta", "method.index_sampling"),
    ("method.weighting=snr", "method.weighting"),
    ("method.target=frozen", "method.target"),
])
def test_bad_method_choice_fails_at_load_naming_the_setting(override, setting):
    for method in ("ct", "ict", "act"):
        with pytest.raises(ConfigError, match=rf"unknown {setting} .*choose from"):
            load_config(None, (f"method.name={method}", override))


def test_bad_act_choice_fails_at_load():
    with pytest.raises(ConfigError, match=r"unknown method.lambda_schedule 'cos'"):
        load_config(None, ("method.name=act", "method.lambda_schedule=cos"))
    with pytest.raises(ConfigError, match=r"unknown method.augment_mode"):
        load_config(None, ("method.name=act", "method.augment_mode=always"))
    with pytest.raises(ConfigError, match=r"method.r1_interval must be >= 1"):
        load_config(None, ("method.name=act", "method.r1_interval=0"))


def test_ict_is_the_consistency_method_configured_otherwise():
    """iCT and CT: one implementation; iCT's differences are config values a CT config can also set."""
    from act.registry import METHODS

    assert METHODS["ct"][1] is METHODS["ict"][1]
    ict, ct = load_config(None, ("method.name=ict",)).method, load_config().method
    assert isinstance(ict, CTConfig)
    differs = {k for k in vars(ct) if getattr(ct, k) != getattr(ict, k)}
    assert differs == {"name", "s0", "s1", "curriculum", "index_sampling", "weighting", "target", "distance", "eval_ema"}
    assert (ict.curriculum, ict.index_sampling, ict.weighting, ict.target) == ("doubling", "lognormal", "ict", "online")


def _schema_keys(node, schema, label=""):
    """The qualified keys of the workflow's JSON schema as config/README.md names them: top-level and dataset keys
    bare (`name`, `seeds`), the others under their parents (`cost.steps`, `budget.reference.method`), and the
    fields of every rule's job request as `resources.<rule>.threads`."""
    keys = set()
    ref = node.get("$ref")
    if ref:
        target = ref.rsplit("/", 1)[-1]
        if target == "budget" and label != "budget":
            return keys  # an arm's own budget: the kinds of the dataset's, documented once as `budget.*`
        label = {"dataset": "", "job": "resources.<rule>", "arm": "methods.<arm>"}.get(target, label)
        keys |= _schema_keys(schema["definitions"][target], schema, label)
    for key, sub in node.get("properties", {}).items():
        name = f"{label}.{key}" if label else key
        keys.add(name)
        keys |= _schema_keys(sub, schema, "" if name in ("defaults", "datasets") else name)
    for sub in (node.get("items"), node.get("additionalProperties"), *node.get("patternProperties", {}).values(),
                *node.get("allOf", [])):
        if isinstance(sub, dict):
            keys |= _schema_keys(sub, schema, label)
    return keys


def test_config_readme_documents_every_key():
    """config/README.md (rendered by the Snakemake workflow catalog) has a table row for every key of the workflow's
    schema and every field of the training config's dataclasses, so it cannot fall behind either."""
    import dataclasses
    import re
    from pathlib import Path

    import yaml

    from act.config import METHOD_CONFIGS

    root = Path(__file__).parents[1]
    readme = (root / "config" / "README.md").read_text()
    workflow_part, training_part = readme.split("\n## The workflow config\n")[1].split("\n## The training config\n")
    rows = lambda text: set(re.findall(r"^\| `([^`]+)` \|", text, re.M))  # noqa: E731  (a table row's first cell)

    schema = yaml.safe_load((root / "workflow" / "schemas" / "config.schema.yaml").read_text())
    expected = _schema_keys(schema, schema)
    assert {"name", "results_dir", "cost.max_batch", "seeds", "budget.reference.steps", "sample.nfe",
            "released.sha256", "resources.train", "resources.<rule>.gpu", "methods.<arm>.batch_sizes",
            "methods.<arm>.budget"} <= expected  # the walk finds them
    assert not expected - rows(workflow_part), "config/README.md lacks workflow config keys"

    fields = {f"{section.name}.{f.name}" for section in dataclasses.fields(ExperimentConfig) if section.name != "method"
              for f in dataclasses.fields(section.default_factory())}
    fields |= {f"method.{f.name}" for cls in METHOD_CONFIGS.values() for f in dataclasses.fields(cls)}
    assert not fields - rows(training_part), "config/README.md lacks training config keys"


def test_config_choices_are_the_implementations():
    """The Literal choices the config checks at load are exactly what the implementations build."""
    from act.augment.pipeline import PIPELINES
    from act.choices import AUGMENT_PIPELINES, DATA_NAMES, NETWORK_PRESETS
    from act.data.registry import DATASETS
    from act.networks.presets import DISCRIMINATOR_PRESETS, GENERATOR_PRESETS

    assert NETWORK_PRESETS == tuple(GENERATOR_PRESETS) == tuple(DISCRIMINATOR_PRESETS)
    assert DATA_NAMES == tuple(DATASETS) and AUGMENT_PIPELINES == tuple(PIPELINES)
    assert load_config(None, ("data.name=toy2d:moons",)).data.name == "toy2d:moons"  # a toy kind after the name


def test_resume_free_keys_come_from_the_fields_marks():
    """Which keys a run resumes across is marked on the fields (act.config.FREE); resume reads the marks."""
    from act.config import trajectory_free_keys
    from act.resume import RESUME_FREE_KEYS

    assert set(RESUME_FREE_KEYS) == set(trajectory_free_keys()) == {
        "train.log_every", "train.ckpt_every", "train.ckpt_minutes", "train.keep_checkpoints", "train.device",
        "train.compile", "train.tf32", "train.cudnn_benchmark", "train.deterministic", "train.channels_last",
        "train.compile_optimizer", "train.sync", "train.tensorboard", "train.wandb", "data.root", "data.download",
        "data.num_workers", "sample"}


def test_ignored_settings_are_refused_where_configs_enter_not_in_stored_ones():
    """A checkpoint written before the refusals (an ACT run with train.betas set) still loads its config;
    load_config, where a user's config enters, refuses it."""
    from act.config import ExperimentConfig, from_dict, to_dict

    stored = to_dict(load_config(None, ("method.name=act",)))
    stored["train"]["betas"] = [0.0, 0.99]
    assert from_dict(ExperimentConfig, stored).train.betas == (0.0, 0.99)
    with pytest.raises(ConfigError, match="train.betas .* would be ignored"):
        load_config(None, ("method.name=act", "train.betas=[0.0, 0.99]"))

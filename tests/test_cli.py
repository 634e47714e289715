"""CLI habits of every `act` subcommand, as act/cli.py registers them: help text on every option, defaults in
``--help`` where they say something, ``-o/--out`` on every command that writes, ``act --version``.

Everything here parses or prints help only: no command runs (except one that stops at its arguments).
"""

from __future__ import annotations

import argparse
import json

import pytest

import act
from act.cli import HelpFormatter, Parser, build_parser, main, shown_default
from act.plan_options import PlanOptions

PARSER = build_parser()
SUBCOMMANDS = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)).choices
# Commands that write no file or folder (and so need no -o/--out): none today.
WRITES_NOTHING: frozenset = frozenset()



def _commands():
    return sorted(SUBCOMMANDS)


def _options(name: str):
    return [a for a in SUBCOMMANDS[name]._actions if not isinstance(a, argparse._HelpAction)]


def _help_text(name: str, capsys, monkeypatch) -> str:
    """`act NAME --help` as printed, whitespace collapsed (wrapping may break a line anywhere)."""
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_the_expected_subcommands_are_registered():
    assert len(SUBCOMMANDS) >= 18
    assert {"train", "sample", "evaluate", "train-classifier", "score-run", "bench"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("name", _commands())
def test_every_option_has_help(name):
    missing = [a.option_strings or a.dest for a in _options(name)
               if not (a.help or "").strip() or a.help == argparse.SUPPRESS]
    assert not missing, f"act {name}: options without help text: {missing}"


@pytest.mark.parametrize("name", _commands())
def test_commands_that_write_have_o_and_out(name):
    if name in WRITES_NOTHING:
        pytest.skip(f"act {name} writes nothing")
    strings = SUBCOMMANDS[name]._option_string_actions
    assert "-o" in strings and "--out" in strings, f"act {name} writes but has no -o/--out"
    assert strings["-o"] is strings["--out"], f"act {name}: -o and --out are different options"


@pytest.mark.parametrize("name", _commands())
def test_help_shows_meaningful_defaults_only(name, capsys, monkeypatch):
    text = _help_text(name, capsys, monkeypatch)
    for action in _options(name):
        shown = shown_default(action.default)
        if shown is not None and action.option_strings:
            assert f"(default: {shown})" in text, f"act {name} --help: no default shown for {action.option_strings}"
    for noise in ("(default: None)", "(default: False)", "(default: [])", "(default: )"):
        assert noise not in text, f"act {name} --help shows {noise}"


def test_formatter_skips_defaults_that_say_nothing(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    p = Parser(prog="demo")
    p.add_argument("--none", default=None, help="a")
    p.add_argument("--flag", action="store_true", help="b")
    p.add_argument("--many", action="append", default=[], help="c")
    p.add_argument("--zero", type=int, default=0, help="d")
    p.add_argument("--name", default="50%", help="e, 100%% sure")
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.5, 1.0], help="f")
    p.add_argument("--own", default="x", help="g (default: %(default)s)")
    p.add_argument("pos", help="h")
    assert p.formatter_class is HelpFormatter
    text = " ".join(p.format_help().split())
    assert "a --flag" in text and "b --many" in text and "c --zero" in text  # nothing after a, b, c
    assert "d (default: 0)" in text and "e, 100% sure (default: 50%)" in text
    assert "f (default: 0.5 1.0)" in text and "g (default: x)" in text and "pos h" in text
    assert text.count("(default:") == 4


def test_an_explicit_defaults_formatter_is_upgraded():
    p = Parser(prog="demo", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    assert p.formatter_class is HelpFormatter
    assert SUBCOMMANDS["bench"].formatter_class is HelpFormatter


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"act-bench {act.__version__}"


@pytest.mark.parametrize("argv, dest, value", [
    (["evaluate", "--samples", "s.npz", "--dataset", "cifar10", "-o", "m.json"], "out", "m.json"),
    (["train-classifier", "--dataset", "fashion_mnist", "-o", "c.pt"], "out", "c.pt"),
    (["claims", "--summary", "s.csv", "-o", "c"], "out_dir", "c"),
    (["claims", "--summary", "s.csv", "--out", "c"], "out_dir", "c"),
    (["tables", "--summary", "s.csv", "--out", "t"], "out_dir", "t"),
    (["figures", "--summary", "s.csv", "--out", "f"], "out_dir", "f"),
    (["score-run", "--checkpoint", "a.pt", "-o", "r"], "out", "r"),
])
def test_out_spellings_parse(argv, dest, value):
    assert getattr(PARSER.parse_args(argv), dest) == value


def test_a_missing_out_is_a_one_line_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--samples", "s.npz", "--dataset", "cifar10"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the following arguments are required: --out/-o" in err


def test_score_run_needs_out_or_both_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACT_DEBUG", raising=False)
    assert main(["score-run", "--checkpoint", "none.pt", "--samples-dir", "s"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("act score-run: give -o/--out") and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_bench_choices_are_the_configs():
    """act bench writes its choices out (act --help imports no yaml); they are the config's."""
    from act.commands import bench
    from act.config import METHOD_NAMES, PRECISIONS

    assert bench.METHOD_NAMES == METHOD_NAMES and bench.PRECISIONS == PRECISIONS


def test_a_plan_gives_option_values_and_the_command_line_wins(tmp_path):
    """--plan FILE: the JSON object's values replace the option defaults (a required option it gives is no
    longer required); an option on the command line still wins."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"dataset": "fashion_mnist", "steps": 7, "device": "cpu", "lr": 1}))
    parser = build_parser()
    PlanOptions(parser.commands["train-classifier"], str(plan)).apply()
    args = parser.parse_args(["train-classifier", "--plan", str(plan), "--steps", "9", "-o", "c.pt"])
    assert (args.dataset, args.steps, args.device, args.lr, args.batch_size) == ("fashion_mnist", 9, "cpu", 1.0, 128)
    assert isinstance(args.lr, float)  # a float option given an integer holds a float, as from the command line
    with pytest.raises(SystemExit):  # without the plan, --dataset is required again
        build_parser().parse_args(["train-classifier", "-o", "c.pt"])


@pytest.mark.parametrize("text, says", [
    (None, "does not exist"),
    ("{", "is not JSON"),
    ("[1]", "holds a list, not an object"),
    ('{"nfe": [3]}', "`nfe` is [3]; act score-run --nfe takes one of 1, 2"),
    ('{"nfe": 1}', "--nfe takes a list"),
    ('{"num": "5"}', "--num takes an integer"),
    ('{"no-progress": 1}', "--no-progress takes true or false"),
    ('{"foo": 1}', "`foo` is no option of act score-run; its options: batch-size,"),
    ('{"plan": "p.json"}', "`plan` is no option"),
    ('{"checkpoint": null}', "--checkpoint takes a value"),  # a required option: never cleared by a plan
])
def test_a_bad_plan_is_one_line_and_exit_2(text, says, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ACT_DEBUG", raising=False)
    plan = tmp_path / "plan.json"
    if text is not None:
        plan.write_text(text)
    out = tmp_path / "out"
    assert main(["score-run", "--plan", str(plan), "--checkpoint", "a.pt", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("act score-run: --plan ") and says in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_the_plan_read_is_in_the_provenance(tmp_path, monkeypatch, capsys):
    """Outputs record the plan's values as the command read them (argv names only the file, which the workflow
    rewrites when the experiment changes)."""
    import act.provenance

    monkeypatch.setattr(act.provenance, "PLAN", {"left": "by an earlier call"})
    monkeypatch.delenv("ACT_DEBUG", raising=False)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"num": 5, "nfe": [1]}))
    assert main(["score-run", "--plan", str(plan), "--checkpoint", str(tmp_path / "none.pt"), "-o", str(tmp_path / "o"),
                 "--num", "7"]) == 2
    assert act.provenance.provenance()["plan"] == {"nfe": [1]}  # the values in effect: --num 7 replaced the plan's


def _parsed(command, plan_values, argv, tmp_path):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan_values))
    parser = build_parser()
    plan = PlanOptions(parser.commands[command], str(plan_file))
    plan.apply()
    args = parser.parse_args([command, "--plan", str(plan_file), *argv])
    plan.fill(args)
    return args, plan.used(args)


def test_the_command_line_replaces_a_plans_list_and_group_values(tmp_path):
    """An option that collects values takes the plan's list only when the command line gives none (never both);
    in a mutually exclusive group the plan's value counts for a required group, and stands only when the command
    line gives no member of it."""
    plan = {"reported-as": ["a=cifar10"], "title": "t"}
    args, used = _parsed("claims", plan, ["--summary", "s.csv", "-o", "c"], tmp_path)
    assert args.reported_as == ["a=cifar10"] and used == plan
    args, used = _parsed("claims", plan, ["--summary", "s.csv", "-o", "c", "--reported-as", "b=imagenet64"], tmp_path)
    assert args.reported_as == ["b=imagenet64"] and used == {"title": "t"}
    args, _ = _parsed("evaluate", {"dataset": "cifar10"}, ["--samples", "s.npz", "-o", "m.json"], tmp_path)
    assert (args.dataset, args.reference) == ("cifar10", None)  # the required group: the plan's member
    args, _ = _parsed("evaluate", {"dataset": "cifar10"}, ["--samples", "s.npz", "-o", "m.json", "--reference", "r.npz"],
                      tmp_path)
    assert (args.dataset, args.reference) == (None, "r.npz")  # the command line's member only


def test_an_abbreviated_plan_option_is_still_read(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ACT_DEBUG", raising=False)
    (tmp_path / "plan.json").write_text('{"nfe": [3]}')
    assert main(["score-run", "--pla", str(tmp_path / "plan.json"), "--checkpoint", "a.pt", "-o", str(tmp_path / "o")]) == 2
    assert "`nfe` is [3]" in capsys.readouterr().err

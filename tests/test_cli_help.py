"""The command line's own surface: --version, bare ``moderation``, and help that reads as documentation."""

import re

import click
import typer
from typer.testing import CliRunner

import moderation
from moderation.cli import app

runner = CliRunner()


def _commands(command, prefix=()):
    subcommands = getattr(command, "commands", None)
    yield prefix, command
    for name, sub in (subcommands or {}).items():
        yield from _commands(sub, prefix + (name,))


def test_version():
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"moderation {moderation.__version__}\n")


def test_bare_moderation_prints_help_and_exits_0():
    result = runner.invoke(app, [], prog_name="moderation")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: moderation [OPTIONS] COMMAND [ARGS]...")
    for command in ("train", "score", "evaluate", "model", "queue", "users", "serve"):
        assert f"\n  {command} " in result.stdout


def test_help_shows_no_python_types_or_odd_metavars():
    for path, _ in _commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        odd = re.findall(r"<[^>\s]*>|\{\w+\}|list\[|x>=|\[[a-z_]+\]\.\.\.", result.stdout)
        assert odd == [], (path, odd)


def test_each_option_states_one_default():
    root = typer.main.get_command(app)
    for path, command in _commands(root):
        context = click.Context(command, info_name=" ".join(path))
        for param in command.get_params(context):
            record = param.get_help_record(context)
            if record:
                assert record[1].count("[default") <= 1, (path, record)


def test_score_help_names_every_output_format():
    result = runner.invoke(app, ["score", "--help"], env={"COLUMNS": "200"}, prog_name="moderation")
    assert "Usage: moderation score [OPTIONS] INPUT\n" in result.stdout
    text = " ".join(result.stdout.split())
    assert ("--out FILE Output file; the format follows its extension (CSV, TSV, JSONL, Parquet; optionally .gz) "
            "[default: CSV on standard output].") in text

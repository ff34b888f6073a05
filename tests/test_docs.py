"""Every CLI command and option is documented in the README, and the README opens with the set-up commands."""

import re

import typer

from moderation.cli import app

from conftest import ROOT


def _commands(command, prefix=()):
    """Every leaf command under ``command`` with its path, however deep (typer's groups have ``commands``)."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield prefix, command
        return
    for name, sub in subcommands.items():
        yield from _commands(sub, prefix + (name,))


def test_the_walk_sees_every_subcommand():
    paths = {" ".join(path) for path, _ in _commands(typer.main.get_command(app))}
    assert {"train", "score", "evaluate", "serve", "model verify", "queue add", "queue export", "queue stats",
            "users add", "users token", "users logout", "users list", "users passwd", "users disable",
            "users enable", "users remove"} <= paths


def test_every_command_and_option_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = []
    for path, command in _commands(typer.main.get_command(app)):
        name = "moderation " + " ".join(path)
        if name not in readme:
            missing.append(name)
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt not in readme:
                    missing.append(f"{name} {opt}")
    assert missing == []


def test_readme_opens_with_the_two_setup_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    head = "\n".join(lines[:25])
    assert re.search(r"pip install \. && moderation score data/sample_comments\.csv", head)
    assert re.search(r'pip install "\.\[test\]" && pytest', head)

"""Every CLI command and option is documented in the README."""

import re

import click
import typer

from moderation.cli import app

from conftest import ROOT


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))
        else:
            yield prefix + (name,), command


def test_every_command_and_option_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    group = typer.main.get_command(app)
    missing = []
    for path, command in _commands(group):
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

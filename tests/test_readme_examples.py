"""Every command in the README's ```bash blocks is run here, in README order in one directory, or is named
below with what covers it instead (and, for a ``moderation`` command, its options are parsed): an example that
stops working, or a new one nobody checks, fails a test."""

from __future__ import annotations

import gzip
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

import click
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from moderation.cli import app

from conftest import DATA, ROOT, require_modules


@dataclass
class Run:
    """Run the line (or ``command`` instead, with the reason in ``why``); ``before`` prepares, ``check`` inspects."""

    command: str | None = None
    why: str = ""
    before: Callable | None = None
    check: Callable | None = None
    input: str | None = None


@dataclass
class Covered:
    """Not run here: ``by`` says what runs or checks it instead."""

    by: str


def _decide(sandbox) -> None:
    """What moderators do in the browser between loading the queue and exporting: 10 removals, 10 keeps."""
    from moderation.queue.store import open_store

    store = open_store(f"sqlite:///{sandbox / 'moderation.db'}")
    for i, comment in enumerate(store.list_queue(limit=20)):
        store.decide(comment["id"], "alice", "remove" if i % 2 else "keep")
    store.close()


def _rename_context(sandbox) -> None:
    """A scored file (``--keep``) whose author and article columns have other names."""
    scored = pd.read_csv(sandbox / "scored.csv")
    scored.assign(user_name="reader", story_id="budget-2026").to_csv(sandbox / "scored.csv", index=False)


def _only_flagged(sandbox, result) -> None:
    rows = pd.read_json(sandbox / "flagged.jsonl", lines=True)
    assert len(rows) > 0 and rows["flag"].all()
    assert f"{len(rows)} flagged" in result


def _rows(name: str, n: int, reader=pd.read_csv, **options):
    def check(sandbox, result):
        assert len(reader(sandbox / name, **options)) == n, result
    return check


def _has(name: str, text: str):
    def check(sandbox, result):
        assert text in (sandbox / name).read_text()[:5000], name
    return check


def _says(text: str):
    def check(sandbox, result):
        assert text in result, result
    return check


SAMPLE_ROWS = 303  # data/sample_labelled.csv
COMMENTS = len(pd.read_csv(DATA / "sample_comments.csv"))
CORPUS = "needs the public corpora, about two minutes and 1.5 GB: not run here (options parsed); "

EXAMPLES: dict[str, Run | Covered] = {
    # Installing
    "pip install . && moderation score data/sample_comments.csv": Run(
        "moderation score data/sample_comments.csv", why=".ci/run runs the whole line in a fresh environment",
        check=_says(f"read {COMMENTS} = scored {COMMENTS} + rejected 0;")),
    'pip install ".[test]" && pytest': Covered(".ci/run runs it verbatim; this suite is what it runs"),
    # moderation train
    "moderation train data/sample_labelled.csv --out models/mysite": Run(check=_says("Saved model to models/mysite")),
    "moderation train dump.jsonl.gz --out models/mysite --force --text-col body --label-col verdict --positive "
    "removed": Run(check=_says(f"({SAMPLE_ROWS} rows;")),
    "moderation train export.csv --out models/mysite --force --target-recall 0.95 --eval-file holdout.parquet": Run(
        check=_says("(200 rows; evaluation file")),
    "moderation train --corpus ../shared/data --out models/default --force": Covered(
        CORPUS + "tests/test_default_model.py checks the model it built"),
    # moderation score
    "moderation score comments.csv --out scored.parquet": Run(check=_rows("scored.parquet", COMMENTS, pd.read_parquet)),
    "cat comments.csv | moderation score - > scored.csv": Run(check=_rows("scored.csv", COMMENTS)),
    "moderation score dump.jsonl.gz --model models/mysite --text-col body --id-col comment_id --threshold 0.6 "
    "--flagged-only --out flagged.jsonl": Run(check=_only_flagged),
    "zcat dump.jsonl.gz | moderation score - --text-col body --out scored.tsv": Run(
        check=_rows("scored.tsv", SAMPLE_ROWS, sep="\t")),
    "moderation score excel-export.csv --sep ';' --encoding cp1252 --out scored.csv": Run(
        check=lambda sandbox, result: ("replaced" not in result
                                       and len(pd.read_csv(sandbox / "scored.csv")) == COMMENTS)),
    # the Dask engine
    "moderation score 'dumps/*.parquet' --engine dask --workers 8 --out scored/": Covered(
        "tests/test_dask.py: test_cli_engine_dask runs it with --workers 2, test_glob_of_parquet_parts_split_by_"
        "row_groups scores a glob of Parquet files"),
    "dask scheduler": Covered("tests/test_dask.py scores on a running cluster by its scheduler's address"),
    "dask worker tcp://SCHEDULER:8786 --nthreads 1": Covered("tests/test_dask.py: a cluster of one-thread workers"),
    "moderation score 'dumps/*.csv' --engine dask --scheduler tcp://SCHEDULER:8786 --out scored/": Covered(
        "tests/test_dask.py scores directories, globs and split files with scheduler=ADDRESS"),
    # moderation evaluate
    "moderation evaluate labelled.csv other.jsonl --model models/mysite": Run(check=_says("== other.jsonl (")),
    'pip install ".[report]"': Covered(".ci/run installs .[test], which includes it"),
    "moderation evaluate data/sample_labelled.csv data/identity_probes.csv --report report.html": Run(
        check=_has("report.html", "<html")),
    "moderation evaluate labelled.csv --model models/mysite --compare models/default --report compare.html": Run(
        check=_says("difference (default − mysite)")),
    # the notebook
    'pip install ".[notebook]"': Covered(".ci/run installs .[test], which includes it"),
    "jupyter execute notebooks/walkthrough.ipynb --output /tmp/walkthrough-run.ipynb": Covered(
        "tests/test_notebook.py executes the notebook with nbclient, as jupyter execute does"),
    # the review queue
    "moderation users add alice --admin": Run(input="alice-password\n", check=_says("Added admin alice")),
    "moderation users add bob < bob-password.txt": Run(check=_says("Added moderator bob")),
    "moderation score dump.csv --out scored.csv --queue": Run(check=_says(" added, 0 already in the queue, ")),
    "moderation queue add scored.csv --db sqlite:///moderation.db": Run(check=lambda sandbox, result: bool(
        re.search(r"^0 added, [1-9]\d* already in the queue", result, re.M))),
    "moderation queue add scored.csv --author-col user_name --article-col story_id": Run(
        before=_rename_context, check=lambda sandbox, result: bool(re.search(r"^0 added, [1-9]\d* already in the queue", result, re.M))),
    "moderation serve --host 127.0.0.1 --port 8000": Covered(
        "a server that runs until stopped: tests/test_queue_web.py and test_queue_load.py test the app it serves"),
    "moderation queue stats": Run(check=_says("pending")),
    "moderation queue export decisions.csv": Run(before=_decide, check=_says("20 decisions written to decisions.csv")),
    "moderation train decisions.csv --out models/mysite --force": Run(check=_says("(20 rows;")),
    "moderation train --from-queue sqlite:///moderation.db --corpus ../shared/data --out models/mysite --force":
        Covered(CORPUS + "tests/test_queue_loop.py trains --from-queue"),
    "moderation users list": Run(check=_says("bob    moderator  active")),
    "moderation users passwd bob < new-password.txt": Run(check=_says("Changed the password of bob")),
    "moderation users disable bob": Run(check=_says("Disabled bob")),
    "moderation users enable bob": Run(check=_says("Enabled bob")),
    "moderation users remove bob": Run(check=_says("Removed bob")),
    "moderation users token alice": Run(check=lambda sandbox, result: len(result.strip()) >= 20),
    "moderation users logout alice": Run(check=_says("Ended 0 sessions of alice")),
    # migrating from Perspective
    "moderation users add coral < coral-password.txt": Run(check=_says("Added moderator coral")),
    "moderation users token coral": Run(check=lambda sandbox, result: len(result.strip()) >= 20),
    "moderation serve --host 0.0.0.0 --port 8000 --workers 2": Covered(
        "a server that runs until stopped: tests/test_perspective*.py test the API it serves"),
    # model files
    "moderation model verify models/mysite": Run(check=_says("OK models/mysite: sha256 ")),
    # the default model
    "python benchmarks/quality.py --update-card": Covered(
        "about fifteen minutes on the corpora: not run here; its options are checked"),
    "python benchmarks/ablation.py": Covered("hours on the corpora: not run here; its options are checked"),
}


def readme_commands() -> list[str]:
    """The command lines of the README's bash blocks, in order, without their trailing comments."""
    commands, inside = [], False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```bash"
            continue
        if inside and line.strip():
            commands.append(re.sub(r"\s+#\s.*$", "", line).strip())
    return commands


def test_every_example_is_run_or_covered():
    commands = readme_commands()
    assert [c for c in commands if c not in EXAMPLES] == []  # a new example: run it here or say what covers it
    assert [c for c in EXAMPLES if c not in commands] == []  # an example that left the README


def _parse(args: list[str]) -> None:
    """Parse a ``moderation`` command line as the CLI would, without running it (unknown options raise)."""
    command = typer.main.get_command(app)
    path = ["moderation"]
    while isinstance(command, click.Group):
        path.append(args[0])
        command = command.get_command(click.Context(command), args.pop(0))
        assert command is not None, path
    command.make_context(" ".join(path), args)


def test_examples_not_run_parse():
    for line, how in EXAMPLES.items():
        if isinstance(how, Covered) and line.startswith("moderation "):
            _parse(shlex.split(line)[1:])
    for script, option in (("quality.py", "--update-card"), ("ablation.py", "--table"), ("identical.py", "--rows"),
                           ("explain.py", "--turns"), ("kernel.py", "--before"), ("stages.py", "--turns")):
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--help"], capture_output=True,
                              text=True)
        assert proc.returncode == 0 and option in proc.stdout


@pytest.fixture
def sandbox(tmp_path):
    """A directory holding the files the examples name, made from our sample data."""
    (tmp_path / "data").symlink_to(DATA)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "default").symlink_to(ROOT / "models" / "default")
    (tmp_path / "benchmarks").symlink_to(ROOT / "benchmarks")
    labelled = pd.read_csv(DATA / "sample_labelled.csv")
    comments = pd.read_csv(DATA / "sample_comments.csv")
    comments.to_csv(tmp_path / "comments.csv", index=False)
    comments.to_csv(tmp_path / "excel-export.csv", sep=";", index=False, encoding="cp1252", errors="replace")
    dump = pd.DataFrame({"comment_id": labelled["id"], "body": labelled["text"],
                         "verdict": labelled["label"].map({1: "removed", 0: "approved"})})
    (tmp_path / "dump.jsonl.gz").write_bytes(gzip.compress(dump.to_json(orient="records", lines=True).encode()))
    labelled.iloc[:200][["text", "label"]].to_csv(tmp_path / "export.csv", index=False)
    labelled.iloc[200:][["text", "label"]].to_parquet(tmp_path / "holdout.parquet")
    labelled.iloc[::2].to_csv(tmp_path / "labelled.csv", index=False)
    labelled.iloc[1::2].to_json(tmp_path / "other.jsonl", orient="records", lines=True)
    labelled[["id", "text"]].to_csv(tmp_path / "dump.csv", index=False)
    for name in ("bob-password.txt", "new-password.txt", "coral-password.txt"):
        (tmp_path / name).write_text(f"{name[:-4]}-0123456789\n")
    return tmp_path


@pytest.mark.slow
def test_readme_examples_work(sandbox, monkeypatch):
    require_modules("sqlalchemy", "matplotlib")
    monkeypatch.chdir(sandbox)
    monkeypatch.delenv("MODERATION_DB", raising=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])}
    ran = 0
    for line in readme_commands():
        how = EXAMPLES[line]
        if isinstance(how, Covered):
            continue
        if how.before:
            how.before(sandbox)
        command = how.command or line
        if re.search(r"[|<>]", command) or shutil.which("moderation") is None:
            proc = subprocess.run(["bash", "-c", command], cwd=sandbox, env=env, capture_output=True, text=True,
                                  input=how.input)
            status, output = proc.returncode, proc.stdout + proc.stderr
        else:
            result = CliRunner().invoke(app, shlex.split(command)[1:], input=how.input)
            status, output = result.exit_code, result.stdout + result.stderr
        assert status == 0, f"{command}\n{output}"
        if how.check:
            assert how.check(sandbox, output) is not False, f"{command}\n{output}"
        ran += 1
    assert ran == sum(isinstance(h, Run) for h in EXAMPLES.values())

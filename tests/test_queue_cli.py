"""``moderation users``/``queue`` commands through typer's CliRunner, with exact output."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy")


from typer.testing import CliRunner  # noqa: E402

from moderation.cli import app  # noqa: E402
from moderation.queue.store import open_store  # noqa: E402
from conftest import ROOT, scored_frame  # noqa: E402

runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def scored(tmp_path, small_model):
    frame = scored_frame(small_model)
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)
    return path, frame


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_users_add_reads_password_from_stdin(db):
    r = run("users", "add", "alice", "--db", db, input="alice-password\n")
    assert r.exit_code == 0 and r.stdout == "Added moderator alice\n"
    r = run("users", "add", "root", "--admin", "--db", db, input="root-password\n")
    assert r.stdout == "Added admin root\n"
    s = open_store(db)
    assert s.authenticate("alice", "alice-password")["is_admin"] is False
    assert s.authenticate("root", "root-password")["is_admin"] is True


def test_users_add_errors_are_one_line(db):
    run("users", "add", "alice", "--db", db, input="alice-password\n")
    r = run("users", "add", "alice", "--db", db, input="other-password\n")
    assert r.exit_code == 2 and r.stderr == "Error: moderator 'alice' already exists\n"
    r = run("users", "add", "bob", "--db", db, input="eleven-char\n")
    assert r.exit_code == 2 and r.stderr == "Error: the password must be at least 12 characters\n"
    r = run("users", "add", "bob", "--db", db, input="")
    assert r.exit_code == 2 and r.stderr == "Error: no password on standard input\n"


def test_users_token(db):
    run("users", "add", "bot", "--db", db, input="bot-password\n")
    r = run("users", "token", "bot", "--db", db)
    token = r.stdout.strip()
    assert r.exit_code == 0 and token.startswith("mq_") and len(r.stdout.splitlines()) == 1
    assert open_store(db).moderator_for_token(token)["name"] == "bot"
    r = run("users", "token", "nobody", "--db", db)
    assert r.exit_code == 2 and r.stderr == "Error: no such moderator: nobody\n"


def test_users_logout_ends_every_session(db):
    run("users", "add", "carol", "--db", db, input="carol-password\n")
    store = open_store(db)
    sessions = [store.create_session(store.moderator("carol")["id"]) for _ in range(2)]
    assert all(store.session_moderator(s)["name"] == "carol" for s in sessions)
    r = run("users", "logout", "carol", "--db", db)
    assert r.exit_code == 0 and r.stdout == "Ended 2 sessions of carol\n"
    assert [store.session_moderator(s) for s in sessions] == [None, None]
    assert run("users", "logout", "carol", "--db", db).stdout == "Ended 0 sessions of carol\n"
    r = run("users", "logout", "nobody", "--db", db)
    assert r.exit_code == 2 and r.stderr == "Error: no such moderator: nobody\n"


def test_queue_add_is_idempotent(db, scored, small_model_dir):
    path, frame = scored
    flagged = int(frame["flag"].sum())
    r = run("queue", "add", path, "--db", db, "--model", small_model_dir)
    assert r.exit_code == 0, r.output
    assert r.stdout == f"{flagged} added, 0 already in the queue, {len(frame) - flagged} not flagged\n"
    r = run("queue", "add", path, "--db", db, "--model", small_model_dir)
    assert r.stdout == f"0 added, {flagged} already in the queue, {len(frame) - flagged} not flagged\n"
    r = run("queue", "add", path, "--db", db, "--all", "--model", small_model_dir)
    assert r.stdout == f"{len(frame) - flagged} added, {flagged} already in the queue, 0 not flagged\n"


def test_queue_add_options_and_errors(db, scored, tmp_path, small_model_dir):
    path, frame = scored
    r = run("queue", "add", path, "--db", db, "--all", "--min-score", "0.5")
    assert r.exit_code == 2 and r.stderr == "Error: give --all or --min-score, not both\n"
    r = run("queue", "add", path, "--db", db, "--min-score", "0.9", "--model", small_model_dir)
    n = int((frame["score"] >= 0.9).sum())
    assert r.stdout == f"{n} added, 0 already in the queue, {len(frame) - n} not flagged\n"
    no_text = tmp_path / "no_text.csv"
    frame.drop(columns=["text"]).to_csv(no_text, index=False)
    r = run("queue", "add", no_text, "--db", db, "--model", small_model_dir)
    assert r.exit_code == 2
    assert r.stderr == ("Error: the scored table (score with --keep text): no column text "
                        "(columns: id, score, flag, reasons)\n")
    r = run("queue", "add", tmp_path / "missing.csv", "--db", db, "--model", small_model_dir)
    assert r.exit_code == 2 and r.stderr == f"Error: no such file: {tmp_path / 'missing.csv'}\n"


def _decide(db, n_per_class=10):
    s = open_store(db)
    s.add_moderator("alice", "alice-password")
    labels = dict(pd.read_csv(ROOT / "data" / "sample_labelled.csv")[["id", "label"]].values.tolist())
    counts = {0: 0, 1: 0}
    for c in s.list_queue(limit=1000):
        y = labels[c["id"]]
        if counts[y] < n_per_class:
            s.decide(c["id"], "alice", "remove" if y else "keep")
            counts[y] += 1
    return s


@pytest.mark.parametrize("name", ["decisions.csv", "decisions.jsonl", "decisions.parquet"])
def test_queue_export_any_format_then_train(db, scored, tmp_path, small_model_dir, name):
    path, _ = scored
    run("queue", "add", path, "--db", db, "--all", "--model", small_model_dir)
    _decide(db)
    out = tmp_path / name
    r = run("queue", "export", out, "--db", db)
    assert r.exit_code == 0 and r.stdout == f"20 decisions written to {out} (10 remove, 10 keep)\n"
    from moderation.io import read_table

    table = read_table(out)
    assert list(table.columns) == ["id", "text", "label", "action", "reason_code", "moderator", "decided_at", "source"]
    assert len(table) == 20
    if name.endswith(".csv"):
        r = run("train", out, "--out", tmp_path / "retrained")
        assert r.exit_code == 0, r.output
        assert r.stdout.startswith(f"Saved model to {tmp_path / 'retrained'} (20 rows;")


def test_queue_stats_exact(db, tmp_path):
    frame = pd.DataFrame({"id": list("abcd"), "text": list("abcd"), "score": [0.9, 0.8, 0.7, 0.6],
                          "flag": [True] * 4, "insult": [0.9, 0.9, 0.1, 0.1], "threat": [0.1, 0.1, 0.9, 0.9]})
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    r = run("queue", "add", path, "--db", db, "--model", tmp_path / "no-such-model")
    assert r.exit_code == 2 and r.stderr.startswith("Error: model directory not found")
    s = open_store(db)
    s.add_scored(path, model=None)
    s.add_moderator("alice", "alice-password")
    s.decide("a", "alice", "remove")
    s.decide("b", "alice", "keep")
    s.decide("c", "alice", "escalate")
    r = run("queue", "stats", "--db", db)
    assert r.exit_code == 0
    assert r.stdout == ("pending 1\n"
                        "escalated 1\n"
                        "decided 2 (removed 1, kept 1)\n"
                        "model precision 0.500 (2 flagged of 2 decided)\n"
                        "  insult: precision 0.500 (2 flagged of 2 decided)\n")


def test_empty_queue_stats_and_export(db, tmp_path):
    r = run("queue", "stats", "--db", db)
    assert r.stdout == ("pending 0\nescalated 0\ndecided 0 (removed 0, kept 0)\n"
                        "model precision n/a (0 flagged of 0 decided)\n")
    r = run("queue", "export", tmp_path / "e.csv", "--db", db)
    assert r.stdout == f"0 decisions written to {tmp_path / 'e.csv'} (0 remove, 0 keep)\n"
    assert (tmp_path / "e.csv").read_text() == "id,text,label,action,reason_code,moderator,decided_at,source\n"


def test_bad_database_url_is_a_user_error(tmp_path):
    r = run("queue", "stats", "--db", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    assert r.exit_code == 2 and r.stderr.startswith("Error: cannot open the queue database")
    assert len(r.stderr.splitlines()) == 1


@pytest.mark.slow
def test_base_install_works_without_the_queue_extra(tmp_path):
    """With SQLAlchemy/FastAPI unimportable, `moderation --help` works and queue commands name the extra."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('sqlalchemy', 'fastapi', 'uvicorn', 'starlette'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Block())\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "MODERATION_DB": f"sqlite:///{tmp_path / 'x.db'}"}
    ok = subprocess.run([sys.executable, "-m", "moderation", "--help"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "score" in ok.stdout and "queue" in ok.stdout
    r = subprocess.run([sys.executable, "-m", "moderation", "queue", "stats"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 2
    assert r.stderr == 'Error: the review queue needs extra packages: pip install ".[queue]"\n'

"""Accounts: ``moderation users list/passwd/disable/enable/remove``, passwords of at least 12 characters,
a changed password ends the user's sessions, a removed moderator's decisions stay in the log."""

from __future__ import annotations

import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy")

from typer.testing import CliRunner  # noqa: E402

from moderation.cli import app  # noqa: E402
from moderation.queue.store import open_store  # noqa: E402

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    for name, flags in (("alice", []), ("root", ["--admin"])):
        assert run("users", "add", name, *flags, "--db", url, input=f"{name}-password\n").exit_code == 0
    return url


def test_users_list(db):
    s = open_store(db)
    s.add_scored(__import__("pandas").DataFrame({"id": ["c1"], "text": ["x"], "score": [0.9], "flag": [True]}))
    s.decide("c1", "alice", "remove")
    r = run("users", "list", "--db", db)
    assert r.exit_code == 0
    assert r.stdout == ("alice  moderator  active    1 decisions  last seen never\n"
                        "root   admin      active    0 decisions  last seen never\n")
    s.create_session("root")
    run("users", "disable", "alice", "--db", db)
    lines = run("users", "list", "--db", db).stdout.splitlines()
    assert lines[0] == "alice  moderator  disabled  1 decisions  last seen never"
    assert lines[1].startswith("root   admin      active    0 decisions  last seen 20")
    empty = run("users", "list", "--db", db.replace("accounts.db", "empty.db"))
    assert empty.stdout == "No moderators (add one with: moderation users add NAME)\n"


def test_passwords_have_12_characters_and_passwd_ends_sessions(db):
    r = run("users", "add", "bob", "--db", db, input="eleven-char\n")
    assert r.exit_code == 2 and r.stderr == "Error: the password must be at least 12 characters\n"
    s = open_store(db)
    sessions = [s.create_session("alice") for _ in range(2)]
    r = run("users", "passwd", "alice", "--db", db, input="short\n")
    assert r.exit_code == 2 and r.stderr == "Error: the password must be at least 12 characters\n"
    assert all(s.session_moderator(x) for x in sessions)  # a refused change ends nothing
    r = run("users", "passwd", "alice", "--db", db, input="a new long password\n")
    assert r.exit_code == 0 and r.stdout == "Changed the password of alice; ended 2 sessions\n"
    assert [s.session_moderator(x) for x in sessions] == [None, None]
    assert s.authenticate("alice", "alice-password") is None
    assert s.authenticate("alice", "a new long password")["name"] == "alice"
    r = run("users", "passwd", "nobody", "--db", db, input="a new long password\n")
    assert r.exit_code == 2 and r.stderr == "Error: no such moderator: nobody\n"


def test_disable_and_enable(db):
    s = open_store(db)
    token = s.new_token("alice")
    session = s.create_session("alice")
    s.add_scored(__import__("pandas").DataFrame({"id": ["c1"], "text": ["x"], "score": [0.9], "flag": [True]}))
    s.claim(["c1"], "alice")
    r = run("users", "disable", "alice", "--db", db)
    assert r.exit_code == 0 and r.stdout == "Disabled alice\n"
    assert s.authenticate("alice", "alice-password") is None
    assert s.moderator_for_token(token) is None and s.session_moderator(session) is None
    assert s.comment("c1")["claimed_by"] is None
    assert [m["name"] for m in s.list_moderators()] == ["root"]
    r = run("users", "enable", "alice", "--db", db)
    assert r.exit_code == 0 and r.stdout == "Enabled alice\n"
    assert s.authenticate("alice", "alice-password")["name"] == "alice"
    assert s.moderator_for_token(token)["name"] == "alice"  # the token was kept; sessions were not
    assert run("users", "disable", "nobody", "--db", db).stderr == "Error: no such moderator: nobody\n"


def test_remove_keeps_the_decisions(db):
    s = open_store(db)
    s.add_scored(__import__("pandas").DataFrame({"id": ["c1", "c2"], "text": ["x", "y"], "score": [0.9, 0.8],
                                                 "flag": [True, True]}))
    s.decide("c1", "alice", "remove", "spam")
    token = s.new_token("alice")
    r = run("users", "remove", "alice", "--db", db)
    assert r.exit_code == 0 and r.stdout == "Removed alice; their decisions stay in the log\n"
    assert [(h["moderator"], h["comment_id"], h["action"]) for h in s.history()] == [("alice", "c1", "remove")]
    assert s.export_decisions()["moderator"].tolist() == ["alice"]
    assert s.authenticate("alice", "alice-password") is None and s.moderator_for_token(token) is None
    assert run("users", "list", "--db", db).stdout.startswith("root ")
    r = run("users", "add", "alice", "--db", db, input="alice-password\n")
    assert r.exit_code == 2
    assert r.stderr == "Error: moderator 'alice' was removed; the audit log keeps the name, choose another\n"
    for command in ("remove", "enable", "passwd"):
        r = run("users", command, "alice", "--db", db, input="a new long password\n")
        assert r.exit_code == 2 and r.stderr == "Error: no such moderator: alice\n"

"""The queue store: idempotent loading, claims, the append-only decision log, undo, export, stats.

Every test takes the ``db_url`` fixture; tests/test_queue_postgres.py reruns them
against a real PostgreSQL server by overriding it.
"""

from __future__ import annotations

import datetime
import hashlib
import threading

import pandas as pd
import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy")


from sqlalchemy import func, select, text, update  # noqa: E402

import moderation  # noqa: E402
from moderation.errors import ModerationError  # noqa: E402
from moderation.io import TableWriter  # noqa: E402
from moderation.queue import accounts  # noqa: E402
from moderation.queue import schema as st  # noqa: E402
from moderation.queue.schema import resolve_db_url
from moderation.queue.store import ClaimConflict, open_store  # noqa: E402
from conftest import LABELLED, scored_frame  # noqa: E402


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    s.add_moderator("alice", "alice-password")
    s.add_moderator("bob", "bob-password")
    s.add_moderator("root", "root-password", is_admin=True)
    yield s
    s.close()


@pytest.fixture
def loaded(store, small_model):
    frame = scored_frame(small_model)
    store.add_scored(frame, model=small_model)
    return store


def _decision_count(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(st.decisions)).scalar()


# -- schema ---------------------------------------------------------------------------
def test_migrations_are_versioned_and_run_once(db_url):
    s = open_store(db_url)
    assert s.version == len(st.MIGRATIONS) == 3
    s.close()
    s = open_store(db_url)  # reopening applies nothing new
    with s.engine.connect() as conn:
        assert sorted(conn.execute(select(st.schema_version.c.version)).scalars().all()) == [1, 2, 3]
    s.close()


def _table_names(store) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(store.engine).get_table_names())


def _old_database(db_url, version: int, monkeypatch) -> dict:
    """A database as the version-1 or version-2 code left it, written with that schema's own columns."""
    with monkeypatch.context() as m:
        m.setattr(st, "MIGRATIONS", st.MIGRATIONS[:version])
        old = open_store(db_url)
    assert old.version == version
    v1 = {t.name: t for t in st._v1_tables}
    now = st.utc_now()
    token = "mq_old-token"
    with old.engine.begin() as conn:
        for name, admin in (("alice", False), ("root", True)):  # no explicit ids: PostgreSQL's sequences count
            conn.execute(v1["moderators"].insert().values(
                name=name, password_hash=accounts.hash_password(f"{name}-password"), is_admin=admin,
                token_hash=hashlib.sha256(token.encode()).hexdigest() if name == "alice" else None, created_at=now))
        for cid, status in (("a", "removed"), ("b", "kept"), ("c", "pending"), ("d", "escalated")):
            conn.execute(v1["comments"].insert().values(
                id=cid, text=f"comment {cid}", source="old.csv", article_id="art-1", score=0.9, threshold=0.5,
                uncertainty=0.4, categories={"insult": 0.9}, top_category="insult", spans=[], model_version="m1",
                added_at=now, status=status))
        for cid, action, reason, undoes in (("a", "remove", "insult", None), ("b", "keep", "fair", None),
                                            ("c", "remove", "identity", None), ("c", "undo", None, 3),
                                            ("d", "escalate", "other", None)):
            conn.execute(v1["decisions"].insert().values(
                comment_id=cid, moderator_id=1, action=action, reason=reason, undoes=undoes,
                decided_at=now, score_at_decision=0.9))
        if version >= 2:
            conn.execute(st.sessions.insert().values(id_hash=hashlib.sha256(b"old-session").hexdigest(),
                                                     moderator_id=1, created_at=now,
                                                     expires_at=now + datetime.timedelta(hours=1), last_seen_at=now))
    old.close()
    return {"token": token}


def _columns(store, table: str) -> set[str]:
    from sqlalchemy import inspect

    return {c["name"] for c in inspect(store.engine).get_columns(table)}


@pytest.mark.parametrize("version", [2, 1])
def test_migration_3_upgrades_an_older_database_in_place(db_url, monkeypatch, version):
    """A database written at schema version 2 (or 1) gains context, batches, notes, reason codes and account
    states; every row is kept, the old reason codes become statement-of-reasons grounds."""
    old = _old_database(db_url, version, monkeypatch)
    new = open_store(db_url)
    try:
        assert new.version == 3
        with new.engine.connect() as conn:
            assert sorted(conn.execute(select(st.schema_version.c.version)).scalars().all()) == [1, 2, 3]
        assert {"article_title", "article_url", "author", "parent_id", "parent_text", "created_at"} <= \
            _columns(new, "comments")
        assert {"reason_code", "note", "batch_id"} <= _columns(new, "decisions")
        assert "reason" not in _columns(new, "decisions")
        assert {"disabled", "removed_at"} <= _columns(new, "moderators")
        assert {"batches", "login_throttle", "sessions"} <= set(_table_names(new))
        # the log as it was, with the codes mapped (fair explained a keep: no ground)
        assert [(h["id"], h["action"], h["reason_code"], h["undoes"]) for h in new.history()] == [
            (5, "escalate", "other_policy", None), (4, "undo", None, 3), (3, "remove", "illegal_hate_speech", None),
            (2, "keep", None, None), (1, "remove", "harassment", None)]
        assert [(c["id"], c["status"], c["article_id"], c["author"]) for c in new.list_queue(status=None)] == [
            ("a", "removed", "art-1", None), ("b", "kept", "art-1", None), ("c", "pending", "art-1", None),
            ("d", "escalated", "art-1", None)]
        assert new.status_disagreements() == []
        assert new.export_decisions()[["id", "action", "reason_code"]].values.tolist() == [
            ["a", "remove", "harassment"], ["b", "keep", ""]]
        assert new.authenticate("alice", "alice-password")["name"] == "alice"
        assert new.moderator_for_token(old["token"])["name"] == "alice"
        assert new.session_moderator("old-session") == ({"id": 1, "name": "alice", "is_admin": False}
                                                        if version == 2 else None)
        assert [m["name"] for m in new.list_moderators()] == ["alice", "root"]
        # and the new columns work on the old rows
        d = new.decide("c", "alice", "escalate", note="is this a threat?")
        assert new.comment("c")["escalation"]["note"] == "is this a threat?"
        assert new.undo(d, "alice")["status"] == "pending"
        bulk = new.decide_many(["c"], "root", "remove", "threat")
        assert new.decision(bulk.first_decision)["batch_id"] == bulk.batch_id
        new.set_disabled("alice", True)
        assert new.authenticate("alice", "alice-password") is None
    finally:
        new.close()
    reopened = open_store(db_url)  # the upgrade ran once
    with reopened.engine.connect() as conn:
        assert sorted(conn.execute(select(st.schema_version.c.version)).scalars().all()) == [1, 2, 3]
    reopened.close()


def test_a_newer_schema_is_refused(db_url, monkeypatch):
    open_store(db_url).close()
    monkeypatch.setattr(st, "MIGRATIONS", st.MIGRATIONS[:1])
    with pytest.raises(ModerationError, match="newer than this moderation package knows"):
        open_store(db_url)


def test_sqlite_uses_wal_and_foreign_keys(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_resolve_db_url(monkeypatch):
    monkeypatch.delenv("MODERATION_DB", raising=False)
    assert resolve_db_url(None) == "sqlite:///moderation.db"
    monkeypatch.setenv("MODERATION_DB", "postgresql://u:p@h/db")
    assert resolve_db_url(None) == "postgresql+psycopg://u:p@h/db"
    assert resolve_db_url("sqlite:///x.db") == "sqlite:///x.db"  # --db wins over the environment
    assert resolve_db_url("queue.db") == "sqlite:///queue.db"


# -- web sessions ------------------------------------------------------------------------
def _session_rows(store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(st.sessions)).mappings()]


def test_session_create_look_up_and_revoke(store):
    import hashlib

    sid = store.create_session("alice")
    assert store.session_moderator(sid) == {"id": store.moderator("alice")["id"], "name": "alice",
                                            "is_admin": False}
    rows = _session_rows(store)
    assert [r["id_hash"] for r in rows] == [hashlib.sha256(sid.encode()).hexdigest()]  # only the hash is kept
    row = rows[0]
    lifetime = st.as_utc(row["expires_at"]) - st.as_utc(row["created_at"])
    assert lifetime.total_seconds() == pytest.approx(accounts.SESSION_TTL, abs=1) == 12 * 3600
    for bad in (None, "", sid + "x", sid[:-1], "' OR 1=1 --", row["id_hash"]):  # the hash is not a session id
        assert store.session_moderator(bad) is None
    assert store.revoke_session(sid) is True
    assert store.session_moderator(sid) is None
    assert store.revoke_session(sid) is False
    assert _session_rows(store) == []
    with pytest.raises(ModerationError):
        store.create_session("nobody")


def test_session_last_seen_is_recorded_not_written_every_time(store, monkeypatch):
    sid = store.create_session("bob")
    seen = _session_rows(store)[0]["last_seen_at"]
    store.session_moderator(sid)
    assert _session_rows(store)[0]["last_seen_at"] == seen  # within a minute: no write
    monkeypatch.setattr(accounts, "SESSION_TOUCH", 0)
    store.session_moderator(sid)
    assert st.as_utc(_session_rows(store)[0]["last_seen_at"]) > st.as_utc(seen)


def _expire_all_sessions(store) -> None:
    """As if the sessions' 12 hours had passed."""
    past = st.utc_now() - datetime.timedelta(seconds=1)
    with store.engine.begin() as conn:
        conn.execute(update(st.sessions).values(expires_at=past))


def test_expired_sessions_are_refused_and_purged(store):
    expired = store.create_session("alice", ttl=-1)
    assert store.session_moderator(expired) is None
    assert _session_rows(store) == []  # looking up an expired session purged it
    old = [store.create_session("alice"), store.create_session("bob")]
    assert [store.session_moderator(s)["name"] for s in old] == ["alice", "bob"]
    _expire_all_sessions(store)
    assert len(_session_rows(store)) == 2
    live = store.create_session("bob")  # a new session purges everyone's expired ones
    assert [r["moderator_id"] for r in _session_rows(store)] == [store.moderator("bob")["id"]]
    assert [store.session_moderator(s) for s in old] == [None, None]
    assert store.session_moderator(live)["name"] == "bob"
    store.create_session("root")
    _expire_all_sessions(store)
    assert store.purge_sessions() == 2
    assert store.session_moderator(live) is None and _session_rows(store) == []


def test_revoke_all_sessions_of_a_moderator(store):
    a1, a2 = store.create_session("alice"), store.create_session(store.moderator("alice")["id"])
    b = store.create_session("bob")
    assert store.revoke_sessions("alice") == 2
    assert store.session_moderator(a1) is None and store.session_moderator(a2) is None
    assert store.session_moderator(b)["name"] == "bob"
    assert store.revoke_sessions("alice") == 0
    with pytest.raises(ModerationError):
        store.revoke_sessions("nobody")


# -- loading ----------------------------------------------------------------------------
def test_add_scored_is_idempotent(store, small_model):
    frame = scored_frame(small_model)
    flagged = int(frame["flag"].sum())
    first = store.add_scored(frame, model=small_model)
    assert (first.added, first.skipped, first.unflagged) == (flagged, 0, len(frame) - flagged)
    second = store.add_scored(frame, model=small_model)
    assert (second.added, second.skipped) == (0, flagged)
    assert store.stats()["pending"] == flagged


def test_add_scored_from_file_all_and_min_score(store, small_model, tmp_path):
    frame = scored_frame(small_model)
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)  # flag becomes the strings True/False
    r = store.add_scored(path, min_score=0.9)
    assert r.added == int((frame["score"] >= 0.9).sum())
    r = store.add_scored(path, all_rows=True)
    assert r.added + r.skipped == len(frame) and r.unflagged == 0
    c = store.comment(str(frame["id"][0]))
    assert c["source"] == "scored.csv" and c["model_version"] == "unknown"


def test_add_scored_records_model_spans_and_threshold(store, small_model):
    frame = scored_frame(small_model, extra=[("x1", "you stupid idiot")])
    frame.loc[frame["id"] == "x1", "flag"] = True
    store.add_scored(frame, model=small_model)
    c = store.comment("x1")
    assert c["threshold"] == pytest.approx(small_model.threshold)
    assert c["model_version"] == small_model.card.sha256[:12]
    expected = [list(s) for s in small_model.explain("you stupid idiot")]
    assert expected and [[s["start"], s["end"], s["fragment"], s["weight"]] for s in c["spans"]] == expected
    assert all(c["text"][s["start"]:s["end"]] == s["fragment"] for s in c["spans"])


def test_add_scored_needs_text_and_reads_categories(store):
    with pytest.raises(ModerationError, match="--keep text"):
        store.add_scored(pd.DataFrame({"id": ["a"], "score": [0.9], "flag": [True]}))
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["one", "two"], "score": [0.9, 0.8], "flag": [True, True],
                          "insult": [0.1, 0.7], "threat": [0.8, 0.2], "source": ["site-a", "site-b"]})
    store.add_scored(frame)
    assert store.comment("a")["top_category"] == "threat"
    assert store.comment("b")["categories"] == {"insult": 0.7, "threat": 0.2}
    assert [c["id"] for c in store.list_queue(category="insult")] == ["b"]
    assert [c["id"] for c in store.list_queue(source="site-a")] == ["a"]
    assert store.comment("a")["threshold"] == pytest.approx(0.8)  # lowest flagged score without a model


def test_queue_sorts_by_score_or_uncertainty(store):
    frame = pd.DataFrame({"id": list("abc"), "text": list("abc"), "score": [0.99, 0.52, 0.7],
                          "flag": [True] * 3})
    store.add_scored(frame, threshold=0.5)
    assert [c["id"] for c in store.list_queue(sort="score")] == ["a", "c", "b"]
    assert [c["id"] for c in store.list_queue(sort="uncertainty")] == ["b", "c", "a"]


# -- claims -----------------------------------------------------------------------------
def test_claims_do_not_collide(loaded):
    a = {c["id"] for c in loaded.claim_next("alice", limit=5)}
    b = {c["id"] for c in loaded.claim_next("bob", limit=5)}
    assert len(a) == len(b) == 5 and not a & b
    assert {c["id"] for c in loaded.claim_next("alice", limit=5)} == a  # viewing again keeps the same claims
    with pytest.raises(ClaimConflict):
        loaded.decide(next(iter(a)), "bob", "remove")
    assert loaded.claim(list(a), "bob") == []


def test_concurrent_claims_are_disjoint(loaded):
    got: dict[str, list[str]] = {}

    def worker(name):
        got[name] = [c["id"] for c in loaded.claim_next(name, limit=10)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("alice", "bob", "root")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for v in got.values() for i in v]
    assert len(ids) == 30 and len(set(ids)) == 30


def test_claims_expire(loaded):
    a = [c["id"] for c in loaded.claim_next("alice", limit=3, ttl=-1)]  # already expired
    b = [c["id"] for c in loaded.claim_next("bob", limit=3)]
    assert a == b  # bob takes over the expired claims (same top of the queue)
    loaded.decide(a[0], "bob", "keep")


# -- decisions --------------------------------------------------------------------------
def test_decisions_log_is_append_only_and_undo_adds_a_row(loaded):
    cid = loaded.claim_next("alice", limit=1)[0]["id"]
    d1 = loaded.decide(cid, "alice", "remove", "harassment")
    assert loaded.comment(cid)["status"] == "removed" and loaded.comment(cid)["claimed_by"] is None
    with pytest.raises(ClaimConflict):
        loaded.decide(cid, "bob", "keep")  # decided: only an admin overrides
    undone = loaded.undo_last("alice")
    assert undone == {"comment_id": cid, "undid": "remove", "status": "pending", "comment_ids": [cid], "skipped": 0}
    assert loaded.comment(cid)["claimed_by"] is not None  # back in alice's hands
    loaded.decide(cid, "alice", "keep")
    rows = loaded.history(comment_id=cid)
    assert [(r["action"], r["undoes"]) for r in rows] == [("keep", None), ("undo", d1), ("remove", None)]
    assert _decision_count(loaded) == 3
    assert loaded.undo_last("bob") is None


def test_undo_refused_after_someone_else_decided(loaded):
    cid = loaded.claim_next("alice", limit=1)[0]["id"]
    loaded.decide(cid, "alice", "escalate")
    loaded.decide(cid, "root", "remove")  # the admin's final word
    with pytest.raises(ClaimConflict):
        loaded.undo_last("alice")
    assert loaded.comment(cid)["status"] == "removed"


def test_escalated_only_admin_decides(loaded):
    cid = loaded.claim_next("alice", limit=1)[0]["id"]
    loaded.decide(cid, "alice", "escalate")
    with pytest.raises(ClaimConflict):
        loaded.decide(cid, "bob", "keep")
    assert [c["id"] for c in loaded.list_queue(status="escalated")] == [cid]
    assert loaded.export_decisions().empty  # escalated without a final decision: not a label
    loaded.decide(cid, "root", "keep")
    out = loaded.export_decisions()
    assert out[["id", "label", "action", "moderator"]].values.tolist() == [[cid, 0, "keep", "root"]]


def test_bad_action_or_reason_refused(loaded):
    cid = loaded.list_queue(limit=1)[0]["id"]
    with pytest.raises(ModerationError, match="unknown action"):
        loaded.decide(cid, "alice", "delete")
    with pytest.raises(ModerationError, match="unknown reason code"):
        loaded.decide(cid, "alice", "remove", "because")
    with pytest.raises(ModerationError, match="no such comment"):
        loaded.decide("nope", "alice", "remove")
    assert _decision_count(loaded) == 0


def test_history_viewer_rules(loaded):
    a, b = [c["id"] for c in loaded.list_queue(limit=2)]
    loaded.decide(a, "alice", "remove")
    loaded.decide(b, "bob", "keep")
    assert [r["comment_id"] for r in loaded.history(viewer="alice")] == [a]
    assert [r["comment_id"] for r in loaded.history(viewer="root")] == [b, a]
    assert loaded.history(comment_id=b, viewer="alice") == []
    assert [r["moderator"] for r in loaded.history(moderator="bob", viewer="root")] == ["bob"]


# -- export and stats --------------------------------------------------------------------
def _decide_by_label(store, n_per_class=12):
    """Alice removes the labelled-abusive and keeps the rest, n per class, from the pending queue."""
    labels = dict(pd.read_csv(store_labelled())[["id", "label"]].values.tolist())
    counts = {0: 0, 1: 0}
    for c in store.list_queue(status="pending", limit=1000):
        y = labels[c["id"]]
        if counts[y] < n_per_class:
            store.decide(c["id"], "alice", "remove" if y else "keep", "harassment" if y else None)
            counts[y] += 1
    return counts


def store_labelled():
    return LABELLED


def test_export_trains_a_model(store, small_model, tmp_path):
    store.add_scored(scored_frame(small_model), all_rows=True, model=small_model)
    assert _decide_by_label(store) == {0: 12, 1: 12}
    out = store.export_decisions()
    assert list(out.columns) == ["id", "text", "label", "action", "reason_code", "moderator", "decided_at", "source"]
    assert len(out) == 24 and sorted(out["label"].value_counts().to_dict().items()) == [(0, 12), (1, 12)]
    assert set(out.loc[out["label"] == 1, "action"]) == {"remove"}
    path = tmp_path / "decisions.csv"
    with TableWriter(path) as w:
        w.write(out)
    from moderation.labels import read_labelled_set

    labelled = read_labelled_set(path)
    texts, labels = labelled.texts, labelled.labels
    model = moderation.train(texts, labels)
    assert 0 < model.threshold < 1 and len(model.score(["you idiot"])) == 1


def test_export_later_decision_wins(loaded):
    cid = loaded.list_queue(limit=1)[0]["id"]
    loaded.decide(cid, "alice", "remove")
    loaded.decide(cid, "root", "keep")  # admin override
    out = loaded.export_decisions()
    assert out[["id", "label", "moderator"]].values.tolist() == [[cid, 0, "root"]]
    assert _decision_count(loaded) == 2


def test_stats_precision_by_category(store):
    frame = pd.DataFrame({"id": list("abcde"), "text": list("abcde"), "score": [0.9, 0.8, 0.7, 0.6, 0.3],
                          "flag": [True] * 5, "insult": [0.9, 0.9, 0.1, 0.1, 0.1],
                          "threat": [0.1, 0.1, 0.9, 0.9, 0.9]})
    store.add_scored(frame, threshold=0.5)
    store.decide("a", "alice", "remove")
    store.decide("b", "alice", "keep")
    store.decide("c", "alice", "remove")
    store.decide("e", "alice", "keep")  # below the threshold: not counted as flagged
    s = store.stats()
    assert (s["pending"], s["decided"], s["removed"], s["kept"], s["total"]) == (1, 4, 2, 2, 5)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["by_category"] == {
        "insult": {"decided": 2, "flagged": 2, "removed": 1, "precision": 0.5},
        "threat": {"decided": 2, "flagged": 1, "removed": 1, "precision": 1.0},
    }


# -- moderators ----------------------------------------------------------------------------
def test_passwords_and_tokens(store):
    h = accounts.hash_password("correct horse")
    assert h.startswith("scrypt$16384$8$1$") and "correct" not in h
    assert accounts.hash_password("correct horse") != h  # random salt
    assert accounts.verify_password("correct horse", h) and not accounts.verify_password("wrong", h)
    assert store.authenticate("alice", "alice-password")["name"] == "alice"
    assert store.authenticate("alice", "bob-password") is None
    assert store.authenticate("nobody", "whatever") is None
    with pytest.raises(ModerationError, match="already exists"):
        store.add_moderator("alice", "another-password")
    with pytest.raises(ModerationError, match="at least 12 characters"):
        store.add_moderator("carol", "eleven-char")
    with pytest.raises(ModerationError, match="at least 12"):
        store.add_moderator("carol", "short")
    token = store.new_token("bob")
    assert store.moderator_for_token(token)["name"] == "bob"
    assert store.moderator_for_token(store.new_token("bob"))["name"] == "bob"
    assert store.moderator_for_token(token) is None  # replaced
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash, password_hash FROM moderators WHERE name='bob'")).one()
    assert token not in stored[0] and "bob-password" not in stored[1]

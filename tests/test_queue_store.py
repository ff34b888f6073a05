"""The queue store: idempotent loading, claims, the append-only decision log, undo, export, stats.

Every test takes the ``db_url`` fixture; tests/test_queue_postgres.py reruns them
against a real PostgreSQL server by overriding it.
"""

from __future__ import annotations

import threading

import pandas as pd
import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import func, select, text  # noqa: E402

import moderation  # noqa: E402
from moderation.errors import ModerationError  # noqa: E402
from moderation.io import TableWriter  # noqa: E402
from moderation.queue import store as st  # noqa: E402
from moderation.queue.store import ClaimConflict, open_store, resolve_db_url  # noqa: E402
from queue_fixtures import scored_frame, tiny_model, tiny_model_dir  # noqa: E402,F401


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
def loaded(store, tiny_model):
    frame = scored_frame(tiny_model)
    store.add_scored(frame, model=tiny_model)
    return store


def _decision_count(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(st.decisions)).scalar()


# -- schema ---------------------------------------------------------------------------
def test_migrations_are_versioned_and_run_once(db_url):
    s = open_store(db_url)
    assert s.version == len(st.MIGRATIONS) == 1
    s.close()
    s = open_store(db_url)  # reopening applies nothing new
    with s.engine.connect() as conn:
        assert conn.execute(select(st.schema_version.c.version)).scalars().all() == [1]
    s.close()


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


# -- loading ----------------------------------------------------------------------------
def test_add_scored_is_idempotent(store, tiny_model):
    frame = scored_frame(tiny_model)
    flagged = int(frame["flag"].sum())
    first = store.add_scored(frame, model=tiny_model)
    assert (first.added, first.skipped, first.unflagged) == (flagged, 0, len(frame) - flagged)
    second = store.add_scored(frame, model=tiny_model)
    assert (second.added, second.skipped) == (0, flagged)
    assert store.stats()["pending"] == flagged


def test_add_scored_from_file_all_and_min_score(store, tiny_model, tmp_path):
    frame = scored_frame(tiny_model)
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)  # flag becomes the strings True/False
    r = store.add_scored(path, min_score=0.9)
    assert r.added == int((frame["score"] >= 0.9).sum())
    r = store.add_scored(path, all_rows=True)
    assert r.added + r.skipped == len(frame) and r.unflagged == 0
    c = store.comment(str(frame["id"][0]))
    assert c["source"] == "scored.csv" and c["model_version"] == "unknown"


def test_add_scored_records_model_spans_and_threshold(store, tiny_model):
    frame = scored_frame(tiny_model, extra=[("x1", "you stupid idiot")])
    frame.loc[frame["id"] == "x1", "flag"] = True
    store.add_scored(frame, model=tiny_model)
    c = store.comment("x1")
    assert c["threshold"] == pytest.approx(tiny_model.threshold)
    assert c["model_version"] == tiny_model.card["file"]["sha256"][:12]
    expected = [list(s) for s in tiny_model.explain("you stupid idiot")]
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
    d1 = loaded.decide(cid, "alice", "remove", "insult")
    assert loaded.comment(cid)["status"] == "removed" and loaded.comment(cid)["claimed_by"] is None
    with pytest.raises(ClaimConflict):
        loaded.decide(cid, "bob", "keep")  # decided: only an admin overrides
    undone = loaded.undo_last("alice")
    assert undone == {"comment_id": cid, "undid": "remove", "status": "pending"}
    assert loaded.comment(cid)["claimed_by"] is not None  # back in alice's hands
    loaded.decide(cid, "alice", "keep", "fair")
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
    with pytest.raises(ModerationError, match="unknown reason"):
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
            store.decide(c["id"], "alice", "remove" if y else "keep", "insult" if y else None)
            counts[y] += 1
    return counts


def store_labelled():
    from queue_fixtures import LABELLED

    return LABELLED


def test_export_trains_a_model(store, tiny_model, tmp_path):
    store.add_scored(scored_frame(tiny_model), all_rows=True, model=tiny_model)
    assert _decide_by_label(store) == {0: 12, 1: 12}
    out = store.export_decisions()
    assert list(out.columns) == ["id", "text", "label", "action", "reason", "moderator", "decided_at"]
    assert len(out) == 24 and sorted(out["label"].value_counts().to_dict().items()) == [(0, 12), (1, 12)]
    assert set(out.loc[out["label"] == 1, "action"]) == {"remove"}
    path = tmp_path / "decisions.csv"
    with TableWriter(path) as w:
        w.write(out)
    from moderation.training import read_labelled

    texts, labels = read_labelled(path)
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
    h = st.hash_password("correct horse")
    assert h.startswith("scrypt$16384$8$1$") and "correct" not in h
    assert st.hash_password("correct horse") != h  # random salt
    assert st.verify_password("correct horse", h) and not st.verify_password("wrong", h)
    assert store.authenticate("alice", "alice-password")["name"] == "alice"
    assert store.authenticate("alice", "bob-password") is None
    assert store.authenticate("nobody", "whatever") is None
    with pytest.raises(ModerationError, match="already exists"):
        store.add_moderator("alice", "another-password")
    with pytest.raises(ModerationError, match="at least 8"):
        store.add_moderator("carol", "short")
    token = store.new_token("bob")
    assert store.moderator_for_token(token)["name"] == "bob"
    assert store.moderator_for_token(store.new_token("bob"))["name"] == "bob"
    assert store.moderator_for_token(token) is None  # replaced
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash, password_hash FROM moderators WHERE name='bob'")).one()
    assert token not in stored[0] and "bob-password" not in stored[1]

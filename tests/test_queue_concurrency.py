"""Decisions stay right under concurrent use, on SQLite and on PostgreSQL (``postgres`` marker).

Each round starts two requests at once (a barrier releases both threads) against
the same store, as two web workers would:

* a moderator's double-submitted undo undoes one decision, once: no decision
  gets two undo rows and no older decision is undone by the second request;
* a moderator's undo racing an admin's decision on the same comment leaves the
  comment's stored status equal to what the audit log says;
* a bulk action naming an unknown comment decides nothing (all or nothing).
"""

from __future__ import annotations

import threading
from collections import Counter

import pandas as pd
import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy")

from sqlalchemy import select  # noqa: E402

from moderation.errors import ModerationError  # noqa: E402
from moderation.queue import schema as st  # noqa: E402
from moderation.queue.store import ClaimConflict, open_store  # noqa: E402
from conftest import fresh_postgres_url  # noqa: E402

ROUNDS = 100
STATUS = {"remove": "removed", "keep": "kept", "escalate": "escalated"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}" if request.param == "sqlite" else fresh_postgres_url()
    s = open_store(url)
    s.add_moderator("alice", "alice-password")
    s.add_moderator("root", "root-password", is_admin=True)
    n = 2 * ROUNDS
    s.add_scored(pd.DataFrame({"id": [f"c{i:03d}" for i in range(n)], "text": [f"comment {i}" for i in range(n)],
                               "score": [0.9] * n, "flag": [True] * n}), threshold=0.5)
    yield s
    s.close()


def together(*calls):
    """Run the calls at the same moment in threads; their results (a raised ClaimConflict counts as one)."""
    barrier = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            out[i] = call()
        except ClaimConflict as e:
            out[i] = e

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def log_rows(store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(st.decisions).order_by(st.decisions.c.id)).mappings()]


def status_disagreements(store) -> list[tuple[str, str, str]]:
    """(comment, stored status, status by the log) wherever they differ; read straight from the tables."""
    rows = log_rows(store)
    undone = {r["undoes"] for r in rows if r["action"] == "undo"}
    by_log: dict[str, str] = {}
    for r in rows:
        if r["action"] != "undo" and r["id"] not in undone:
            by_log[r["comment_id"]] = STATUS[r["action"]]
    with store.engine.connect() as conn:
        stored = dict(conn.execute(select(st.comments.c.id, st.comments.c.status)).all())
    return [(cid, s, by_log.get(cid, "pending")) for cid, s in sorted(stored.items())
            if s != by_log.get(cid, "pending")]


def test_a_double_submitted_undo_undoes_one_decision_once(store):
    firsts, seconds = [], []
    for i in range(ROUNDS):
        older, latest = f"c{2 * i:03d}", f"c{2 * i + 1:03d}"
        firsts.append(store.decide(older, "alice", "remove"))
        seconds.append(store.decide(latest, "alice", "keep"))
        together(lambda: store.undo_last("alice"), lambda: store.undo_last("alice"))
    undos = Counter(r["undoes"] for r in log_rows(store) if r["action"] == "undo")
    twice = sum(1 for n in undos.values() if n > 1)
    older_undone = sum(1 for d in firsts if undos[d])
    latest_undone = sum(1 for d in seconds if undos[d])
    assert (twice, older_undone, latest_undone) == (0, 0, ROUNDS), (
        f"{twice} decisions got two undo rows, {older_undone} older decisions were undone by the second request, "
        f"{latest_undone} of {ROUNDS} latest decisions were undone")
    assert status_disagreements(store) == []


def test_an_undo_racing_an_admins_decision_leaves_status_equal_to_the_log(store):
    for i in range(ROUNDS):
        cid = f"c{i:03d}"
        store.decide(cid, "alice", "remove")
        together(lambda: store.undo_last("alice"), lambda: store.decide(cid, "root", "keep"))
    wrong = status_disagreements(store)
    assert wrong == [], f"{len(wrong)} of {ROUNDS} comments' stored status disagrees with the log: {wrong[:5]}"


def test_a_bulk_action_with_an_unknown_id_decides_nothing(store):
    ids = ["c000", "c001", "no-such-comment", "c002"]
    with pytest.raises(ModerationError, match="no such comment: no-such-comment"):
        store.decide_many(ids, "alice", "remove")
    assert log_rows(store) == []
    assert [store.comment(i)["status"] for i in ("c000", "c001", "c002")] == ["pending"] * 3

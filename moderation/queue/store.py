"""The review queue's store: comments to review, claims on them, and an append-only log of decisions.

``Store`` combines the accounts (``accounts.Accounts``: moderators, tokens,
sessions, login throttling), loading scored tables (``ingest.Ingest``) and the
queue itself (here: listing, claiming, deciding, undoing, history, authors,
articles, export, stats) over one database (``schema``).

Decisions are never updated or deleted: an undo is a new row pointing at the
decision it cancels, and changing a decision appends a new one. A comment's
status is derived from its latest decision that has not been undone, and so is
its label in ``export_decisions``. Every change of status and its log rows are
written in one transaction that holds the comment's row lock (``FOR UPDATE`` on
PostgreSQL, the database's write lock taken at ``BEGIN IMMEDIATE`` on SQLite),
and the decision is re-checked under that lock, so the stored status always
equals what the log says, however requests interleave.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from ..categories import CATEGORIES, REASON_CODES
from ..errors import ModerationError
from .accounts import Accounts
from .ingest import Ingest, storable
from .schema import (WRITES, as_utc, batches, comments, decisions, iso, make_engine, migrate, moderators,
                     resolve_db_url, utc_now)

__all__ = ["Store", "open_store", "export_decisions", "ClaimConflict", "NotAllowed", "Bulk", "ACTIONS", "STATUSES",
           "SORTS", "CLAIM_TTL", "NOTE_MAX"]

CLAIM_TTL = 600  # seconds a moderator holds the comments they are viewing
ACTIONS = ("remove", "keep", "escalate")
STATUS_FOR_ACTION = {"remove": "removed", "keep": "kept", "escalate": "escalated"}
STATUSES = ("pending", "removed", "kept", "escalated")
SORTS = ("score", "uncertainty", "newest")
NOTE_MAX = 2000  # characters in a decision's note


class ClaimConflict(ModerationError):
    """Another moderator holds the claim on the comment, or it was already decided."""


class NotAllowed(ModerationError):
    """Not this moderator's to do: an admin's action, or another moderator's decision."""


@dataclass
class Bulk:
    """What a bulk action did: the comments decided and refused (held or decided by others), in one batch."""

    decided: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    batch_id: int | None = None
    first_decision: int | None = None


class Store(Accounts, Ingest):
    """The queue database at ``url``. Every method runs in its own transaction, committed before it returns."""

    def __init__(self, url: str | None = None, *, claim_ttl: int = CLAIM_TTL):
        self.url = resolve_db_url(url)
        self.engine = make_engine(self.url)
        self._writer = self.engine.execution_options(**{WRITES: True})
        self.claim_ttl = claim_ttl
        try:
            self.version = migrate(self.engine)
        except ModerationError:
            raise
        except Exception as e:
            if type(e).__module__.startswith("sqlalchemy"):
                msg = str(getattr(e, "orig", e)).strip().splitlines()[0]
                raise ModerationError(f"cannot open the queue database {self.engine.url!r}: {msg}") from None
            raise

    def transaction(self):
        """A transaction that writes: on SQLite it holds the write lock from its first statement."""
        return self._writer.begin()

    def close(self) -> None:
        self.engine.dispose()

    # -- reading comments -------------------------------------------------------
    def comment(self, comment_id: str) -> dict | None:
        """The comment with its context (the parent's text from the queue when the dump had none)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(comments).where(comments.c.id == str(comment_id))).mappings().first()
            return _with_context(conn, [row])[0] if row else None

    @staticmethod
    def _filtered(query, status, category=None, source=None, article=None, author=None):
        for column, value in ((comments.c.status, status), (comments.c.top_category, category),
                              (comments.c.source, source), (comments.c.article_id, article),
                              (comments.c.author, author)):
            if value:
                query = query.where(column == value)
        return query

    @staticmethod
    def _order(query, sort: str):
        if sort == "uncertainty":
            return query.order_by(comments.c.uncertainty.asc(), comments.c.score.desc(), comments.c.id)
        if sort == "newest":
            return query.order_by(func.coalesce(comments.c.created_at, comments.c.added_at).desc(), comments.c.id)
        if sort != "score":
            raise ModerationError(f"unknown sort {sort!r} (use {', '.join(SORTS)})")
        return query.order_by(comments.c.score.desc(), comments.c.id)

    def list_queue(self, *, status: str | None = "pending", sort: str = "score", category: str | None = None,
                   source: str | None = None, article: str | None = None, author: str | None = None,
                   limit: int = 50, offset: int = 0) -> list[dict]:
        """Comments with ``status`` (None: any), in ``sort`` order (``SORTS``); no claims taken."""
        query = self._order(self._filtered(select(comments), status, category, source, article, author), sort)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
            return _with_context(conn, rows)

    def count(self, *, status: str | None = "pending", category: str | None = None, source: str | None = None,
              article: str | None = None, author: str | None = None) -> int:
        """How many comments ``list_queue`` would list with these filters and no limit."""
        query = self._filtered(select(func.count()).select_from(comments), status, category, source, article,
                               author)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def sources(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(comments.c.source).distinct().order_by(comments.c.source)).scalars())

    def categories(self) -> list[str]:
        with self.engine.connect() as conn:
            found = set(conn.execute(select(comments.c.top_category).distinct()).scalars())
        return [c for c in CATEGORIES if c in found] + sorted(c for c in found if c and c not in CATEGORIES)

    def pending_by_category(self) -> dict[str, int]:
        """Pending comments per top category, the model's categories first ("" for comments without one)."""
        with self.engine.connect() as conn:
            counts = dict(conn.execute(select(comments.c.top_category, func.count())
                                       .where(comments.c.status == "pending")
                                       .group_by(comments.c.top_category)).all())
        order = [c for c in CATEGORIES if c in counts] + sorted(c for c in counts if c and c not in CATEGORIES)
        out = {c: counts[c] for c in order}
        if None in counts:
            out[""] = counts[None]
        return out

    # -- claims -------------------------------------------------------------
    def claim_next(self, moderator: str | int, *, limit: int = 20, sort: str = "score", status: str = "pending",
                   category: str | None = None, source: str | None = None, article: str | None = None,
                   author: str | None = None, ttl: int | None = None) -> list[dict]:
        """Claim the first ``limit`` comments of this view of the queue for ``moderator``; return them in order.

        "A moderator claims what they view": the view's top comments that are
        unclaimed, claimed by this moderator, or whose claim expired are taken
        with a compare-and-set update (so two moderators never hold the same
        comment, on SQLite or PostgreSQL), and the moderator's other claims are
        released, so changing the sort or filters does not hoard comments.
        """
        m = self._require_moderator(moderator)
        ttl = self.claim_ttl if ttl is None else ttl
        now = utc_now()
        expires = now + _dt.timedelta(seconds=ttl)
        base = self._filtered(select(comments.c.id), status, category, source, article, author)
        available = ((comments.c.claimed_by.is_(None)) | (comments.c.claim_expires < now)
                     | (comments.c.claimed_by == m["id"]))
        held: list[str] = []
        # Rounds until full: a candidate another moderator took meanwhile is no longer available, so the
        # next round asks for others (capped in case claims expire as fast as they are taken, ttl <= 0).
        for _ in range(50):
            if len(held) >= limit:
                break
            query = base.where(available)
            if held:
                query = query.where(comments.c.id.not_in(held))
            with self.engine.connect() as conn:
                candidates = list(conn.execute(self._order(query, sort).limit(2 * (limit - len(held)))).scalars())
            if not candidates:
                break
            for cid in candidates:
                if len(held) < limit and self._try_claim(cid, m["id"], expires, now, status):
                    held.append(cid)
        with self.transaction() as conn:
            release = update(comments).where(comments.c.claimed_by == m["id"])
            if held:
                release = release.where(comments.c.id.not_in(held))
            conn.execute(release.values(claimed_by=None, claim_expires=None))
        if not held:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(self._order(select(comments).where(comments.c.id.in_(held)), sort)).mappings().all()
            return _with_context(conn, rows)

    def _try_claim(self, cid: str, moderator_id: int, expires, now, status: str = "pending") -> bool:
        with self.transaction() as conn:
            res = conn.execute(update(comments).where(
                comments.c.id == cid, comments.c.status == status,
                (comments.c.claimed_by.is_(None)) | (comments.c.claim_expires < now)
                | (comments.c.claimed_by == moderator_id))
                .values(claimed_by=moderator_id, claim_expires=expires))
            return res.rowcount == 1

    def claim(self, comment_ids: Iterable[str], moderator: str | int, *, ttl: int | None = None) -> list[str]:
        """Claim the given comments for ``moderator``; return the ids actually claimed (others hold the rest)."""
        m = self._require_moderator(moderator)
        now = utc_now()
        expires = now + _dt.timedelta(seconds=self.claim_ttl if ttl is None else ttl)
        got = []
        for cid in comment_ids:
            c = self.comment(cid)
            if c is not None and self._try_claim(str(cid), m["id"], expires, now, c["status"]):
                got.append(str(cid))
        return got

    def release(self, moderator: str | int) -> int:
        """Drop every claim ``moderator`` holds (on logout)."""
        m = self._require_moderator(moderator)
        with self.transaction() as conn:
            return conn.execute(update(comments).where(comments.c.claimed_by == m["id"])
                                .values(claimed_by=None, claim_expires=None)).rowcount

    # -- decisions ----------------------------------------------------------
    def decide(self, comment_id: str, moderator: str | int, action: str, reason_code: str | None = None,
               note: str | None = None) -> int:
        """Record ``action`` (remove, keep, escalate) on a comment; return the decision's id.

        A moderator decides a pending comment that nobody else holds a live claim
        on, or changes their own standing decision; an admin decides any comment.
        ``reason_code`` is one of ``REASON_CODES`` (the ground for a removal),
        ``note`` free text (why it is escalated). The log row and the comment's
        new status are committed together, under the comment's row lock.
        """
        reason_code, note = _check_decision(action, reason_code, note)
        m = self._require_moderator(moderator)
        with self.transaction() as conn:
            row = self._lock_comments(conn, [str(comment_id)]).get(str(comment_id))
            if row is None:
                raise ModerationError(f"no such comment: {comment_id}")
            refusal = _refusal(conn, row, m, utc_now())
            if refusal:
                raise ClaimConflict(refusal)
            return _record(conn, row, m["id"], action, reason_code, note, None, utc_now())

    def record_feedback(self, comment: dict, moderator: str | int, action: str,
                        reason_code: str | None = None) -> tuple[str, int]:
        """Record a decision a client's moderators made elsewhere; return (comment id, decision id).

        For ``comments:suggestscore``: ``comment`` holds ``add_comment``'s arguments
        (``comment_id``, ``text``, ``score``, ...) and is added if it is new. Unlike
        ``decide``, neither claims nor the comment's status stop it: the decision
        is appended and sets the status (under the comment's row lock, as every
        decision), so the client's latest word wins in the export. An id already
        used for another text gets ``@`` and 12 hex digits of the text's sha256, so
        a decision never lands on a text it was not made on.
        """
        if action not in ("remove", "keep"):
            raise ModerationError(f"feedback is remove or keep, not {action!r}")
        reason_code, _ = _check_decision(action, reason_code, None)
        m = self._require_moderator(moderator)
        fields = dict(comment)
        cid = fields.pop("comment_id")
        existing = self.comment(cid)
        if existing is not None and existing["text"] != storable(fields["text"]):
            digest = hashlib.sha256(storable(fields["text"]).encode("utf-8", "surrogatepass")).hexdigest()
            cid = f"{cid[:187]}@{digest[:12]}"
        self.add_comment(cid, **fields)
        with self.transaction() as conn:
            row = self._lock_comments(conn, [cid])[cid]
            did = _record(conn, row, m["id"], action, reason_code, None, None, utc_now())
        return cid, did

    def decide_many(self, comment_ids: Iterable[str], moderator: str | int, action: str,
                    reason_code: str | None = None, note: str | None = None) -> Bulk:
        """One bulk action: decide every comment that ``decide`` would allow, in one transaction and one batch.

        All or nothing for what the request names: an unknown id decides nothing.
        Comments others hold or decided are refused (and listed), not an error.
        """
        reason_code, note = _check_decision(action, reason_code, note)
        m = self._require_moderator(moderator)
        ids = list(dict.fromkeys(str(i) for i in comment_ids))
        with self.transaction() as conn:
            return self._decide_batch(conn, ids, m, action, reason_code, note, "selection")

    def remove_pending_by_author(self, author: str, moderator: str | int, reason_code: str | None = None,
                                 note: str | None = None) -> Bulk:
        """An admin's bulk action: remove every pending comment by ``author``, as one batch (undone as one)."""
        reason_code, note = _check_decision("remove", reason_code, note)
        m = self._require_moderator(moderator)
        if not m["is_admin"]:
            raise NotAllowed("only an admin removes all of an author's comments at once")
        with self.transaction() as conn:
            ids = list(conn.execute(select(comments.c.id).where(comments.c.author == author,
                                                                comments.c.status == "pending")
                                    .order_by(comments.c.id)).scalars())
            if not ids:
                raise ModerationError(f"no pending comments by {author}")
            return self._decide_batch(conn, ids, m, "remove", reason_code, note, f"author {author}"[:300])

    def _decide_batch(self, conn: Connection, ids: list[str], m: dict, action: str, reason_code, note,
                      scope: str) -> Bulk:
        rows = self._lock_comments(conn, ids)
        unknown = [i for i in ids if i not in rows]
        if unknown:
            raise ModerationError(f"no such comment: {unknown[0]}" + (f" (and {len(unknown) - 1} more)"
                                                                      if len(unknown) > 1 else ""))
        now = utc_now()
        out = Bulk()
        for cid in ids:
            if _refusal(conn, rows[cid], m, now):
                out.refused.append(cid)
                continue
            if out.batch_id is None:
                out.batch_id = conn.execute(insert(batches).values(moderator_id=m["id"], action=action, scope=scope,
                                                                   created_at=now)).inserted_primary_key[0]
            did = _record(conn, rows[cid], m["id"], action, reason_code, note, out.batch_id, now)
            out.first_decision = out.first_decision or did
            out.decided.append(cid)
        return out

    def _lock_comments(self, conn: Connection, ids: Sequence[str]) -> dict[str, Any]:
        """The comments' rows by id, locked until the transaction ends (always in id order: no deadlocks)."""
        found: dict[str, Any] = {}
        ordered = sorted(set(ids))
        for part in _chunks(ordered):
            query = select(comments).where(comments.c.id.in_(part)).order_by(comments.c.id).with_for_update()
            found.update({r["id"]: r for r in conn.execute(query).mappings()})
        return found

    def undo(self, decision_id: int, moderator: str | int) -> dict | None:
        """Undo a decision, or the whole bulk action it belongs to; None if it is undone already.

        One's own decisions, or anyone's for an admin. Refused (``ClaimConflict``)
        when someone decided the comment since. The comment goes back to its
        previous standing decision's status, or to pending, claimed by whoever undid it.
        """
        m = self._require_moderator(moderator)
        try:
            decision_id = int(decision_id)
        except (TypeError, ValueError):
            raise ModerationError(f"no such decision: {decision_id}") from None
        with self.transaction() as conn:
            return self._undo_locked(conn, decision_id, m)

    def undo_last(self, moderator: str | int) -> dict | None:
        """Undo ``moderator``'s latest decision (or bulk action); None when their latest act was an undo.

        One level: a second undo, a double submit included, finds the undo and
        does nothing, so it never reaches further back. Older decisions are
        changed or undone from the comment page.
        """
        m = self._require_moderator(moderator)
        with self.transaction() as conn:
            # one moderator's undos one after the other (on SQLite the write lock already does this)
            conn.execute(select(moderators.c.id).where(moderators.c.id == m["id"]).with_for_update())
            last = conn.execute(select(decisions.c.id, decisions.c.action).where(decisions.c.moderator_id == m["id"])
                                .order_by(decisions.c.id.desc()).limit(1)).mappings().first()
            if last is None or last["action"] == "undo":
                return None
            return self._undo_locked(conn, last["id"], m)

    def last_undoable(self, moderator: str | int) -> int | None:
        """The decision ``undo_last`` would undo now (pages carry it, so a double submit undoes it once)."""
        m = self._require_moderator(moderator)
        with self.engine.connect() as conn:
            last = conn.execute(select(decisions.c.id, decisions.c.action).where(decisions.c.moderator_id == m["id"])
                                .order_by(decisions.c.id.desc()).limit(1)).mappings().first()
        return last["id"] if last and last["action"] != "undo" else None

    def _undo_locked(self, conn: Connection, decision_id: int, m: dict) -> dict | None:
        target = conn.execute(select(decisions).where(decisions.c.id == decision_id)).mappings().first()
        if target is None or target["action"] == "undo":
            raise ModerationError(f"no such decision to undo: {decision_id}")
        if target["moderator_id"] != m["id"] and not m["is_admin"]:
            raise NotAllowed("only an admin undoes another moderator's decision")
        members = [target]
        if target["batch_id"] is not None:
            members = conn.execute(select(decisions).where(decisions.c.batch_id == target["batch_id"],
                                                           decisions.c.action != "undo")
                                   .order_by(decisions.c.id)).mappings().all()
        rows = self._lock_comments(conn, [d["comment_id"] for d in members])
        now = utc_now()
        undone, superseded = [], 0
        for d in members:
            history = _log_of(conn, d["comment_id"])
            if any(r["undoes"] == d["id"] for r in history):
                continue
            standing = _standing(history)
            if not standing or standing[0]["id"] != d["id"]:
                superseded += 1
                continue
            status = STATUS_FOR_ACTION[standing[1]["action"]] if len(standing) > 1 else "pending"
            conn.execute(insert(decisions).values(
                comment_id=d["comment_id"], moderator_id=m["id"], action="undo", undoes=d["id"], decided_at=now,
                score_at_decision=rows[d["comment_id"]]["score"]))
            pending = status == "pending"
            conn.execute(update(comments).where(comments.c.id == d["comment_id"]).values(
                status=status, claimed_by=m["id"] if pending else None,
                claim_expires=now + _dt.timedelta(seconds=self.claim_ttl) if pending else None))
            undone.append((d["comment_id"], status))
        if not undone:
            if superseded:
                raise ClaimConflict(f"comment {target['comment_id']} was decided again since; cannot undo")
            return None
        return {"comment_id": undone[0][0], "undid": target["action"], "status": undone[0][1],
                "comment_ids": [c for c, _ in undone], "skipped": superseded}

    def decision(self, decision_id: int) -> dict | None:
        """One decision (id, comment_id, moderator_id, action, batch_id, ...), with ``count``: its bulk action's size."""
        with self.engine.connect() as conn:
            row = conn.execute(select(decisions).where(decisions.c.id == int(decision_id))).mappings().first()
            if row is None:
                return None
            count = 1
            if row["batch_id"] is not None:
                count = conn.execute(select(func.count()).select_from(decisions).where(
                    decisions.c.batch_id == row["batch_id"], decisions.c.action != "undo")).scalar()
        return {**dict(row), "decided_at": iso(row["decided_at"]), "count": count}

    # -- history ------------------------------------------------------------
    def _decisions_query(self):
        return (select(decisions.c.id, decisions.c.comment_id, moderators.c.name.label("moderator"),
                       decisions.c.moderator_id, decisions.c.action, decisions.c.reason_code, decisions.c.note,
                       decisions.c.undoes, decisions.c.batch_id, decisions.c.decided_at,
                       decisions.c.score_at_decision, comments.c.text, comments.c.author, comments.c.source)
                .join(moderators, moderators.c.id == decisions.c.moderator_id)
                .join(comments, comments.c.id == decisions.c.comment_id))

    def history(self, *, comment_id: str | None = None, moderator: str | None = None, author: str | None = None,
                article: str | None = None, viewer: str | int | None = None, limit: int = 200) -> list[dict]:
        """Decisions, newest first, for a comment, a moderator, an author's comments and/or an article's.

        With ``viewer``, a non-admin sees only their own decisions; an admin sees everyone's.
        """
        query = self._decisions_query()
        for column, value in ((decisions.c.comment_id, comment_id), (moderators.c.name, moderator),
                              (comments.c.author, author), (comments.c.article_id, article)):
            if value is not None:
                query = query.where(column == str(value))
        if viewer is not None:
            v = self._require_moderator(viewer)
            if not v["is_admin"]:
                query = query.where(decisions.c.moderator_id == v["id"])
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(decisions.c.id.desc()).limit(limit)).mappings().all()
            undone = set(conn.execute(select(decisions.c.undoes).where(
                decisions.c.undoes.in_([r["id"] for r in rows]))).scalars()) if rows else set()
        return [{**dict(r), "decided_at": iso(r["decided_at"]), "undone": r["id"] in undone} for r in rows]

    # -- authors and articles -------------------------------------------------
    def author(self, name: str) -> dict | None:
        """An author's record in the queue: comments by status, removal rate, first and last seen; None if unknown.

        The removal rate is removed / (removed + kept); seen is when their comments
        were posted (or loaded, for dumps without that column).
        """
        seen = func.coalesce(comments.c.created_at, comments.c.added_at)
        with self.engine.connect() as conn:
            counts = dict(conn.execute(select(comments.c.status, func.count()).where(comments.c.author == name)
                                       .group_by(comments.c.status)).all())
            if not counts:
                return None
            first, last = conn.execute(select(func.min(seen), func.max(seen)).where(comments.c.author == name)).one()
        decided = counts.get("removed", 0) + counts.get("kept", 0)
        return {"name": name, "counts": {s: counts.get(s, 0) for s in STATUSES}, "total": sum(counts.values()),
                "removal_rate": counts.get("removed", 0) / decided if decided else None,
                "first_seen": _iso_any(first), "last_seen": _iso_any(last)}

    def article(self, article_id: str) -> dict | None:
        """An article's title, URL and comments by status; None if no comment in the queue is on it."""
        with self.engine.connect() as conn:
            counts = dict(conn.execute(select(comments.c.status, func.count())
                                       .where(comments.c.article_id == article_id)
                                       .group_by(comments.c.status)).all())
            if not counts:
                return None
            title, url = conn.execute(select(func.max(comments.c.article_title), func.max(comments.c.article_url))
                                      .where(comments.c.article_id == article_id)).one()
        return {"id": article_id, "title": title, "url": url, "counts": {s: counts.get(s, 0) for s in STATUSES},
                "total": sum(counts.values())}

    # -- export and stats ---------------------------------------------------
    def export_decisions(self) -> pd.DataFrame:
        """Every decided comment as ``id,text,label,action,reason_code,moderator,decided_at,source``.

        The label is 1 for remove and 0 for keep; a comment's latest decision that
        was not undone wins; comments whose standing decision is escalate (no final
        word yet) are left out. ``source`` is where the comment came from (a scored
        file's name, or ``perspective:CLIENT`` for a Perspective client's comments).
        ``moderation train`` accepts the table as is.
        """
        query = self._decisions_query().order_by(decisions.c.comment_id, decisions.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        latest = _standing_by_comment(rows)
        out = [{"id": d["comment_id"], "text": d["text"], "label": 1 if d["action"] == "remove" else 0,
                "action": d["action"], "reason_code": d["reason_code"] or "", "moderator": d["moderator"],
                "decided_at": iso(d["decided_at"]), "source": d["source"]}
               for d in sorted(latest.values(), key=lambda d: d["id"]) if d["action"] in ("remove", "keep")]
        columns = ["id", "text", "label", "action", "reason_code", "moderator", "decided_at", "source"]
        frame = pd.DataFrame(out, columns=columns)
        frame["label"] = frame["label"].astype(int)
        return frame

    def status_disagreements(self) -> list[tuple[str, str, str]]:
        """(comment, stored status, status by the audit log) for every comment where they differ: none, ever."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(decisions.c.id, decisions.c.comment_id, decisions.c.action,
                                       decisions.c.undoes)).mappings().all()
            stored = dict(conn.execute(select(comments.c.id, comments.c.status)).all())
        by_log = {cid: STATUS_FOR_ACTION[d["action"]] for cid, d in _standing_by_comment(rows).items()}
        return [(cid, s, by_log.get(cid, "pending")) for cid, s in sorted(stored.items())
                if s != by_log.get(cid, "pending")]

    def stats(self) -> dict:
        """Queue counts and the model's precision against the moderators' final decisions, overall and by category.

        Precision: of the decided comments the model flagged (score ≥ the threshold
        recorded when they were loaded), the share moderators removed.
        """
        with self.engine.connect() as conn:
            counts = dict(conn.execute(select(comments.c.status, func.count()).group_by(comments.c.status)).all())
            info = {r["id"]: r for r in conn.execute(select(comments.c.id, comments.c.score, comments.c.threshold,
                                                            comments.c.top_category)).mappings()}
        final = self.export_decisions()
        groups: dict[str, list[int]] = {"all": [0, 0, 0]}
        for cid, label in zip(final["id"], final["label"]):
            c = info[cid]
            flagged = c["score"] >= c["threshold"]
            for key in ("all", c["top_category"] or "none"):
                g = groups.setdefault(key, [0, 0, 0])  # decided, flagged, flagged and removed
                g[0] += 1
                g[1] += int(flagged)
                g[2] += int(flagged and label == 1)
        by = {k: {"decided": g[0], "flagged": g[1], "removed": g[2],
                  "precision": (g[2] / g[1]) if g[1] else None} for k, g in groups.items()}
        return {
            "pending": counts.get("pending", 0), "escalated": counts.get("escalated", 0),
            "removed": counts.get("removed", 0), "kept": counts.get("kept", 0),
            "decided": counts.get("removed", 0) + counts.get("kept", 0),
            "total": sum(counts.values()),
            "precision": by["all"]["precision"],
            "by_category": {k: v for k, v in by.items() if k != "all"},
        }


def _check_decision(action, reason_code, note) -> tuple[str | None, str | None]:
    """The reason code and note as stored (empty → None), or a one-line error for a bad action, code or note.

    A reason code is the ground for removing (or, escalating, the ground proposed):
    a keep decision has none, whatever the form's preselected code said.
    """
    if action not in ACTIONS:
        raise ModerationError(f"unknown action {action!r} (use {', '.join(ACTIONS)})")
    reason_code = reason_code or None
    if reason_code is not None and (not isinstance(reason_code, str) or reason_code not in REASON_CODES):
        raise ModerationError(f"unknown reason code {reason_code!r} (use {', '.join(REASON_CODES)})")
    if action == "keep":
        reason_code = None
    if note is not None and not isinstance(note, str):
        raise ModerationError("a note is text")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise ModerationError(f"a note is at most {NOTE_MAX} characters")
    return reason_code, note


def _refusal(conn: Connection, row, m: dict, now) -> str | None:
    """Why moderator ``m`` may not decide the (locked) comment ``row`` now, or None if they may."""
    if m["is_admin"]:
        return None
    if row["status"] == "pending":
        if (row["claimed_by"] not in (None, m["id"]) and as_utc(row["claim_expires"]) is not None
                and as_utc(row["claim_expires"]) >= now):
            return f"comment {row['id']} is being reviewed by another moderator"
        return None
    standing = _standing(_log_of(conn, row["id"]))
    if standing and standing[0]["moderator_id"] == m["id"]:
        return None  # changing one's own decision
    return f"comment {row['id']} is already {row['status']}"


def _record(conn: Connection, row, moderator_id: int, action: str, reason_code, note, batch_id, now) -> int:
    """Append the decision to the log and set the comment's status to match (the row is locked)."""
    did = conn.execute(insert(decisions).values(
        comment_id=row["id"], moderator_id=moderator_id, action=action, reason_code=reason_code, note=note,
        batch_id=batch_id, decided_at=now, score_at_decision=row["score"])).inserted_primary_key[0]
    conn.execute(update(comments).where(comments.c.id == row["id"])
                 .values(status=STATUS_FOR_ACTION[action], claimed_by=None, claim_expires=None))
    return did


def _log_of(conn: Connection, comment_id: str) -> list[dict]:
    """The comment's log rows, newest first."""
    return [dict(r) for r in conn.execute(select(decisions).where(decisions.c.comment_id == comment_id)
                                          .order_by(decisions.c.id.desc())).mappings()]


def _standing(rows: list[dict]) -> list[dict]:
    """Of a comment's log rows (newest first), its decisions still standing (not undo rows, not undone)."""
    undone = {r["undoes"] for r in rows if r["action"] == "undo"}
    return [r for r in rows if r["action"] != "undo" and r["id"] not in undone]


def _standing_by_comment(rows: Sequence[Any]) -> dict[str, dict]:
    """Per comment, its latest decision that is neither an undo nor undone."""
    undone = {r["undoes"] for r in rows if r["action"] == "undo"}
    latest: dict[str, dict] = {}
    for r in rows:
        if r["action"] == "undo" or r["id"] in undone:
            continue
        if r["comment_id"] not in latest or r["id"] > latest[r["comment_id"]]["id"]:
            latest[r["comment_id"]] = dict(r)
    return latest


def _chunks(seq: Sequence, n: int = 500) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _iso_any(value) -> str | None:
    """A datetime from an aggregate: SQLite hands back text for MIN/MAX over a COALESCE."""
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    return iso(value)


def _with_context(conn: Connection, rows: Sequence[Any]) -> list[dict]:
    """Comment rows as dicts, with the parent's text from the queue when the dump gave none, and for escalated
    comments the escalation (who, when, note)."""
    out = [_comment_dict(r) for r in rows]
    missing = {c["parent_id"] for c in out if c["parent_id"] and not c["parent_text"]}
    if missing:
        texts = dict(conn.execute(select(comments.c.id, comments.c.text).where(comments.c.id.in_(missing))).all())
        for c in out:
            if c["parent_id"] and not c["parent_text"]:
                c["parent_text"] = texts.get(c["parent_id"])
    escalated = [c["id"] for c in out if c["status"] == "escalated"]
    if escalated:
        rows = conn.execute(select(decisions.c.id, decisions.c.comment_id, decisions.c.action, decisions.c.undoes,
                                   decisions.c.note, decisions.c.decided_at, moderators.c.name)
                            .join(moderators, moderators.c.id == decisions.c.moderator_id)
                            .where(decisions.c.comment_id.in_(escalated))).mappings().all()
        for cid, d in _standing_by_comment(rows).items():
            if d["action"] == "escalate":
                next(c for c in out if c["id"] == cid)["escalation"] = {
                    "moderator": d["name"], "note": d["note"], "decided_at": iso(d["decided_at"])}
    return out


def _comment_dict(row) -> dict:
    d = dict(row)
    d["added_at"] = iso(d.get("added_at"))
    d["created_at"] = iso(d.get("created_at"))
    d["claim_expires"] = iso(d.get("claim_expires"))
    d["spans"] = d.get("spans") or []
    d["categories"] = d.get("categories") or {}
    d["escalation"] = None
    return d


def open_store(url: str | None = None, **options) -> Store:
    """Open (creating and migrating as needed) the queue database at ``url`` (see ``resolve_db_url``)."""
    return Store(url, **options)


def export_decisions(db: Store | str | None = None) -> pd.DataFrame:
    """``Store.export_decisions`` for a store or a database URL."""
    store = db if isinstance(db, Store) else open_store(db)
    return store.export_decisions()

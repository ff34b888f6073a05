"""The review queue's store: comments to review, claims on them, and an append-only log of decisions.

``Store`` combines the accounts (``accounts.Accounts``: moderators, tokens,
sessions), loading scored tables (``ingest.Ingest``) and the queue itself (here:
listing, claiming, deciding, undoing, history, export, stats) over one database
(``schema``).

Decisions are never updated or deleted: an undo is a new row pointing at the
decision it cancels. A comment's status is derived from its latest decision
that has not been undone, and so is its label in ``export_decisions``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from typing import Any, Iterable, Sequence

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from ..categories import CATEGORIES, REASON_CODES
from ..errors import ModerationError
from .accounts import Accounts
from .ingest import Ingest, storable
from .schema import as_utc, comments, decisions, iso, make_engine, migrate, moderators, resolve_db_url, utc_now

__all__ = ["Store", "open_store", "export_decisions", "ClaimConflict", "ACTIONS", "STATUSES", "CLAIM_TTL"]

CLAIM_TTL = 600  # seconds a moderator holds the comments they are viewing
ACTIONS = ("remove", "keep", "escalate")
STATUS_FOR_ACTION = {"remove": "removed", "keep": "kept", "escalate": "escalated"}
STATUSES = ("pending", "removed", "kept", "escalated")


class ClaimConflict(ModerationError):
    """Another moderator holds the claim on the comment, or it was already decided."""


class Store(Accounts, Ingest):
    """The queue database at ``url``. Every method runs in its own transaction, committed before it returns."""

    def __init__(self, url: str | None = None, *, claim_ttl: int = CLAIM_TTL):
        self.url = resolve_db_url(url)
        self.engine = make_engine(self.url)
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

    def close(self) -> None:
        self.engine.dispose()

    def comment(self, comment_id: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(comments).where(comments.c.id == str(comment_id))).mappings().first()
        return _comment_dict(row) if row else None

    def _filtered(self, query, status, category, source):
        if status:
            query = query.where(comments.c.status == status)
        if category:
            query = query.where(comments.c.top_category == category)
        if source:
            query = query.where(comments.c.source == source)
        return query

    @staticmethod
    def _order(query, sort: str):
        if sort == "uncertainty":
            return query.order_by(comments.c.uncertainty.asc(), comments.c.score.desc(), comments.c.id)
        if sort != "score":
            raise ModerationError(f"unknown sort {sort!r} (use score or uncertainty)")
        return query.order_by(comments.c.score.desc(), comments.c.id)

    def list_queue(self, *, status: str = "pending", sort: str = "score", category: str | None = None,
                   source: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
        """Comments with ``status``, highest score first or closest to the threshold first; no claims taken."""
        query = self._order(self._filtered(select(comments), status, category, source), sort)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [_comment_dict(r) for r in rows]

    def sources(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(comments.c.source).distinct().order_by(comments.c.source)).scalars())

    def categories(self) -> list[str]:
        with self.engine.connect() as conn:
            found = set(conn.execute(select(comments.c.top_category).distinct()).scalars())
        return [c for c in CATEGORIES if c in found] + sorted(c for c in found if c and c not in CATEGORIES)

    # -- claims -------------------------------------------------------------
    def claim_next(self, moderator: str | int, *, limit: int = 20, sort: str = "score", status: str = "pending",
                   category: str | None = None, source: str | None = None, ttl: int | None = None) -> list[dict]:
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
        base = self._filtered(select(comments.c.id), status, category, source)
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
        with self.engine.begin() as conn:
            release = update(comments).where(comments.c.claimed_by == m["id"])
            if held:
                release = release.where(comments.c.id.not_in(held))
            conn.execute(release.values(claimed_by=None, claim_expires=None))
        if not held:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(self._order(select(comments).where(comments.c.id.in_(held)), sort)).mappings().all()
        return [_comment_dict(r) for r in rows]

    def _try_claim(self, cid: str, moderator_id: int, expires, now, status: str = "pending") -> bool:
        with self.engine.begin() as conn:
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
        with self.engine.begin() as conn:
            return conn.execute(update(comments).where(comments.c.claimed_by == m["id"])
                                .values(claimed_by=None, claim_expires=None)).rowcount

    # -- decisions ----------------------------------------------------------
    def decide(self, comment_id: str, moderator: str | int, action: str, reason: str | None = None) -> int:
        """Record ``action`` (remove, keep, escalate) on a comment; return the decision's id.

        Moderators decide pending comments that nobody else holds a live claim on;
        only an admin decides escalated comments or overrides a decision. The log
        row and the comment's new status are committed together before returning.
        """
        if action not in ACTIONS:
            raise ModerationError(f"unknown action {action!r} (use {', '.join(ACTIONS)})")
        reason = reason or None
        if reason is not None and (not isinstance(reason, str) or reason not in REASON_CODES):  # a JSON list is unhashable
            raise ModerationError(f"unknown reason {reason!r} (use {', '.join(REASON_CODES)})")
        m = self._require_moderator(moderator)
        now = utc_now()
        with self.engine.begin() as conn:
            row = conn.execute(select(comments).where(comments.c.id == str(comment_id))).mappings().first()
            if row is None:
                raise ModerationError(f"no such comment: {comment_id}")
            held_by_other = (row["claimed_by"] not in (None, m["id"])
                             and as_utc(row["claim_expires"]) is not None and as_utc(row["claim_expires"]) >= now)
            if row["status"] != "pending" and not m["is_admin"]:
                raise ClaimConflict(f"comment {comment_id} is already {row['status']}")
            if held_by_other and not m["is_admin"]:
                raise ClaimConflict(f"comment {comment_id} is being reviewed by another moderator")
            # compare-and-set on the status we read, so two concurrent decisions cannot both win
            res = conn.execute(update(comments).where(comments.c.id == row["id"],
                                                      comments.c.status == row["status"])
                               .values(status=STATUS_FOR_ACTION[action], claimed_by=None, claim_expires=None))
            if res.rowcount != 1:
                raise ClaimConflict(f"comment {comment_id} was decided by someone else meanwhile")
            return conn.execute(insert(decisions).values(
                comment_id=row["id"], moderator_id=m["id"], action=action, reason=reason, decided_at=now,
                score_at_decision=row["score"])).inserted_primary_key[0]

    def record_feedback(self, comment: dict, moderator: str | int, action: str,
                        reason: str | None = None) -> tuple[str, int]:
        """Record a decision a client's moderators made elsewhere; return (comment id, decision id).

        For ``comments:suggestscore``: ``comment`` holds ``add_comment``'s arguments
        (``comment_id``, ``text``, ``score``, ...) and is added if it is new. Unlike
        ``decide``, neither claims nor the comment's status stop it: the decision
        is appended and sets the status, so the client's latest word wins in the
        export. An id already used for another text gets ``@`` and 12 hex digits of
        the text's sha256, so a decision never lands on a text it was not made on.
        """
        if action not in ("remove", "keep"):
            raise ModerationError(f"feedback is remove or keep, not {action!r}")
        if reason is not None and reason not in REASON_CODES:
            raise ModerationError(f"unknown reason {reason!r} (use {', '.join(REASON_CODES)})")
        m = self._require_moderator(moderator)
        fields = dict(comment)
        cid = fields.pop("comment_id")
        existing = self.comment(cid)
        if existing is not None and existing["text"] != storable(fields["text"]):
            digest = hashlib.sha256(storable(fields["text"]).encode("utf-8", "surrogatepass")).hexdigest()
            cid = f"{cid[:187]}@{digest[:12]}"
        self.add_comment(cid, **fields)
        with self.engine.begin() as conn:
            score = conn.execute(select(comments.c.score).where(comments.c.id == cid)).scalar_one()
            conn.execute(update(comments).where(comments.c.id == cid)
                         .values(status=STATUS_FOR_ACTION[action], claimed_by=None, claim_expires=None))
            did = conn.execute(insert(decisions).values(
                comment_id=cid, moderator_id=m["id"], action=action, reason=reason, decided_at=utc_now(),
                score_at_decision=score)).inserted_primary_key[0]
        return cid, did

    def decide_many(self, comment_ids: Iterable[str], moderator: str | int, action: str,
                    reason: str | None = None) -> tuple[list[str], list[str]]:
        """Bulk ``decide``: (ids decided, ids refused because someone else holds or decided them)."""
        done, refused = [], []
        for cid in comment_ids:
            try:
                self.decide(cid, moderator, action, reason)
                done.append(str(cid))
            except ClaimConflict:
                refused.append(str(cid))
        return done, refused

    def undo_last(self, moderator: str | int) -> dict | None:
        """Undo ``moderator``'s latest decision not yet undone; None when there is nothing to undo.

        Appends an ``undo`` row (the log is never rewritten), puts the comment back
        to the status of its previous standing decision (or pending) and gives the
        moderator the claim on it. Refused if someone decided the comment since.
        """
        m = self._require_moderator(moderator)
        now = utc_now()
        with self.engine.begin() as conn:
            undone = select(decisions.c.undoes).where(decisions.c.undoes.is_not(None))
            last = conn.execute(select(decisions).where(
                decisions.c.moderator_id == m["id"], decisions.c.action != "undo",
                decisions.c.id.not_in(undone)).order_by(decisions.c.id.desc()).limit(1)).mappings().first()
            if last is None:
                return None
            standing = _standing(conn, last["comment_id"])
            if not standing or standing[0]["id"] != last["id"]:
                raise ClaimConflict(f"comment {last['comment_id']} was decided again since; cannot undo")
            previous = STATUS_FOR_ACTION[standing[1]["action"]] if len(standing) > 1 else "pending"
            conn.execute(insert(decisions).values(
                comment_id=last["comment_id"], moderator_id=m["id"], action="undo", reason=None,
                undoes=last["id"], decided_at=now, score_at_decision=last["score_at_decision"]))
            conn.execute(update(comments).where(comments.c.id == last["comment_id"]).values(
                status=previous, claimed_by=m["id"] if previous == "pending" else None,
                claim_expires=now + _dt.timedelta(seconds=self.claim_ttl) if previous == "pending" else None))
        return {"comment_id": last["comment_id"], "undid": last["action"], "status": previous}

    # -- history ------------------------------------------------------------
    def _decisions_query(self):
        return (select(decisions.c.id, decisions.c.comment_id, moderators.c.name.label("moderator"),
                       decisions.c.action, decisions.c.reason, decisions.c.undoes, decisions.c.decided_at,
                       decisions.c.score_at_decision, comments.c.text, comments.c.source)
                .join(moderators, moderators.c.id == decisions.c.moderator_id)
                .join(comments, comments.c.id == decisions.c.comment_id))

    def history(self, *, comment_id: str | None = None, moderator: str | None = None,
                viewer: str | int | None = None, limit: int = 200) -> list[dict]:
        """Decisions, newest first, for a comment and/or a moderator.

        With ``viewer``, a non-admin sees only their own decisions; an admin sees everyone's.
        """
        query = self._decisions_query()
        if comment_id is not None:
            query = query.where(decisions.c.comment_id == str(comment_id))
        if moderator is not None:
            query = query.where(moderators.c.name == moderator)
        if viewer is not None:
            v = self._require_moderator(viewer)
            if not v["is_admin"]:
                query = query.where(decisions.c.moderator_id == v["id"])
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(decisions.c.id.desc()).limit(limit)).mappings().all()
        return [{**dict(r), "decided_at": iso(r["decided_at"])} for r in rows]

    # -- export and stats ---------------------------------------------------
    def export_decisions(self) -> pd.DataFrame:
        """Every decided comment as ``id,text,label,action,reason,moderator,decided_at,source``.

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
                "action": d["action"], "reason": d["reason"] or "", "moderator": d["moderator"],
                "decided_at": iso(d["decided_at"]), "source": d["source"]}
               for d in sorted(latest.values(), key=lambda d: d["id"]) if d["action"] in ("remove", "keep")]
        columns = ["id", "text", "label", "action", "reason", "moderator", "decided_at", "source"]
        frame = pd.DataFrame(out, columns=columns)
        frame["label"] = frame["label"].astype(int)
        return frame

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


def _standing(conn: Connection, comment_id: str) -> list[dict]:
    """The comment's decisions still standing (not undo rows, not undone), newest first."""
    rows = conn.execute(select(decisions).where(decisions.c.comment_id == comment_id)
                        .order_by(decisions.c.id.desc())).mappings().all()
    undone = {r["undoes"] for r in rows if r["action"] == "undo"}
    return [dict(r) for r in rows if r["action"] != "undo" and r["id"] not in undone]


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


def _comment_dict(row) -> dict:
    d = dict(row)
    d["added_at"] = iso(d.get("added_at"))
    d["claim_expires"] = iso(d.get("claim_expires"))
    d["spans"] = d.get("spans") or []
    d["categories"] = d.get("categories") or {}
    return d


def open_store(url: str | None = None, **options) -> Store:
    """Open (creating and migrating as needed) the queue database at ``url`` (see ``resolve_db_url``)."""
    return Store(url, **options)


def export_decisions(db: Store | str | None = None) -> pd.DataFrame:
    """``Store.export_decisions`` for a store or a database URL."""
    store = db if isinstance(db, Store) else open_store(db)
    return store.export_decisions()

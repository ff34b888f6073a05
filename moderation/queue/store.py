"""The review queue's database: comments to review, the moderators, their web sessions, and an append-only
log of their decisions.

SQLAlchemy Core, so the same code runs on SQLite (the default, ``moderation.db``
in the working directory, in WAL mode so the web app and the CLI can use it at
once) and on PostgreSQL (``postgresql://...``). The schema is versioned: a
``schema_version`` table records which of the ordered ``MIGRATIONS`` have run,
and ``open_store`` applies the missing ones.

Decisions are never updated or deleted: an undo is a new row pointing at the
decision it cancels. A comment's status is derived from its latest decision
that has not been undone, and so is its label in ``export_decisions``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd
from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table,
                        Text, create_engine, delete, event, func, insert, select, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from ..errors import ModerationError

__all__ = ["Store", "open_store", "resolve_db_url", "export_decisions", "AddResult", "ACTIONS", "REASONS",
           "CATEGORIES", "DEFAULT_DB_URL", "ClaimConflict", "hash_password", "verify_password", "SESSION_TTL"]

DEFAULT_DB_URL = "sqlite:///moderation.db"
CLAIM_TTL = 600  # seconds a moderator holds the comments they are viewing
SESSION_TTL = 12 * 3600  # seconds a web session lasts from login (not extended by use)
SESSION_TOUCH = 60  # a session's last_seen_at is rewritten at most this often (not a write per request)
ACTIONS = ("remove", "keep", "escalate")
STATUS_FOR_ACTION = {"remove": "removed", "keep": "kept", "escalate": "escalated"}
STATUSES = ("pending", "removed", "kept", "escalated")
# Reason codes: a short list, so they can be counted and learned from.
REASONS = {
    "insult": "Insult or abuse",
    "identity": "Identity attack or hate",
    "obscene": "Obscenity",
    "threat": "Threat of violence",
    "spam": "Spam",
    "fair": "Fair comment, robust but acceptable",
    "misflagged": "Misflagged: quote, reclaimed word, counter-speech",
    "other": "Other",
}
CATEGORIES = ("insult", "identity_attack", "obscene", "threat")

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

moderators = Table(
    "moderators", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

comments = Table(
    "comments", metadata,
    Column("id", String(200), primary_key=True),
    Column("text", Text, nullable=False),
    Column("source", String(300), nullable=False, default=""),
    Column("article_id", String(200), nullable=True),
    Column("thread_id", String(200), nullable=True),
    Column("score", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("uncertainty", Float, nullable=False),  # |score - threshold|, indexed for the "most useful first" sort
    Column("categories", JSON, nullable=True),
    Column("top_category", String(50), nullable=True),
    Column("reasons", Text, nullable=True),
    Column("spans", JSON, nullable=True),
    Column("model_version", String(64), nullable=False, default="unknown"),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False, default="pending", index=True),
    Column("claimed_by", Integer, ForeignKey("moderators.id"), nullable=True),
    Column("claim_expires", DateTime(timezone=True), nullable=True),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("comment_id", String(200), ForeignKey("comments.id"), nullable=False, index=True),
    Column("moderator_id", Integer, ForeignKey("moderators.id"), nullable=False, index=True),
    Column("action", String(20), nullable=False),  # remove, keep, escalate, undo
    Column("reason", String(50), nullable=True),
    Column("undoes", Integer, ForeignKey("decisions.id"), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("score_at_decision", Float, nullable=True),
)

# Web sessions (schema version 2): the row is the session, so logging out (deleting it) kills every copy
# of the cookie. Only a SHA-256 of the random session id is stored; the id itself is in the cookie alone.
sessions = Table(
    "sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("moderator_id", Integer, ForeignKey("moderators.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)


# -- migrations -----------------------------------------------------------------
def _migration_1(conn: Connection) -> None:
    """The first schema. When the tables change, freeze this one's definitions and add ``_migration_2``."""
    for table in (moderators, comments, decisions):
        table.create(conn)


def _migration_2(conn: Connection) -> None:
    """Server-side web sessions: the ``sessions`` table (new; the tables of version 1 are unchanged).

    When ``sessions`` changes, freeze this one's definition and add ``_migration_3``.
    """
    sessions.create(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [_migration_1, _migration_2]


def migrate(engine: Engine) -> int:
    """Apply the migrations the database has not had yet; return the schema version."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # one process migrates at a time
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
        schema_version.create(conn, checkfirst=True)
        current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
        if current > len(MIGRATIONS):
            raise ModerationError(f"the database schema is version {current}, newer than this moderation "
                                  f"package knows ({len(MIGRATIONS)}): upgrade moderation")
        for version in range(current + 1, len(MIGRATIONS) + 1):
            MIGRATIONS[version - 1](conn)
            conn.execute(insert(schema_version).values(version=version, applied_at=_now()))
        return len(MIGRATIONS)


# -- helpers --------------------------------------------------------------------
def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _utc(value: _dt.datetime | None) -> _dt.datetime | None:
    """Datetimes come back naive from SQLite (stored as UTC) and aware from PostgreSQL."""
    if value is None:
        return None
    return value.replace(tzinfo=_dt.timezone.utc) if value.tzinfo is None else value.astimezone(_dt.timezone.utc)


def _iso(value: _dt.datetime | None) -> str | None:
    value = _utc(value)
    return value.isoformat(timespec="seconds") if value else None


def resolve_db_url(explicit: str | None = None) -> str:
    """The database URL: ``--db`` if given, else ``$MODERATION_DB``, else ``sqlite:///moderation.db``.

    A bare file path is taken as an SQLite file; ``postgresql://`` and ``postgres://``
    use the psycopg (3) driver.
    """
    url = explicit or os.environ.get("MODERATION_DB") or DEFAULT_DB_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **({"poolclass": StaticPool} if memory else {}))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # every connection: WAL, foreign keys, wait for locks
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as e:
        raise ModerationError(f"cannot use {url.split(':')[0]}: {e}; pip install \"psycopg[binary]\"") from None
    except Exception as e:  # an unparseable URL
        raise ModerationError(f"bad database URL {url!r}: {e}") from None


# -- passwords and tokens -------------------------------------------------------
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` with a random 16-byte salt (hashlib.scrypt, base64 fields)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a ``hash_password`` string."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = None


def _token_hash(token: str) -> str:
    # API tokens and session ids are 256 random bits: a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(token.encode()).hexdigest()


class ClaimConflict(ModerationError):
    """Another moderator holds the claim on the comment, or it was already decided."""


@dataclass
class AddResult:
    """What ``Store.add_scored`` did: rows added, already in the queue, and not flagged (so not loaded)."""

    added: int = 0
    skipped: int = 0
    unflagged: int = 0

    def line(self) -> str:
        return f"{self.added} added, {self.skipped} already in the queue, {self.unflagged} not flagged"


def _model_version(model) -> str:
    try:
        return str(model.card["file"]["sha256"])[:12] or "unknown"
    except (AttributeError, KeyError, TypeError):
        return "unknown"


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "1.0", "true", "t", "yes", "y")
    try:
        return bool(value) and not (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return False


def _float_or_none(value) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _text_or_none(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    s = str(value)
    return s if s.strip() else None


def _chunks(seq: Sequence, n: int = 500) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


class Store:
    """The queue database at ``url``. Every method runs in its own transaction, committed before it returns."""

    def __init__(self, url: str | None = None, *, claim_ttl: int = CLAIM_TTL):
        self.url = resolve_db_url(url)
        self.engine = _make_engine(self.url)
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

    # -- moderators ---------------------------------------------------------
    def add_moderator(self, name: str, password: str, *, is_admin: bool = False) -> int:
        """Create a moderator; the name must be new and the password at least 8 characters."""
        name = name.strip()
        if not name or len(name) > 100 or any(c.isspace() for c in name):
            raise ModerationError("a moderator name is 1-100 characters without spaces")
        if len(password) < 8:
            raise ModerationError("the password must be at least 8 characters")
        try:
            with self.engine.begin() as conn:
                return conn.execute(insert(moderators).values(
                    name=name, password_hash=hash_password(password), is_admin=is_admin,
                    created_at=_now())).inserted_primary_key[0]
        except IntegrityError:
            raise ModerationError(f"moderator {name!r} already exists") from None

    def moderator(self, name_or_id: str | int) -> dict | None:
        """The moderator (id, name, is_admin) by name or id, or None."""
        col = moderators.c.id if isinstance(name_or_id, int) else moderators.c.name
        with self.engine.connect() as conn:
            row = conn.execute(select(moderators.c.id, moderators.c.name, moderators.c.is_admin)
                               .where(col == name_or_id)).mappings().first()
        return dict(row) if row else None

    def _require_moderator(self, name_or_id: str | int) -> dict:
        m = self.moderator(name_or_id)
        if m is None:
            raise ModerationError(f"no such moderator: {name_or_id}")
        return m

    def authenticate(self, name: str, password: str) -> dict | None:
        """The moderator if ``password`` is theirs, else None (same work either way)."""
        global _DUMMY_HASH
        with self.engine.connect() as conn:
            row = conn.execute(select(moderators).where(moderators.c.name == name)).mappings().first()
        if row is None:
            _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, row["password_hash"]):
            return None
        return {"id": row["id"], "name": row["name"], "is_admin": row["is_admin"]}

    def new_token(self, name: str) -> str:
        """A new API token for ``name`` (replacing any old one); only its hash is stored."""
        m = self._require_moderator(name)
        token = "mq_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(update(moderators).where(moderators.c.id == m["id"]).values(token_hash=_token_hash(token)))
        return token

    def moderator_for_token(self, token: str) -> dict | None:
        if not token:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(moderators.c.id, moderators.c.name, moderators.c.is_admin)
                               .where(moderators.c.token_hash == _token_hash(token))).mappings().first()
        return dict(row) if row else None

    def list_moderators(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(moderators.c.id, moderators.c.name,
                                                         moderators.c.is_admin).order_by(moderators.c.name))
                    .mappings()]

    # -- web sessions -------------------------------------------------------
    def create_session(self, moderator: str | int, *, ttl: int = SESSION_TTL) -> str:
        """Start a web session for ``moderator`` lasting ``ttl`` seconds; return its random id (256 bits).

        Only the id's SHA-256 is stored, so the table does not hold usable sessions.
        Expired sessions of everyone are deleted on the way (opportunistic purge).
        """
        m = self._require_moderator(moderator)
        session_id = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
            conn.execute(insert(sessions).values(
                id_hash=_token_hash(session_id), moderator_id=m["id"], created_at=now,
                expires_at=now + _dt.timedelta(seconds=ttl), last_seen_at=now))
        return session_id

    def session_moderator(self, session_id: str | None) -> dict | None:
        """The moderator (id, name, is_admin) of a live session, or None if it is unknown, revoked or expired.

        Records when the session was last seen (at most once a minute: not a write per request).
        """
        if not session_id or not isinstance(session_id, str):
            return None
        key = _token_hash(session_id)
        now = _now()
        with self.engine.connect() as conn:
            row = conn.execute(select(moderators.c.id, moderators.c.name, moderators.c.is_admin,
                                      sessions.c.expires_at, sessions.c.last_seen_at)
                               .join(moderators, moderators.c.id == sessions.c.moderator_id)
                               .where(sessions.c.id_hash == key)).mappings().first()
        if row is None:
            return None
        if _utc(row["expires_at"]) <= now:
            self.purge_sessions()
            return None
        if (now - _utc(row["last_seen_at"])).total_seconds() >= SESSION_TOUCH:
            with self.engine.begin() as conn:
                conn.execute(update(sessions).where(sessions.c.id_hash == key).values(last_seen_at=now))
        return {"id": row["id"], "name": row["name"], "is_admin": row["is_admin"]}

    def revoke_session(self, session_id: str | None) -> bool:
        """End one session (logout): every copy of its cookie stops working. False if there was no such session."""
        if not session_id or not isinstance(session_id, str):
            return False
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.id_hash == _token_hash(session_id))).rowcount == 1

    def revoke_sessions(self, moderator: str | int) -> int:
        """End every session of ``moderator`` (all their browsers); return how many there were.

        For a compromised account, or after changing who may log in. API tokens are
        separate: ``new_token`` replaces a moderator's token.
        """
        m = self._require_moderator(moderator)
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.moderator_id == m["id"])).rowcount

    def purge_sessions(self) -> int:
        """Delete the expired sessions; return how many (``create_session`` does this too)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.expires_at <= _now())).rowcount

    # -- loading ------------------------------------------------------------
    def add_scored(self, data: pd.DataFrame | str | Path, *, all_rows: bool = False,
                   min_score: float | None = None, model=None, threshold: float | None = None,
                   source: str | None = None, chunk_rows: int = 5000) -> AddResult:
        """Load a ``moderation score`` output (a frame or a table file) into the queue.

        Loads the flagged rows (``flag`` true), or every row with ``all_rows``, or
        those scoring at least ``min_score``. Idempotent by comment id: rows already
        in the queue are skipped, never changed. The table needs ``id``, ``score``
        and ``text`` (score with ``--keep text``); ``source``, ``article_id``,
        ``thread_id``, ``reasons`` and the category columns are used when present.
        With ``model``, the offending spans are computed and its threshold and
        version recorded; otherwise the threshold is ``threshold``, else the lowest
        flagged score in the chunk, else 0.5.
        """
        if all_rows and min_score is not None:
            raise ModerationError("give all_rows or min_score, not both")
        if isinstance(data, pd.DataFrame):
            frames: Iterable[pd.DataFrame] = [data]
            default_source = source or ""
        else:
            from ..io import iter_table

            frames = iter_table(data, chunksize=chunk_rows)
            default_source = source if source is not None else Path(str(data)).name
        if model is not None and threshold is None:
            threshold = float(model.threshold)
        version = _model_version(model) if model is not None else None
        result = AddResult()
        seen: set[str] = set()
        for frame in frames:
            if frame.shape[1] == 0 and len(frame) == 0:
                continue
            self._add_frame(frame, all_rows, min_score, model, threshold, version, default_source, seen, result)
        return result

    def _add_frame(self, frame, all_rows, min_score, model, threshold, version, default_source, seen, result):
        from ..io import require_columns

        needed = ["id", "score", "text"] + ([] if all_rows or min_score is not None else ["flag"])
        require_columns(frame, needed, "the scored table" + ("" if "text" in frame.columns else
                                                             " (score with --keep text)"))
        scores = pd.to_numeric(frame["score"], errors="coerce")
        if scores.isna().any():
            bad = frame["id"][scores.isna()].astype(str).tolist()[:3]
            raise ModerationError(f"the scored table has missing or non-numeric scores (ids {', '.join(bad)})")
        if all_rows:
            keep = pd.Series(True, index=frame.index)
        elif min_score is not None:
            keep = scores >= float(min_score)
        else:
            keep = frame["flag"].map(_truthy)
        chunk_threshold = threshold
        if chunk_threshold is None:
            flagged = scores[frame["flag"].map(_truthy)] if "flag" in frame.columns else scores[[]]
            chunk_threshold = float(flagged.min()) if len(flagged) else 0.5
        result.unflagged += int((~keep).sum())
        rows = frame[keep.to_numpy()]
        ids = rows["id"].astype(str).tolist()
        with self.engine.connect() as conn:
            existing = set()
            for part in _chunks(ids):
                existing.update(conn.execute(select(comments.c.id).where(comments.c.id.in_(part))).scalars())
        cats = [c for c in CATEGORIES if c in rows.columns]
        now = _now()
        records = []
        for (_, row), cid in zip(rows.iterrows(), ids):
            if cid in existing or cid in seen:
                result.skipped += 1
                continue
            seen.add(cid)
            text = row["text"] if isinstance(row["text"], str) else ("" if _text_or_none(row["text"]) is None
                                                                      else str(row["text"]))
            score = float(row["score"])
            categories = {c: v for c in cats if (v := _float_or_none(row[c])) is not None} or None
            spans = None
            if model is not None:
                spans = [{"start": s.start, "end": s.end, "fragment": s.fragment, "weight": s.weight}
                         for s in model.explain(text)]
            records.append({
                "id": cid, "text": text,
                "source": _text_or_none(row.get("source")) or default_source,
                "article_id": _text_or_none(row.get("article_id")),
                "thread_id": _text_or_none(row.get("thread_id")),
                "score": score, "threshold": chunk_threshold, "uncertainty": abs(score - chunk_threshold),
                "categories": categories,
                "top_category": max(categories, key=categories.get) if categories else None,
                "reasons": _text_or_none(row.get("reasons")),
                "spans": spans,
                "model_version": version or _text_or_none(row.get("model_version")) or "unknown",
                "added_at": now, "status": "pending",
            })
        if not records:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(comments), records)
            result.added += len(records)
        except IntegrityError:  # a concurrent load got there first: insert one by one
            for record in records:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(insert(comments).values(**record))
                    result.added += 1
                except IntegrityError:
                    result.skipped += 1

    # -- reading ------------------------------------------------------------
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
        now = _now()
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
        now = _now()
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
        if reason is not None and (not isinstance(reason, str) or reason not in REASONS):  # a JSON list is unhashable
            raise ModerationError(f"unknown reason {reason!r} (use {', '.join(REASONS)})")
        m = self._require_moderator(moderator)
        now = _now()
        with self.engine.begin() as conn:
            row = conn.execute(select(comments).where(comments.c.id == str(comment_id))).mappings().first()
            if row is None:
                raise ModerationError(f"no such comment: {comment_id}")
            held_by_other = (row["claimed_by"] not in (None, m["id"])
                             and _utc(row["claim_expires"]) is not None and _utc(row["claim_expires"]) >= now)
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
        now = _now()
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
                       decisions.c.score_at_decision, comments.c.text)
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
        return [{**dict(r), "decided_at": _iso(r["decided_at"])} for r in rows]

    # -- export and stats ---------------------------------------------------
    def export_decisions(self) -> pd.DataFrame:
        """Every decided comment as ``id,text,label,action,reason,moderator,decided_at``.

        The label is 1 for remove and 0 for keep; a comment's latest decision that
        was not undone wins; comments whose standing decision is escalate (no final
        word yet) are left out. ``moderation train`` accepts the table as is.
        """
        query = self._decisions_query().order_by(decisions.c.comment_id, decisions.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        latest = _standing_by_comment(rows)
        out = [{"id": d["comment_id"], "text": d["text"], "label": 1 if d["action"] == "remove" else 0,
                "action": d["action"], "reason": d["reason"] or "", "moderator": d["moderator"],
                "decided_at": _iso(d["decided_at"])}
               for d in sorted(latest.values(), key=lambda d: d["id"]) if d["action"] in ("remove", "keep")]
        columns = ["id", "text", "label", "action", "reason", "moderator", "decided_at"]
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
    d["added_at"] = _iso(d.get("added_at"))
    d["claim_expires"] = _iso(d.get("claim_expires"))
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

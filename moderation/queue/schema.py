"""The review queue's database schema and its migrations, and how a database URL becomes an engine.

SQLAlchemy Core, so the same code runs on SQLite (the default, ``moderation.db``
in the working directory, in WAL mode so the web app and the CLI can use it at
once) and on PostgreSQL (``postgresql://...``). The schema is versioned: a
``schema_version`` table records which of the ordered ``MIGRATIONS`` have run,
and ``migrate`` applies the missing ones.
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Callable

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table,
                        Text, create_engine, event, func, insert, select)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ..errors import ModerationError

__all__ = ["metadata", "schema_version", "moderators", "comments", "decisions", "sessions", "MIGRATIONS", "migrate",
           "resolve_db_url", "make_engine", "DEFAULT_DB_URL", "utc_now", "as_utc", "iso"]

DEFAULT_DB_URL = "sqlite:///moderation.db"

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
            conn.execute(insert(schema_version).values(version=version, applied_at=utc_now()))
        return len(MIGRATIONS)


# -- time and URLs --------------------------------------------------------------------
def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def as_utc(value: _dt.datetime | None) -> _dt.datetime | None:
    """Datetimes come back naive from SQLite (stored as UTC) and aware from PostgreSQL."""
    if value is None:
        return None
    return value.replace(tzinfo=_dt.timezone.utc) if value.tzinfo is None else value.astimezone(_dt.timezone.utc)


def iso(value: _dt.datetime | None) -> str | None:
    value = as_utc(value)
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


def make_engine(url: str) -> Engine:
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

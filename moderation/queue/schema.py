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
                        Text, create_engine, event, func, insert, select, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ..errors import ModerationError

__all__ = ["metadata", "schema_version", "moderators", "comments", "batches", "decisions", "sessions", "login_throttle",
           "MIGRATIONS", "migrate", "WRITES",
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
    Column("disabled", Boolean, nullable=False, default=False),  # may not log in or use a token
    Column("removed_at", DateTime(timezone=True), nullable=True),  # removed: the row stays for the log's sake
)

comments = Table(
    "comments", metadata,
    Column("id", String(200), primary_key=True),
    Column("text", Text, nullable=False),
    Column("source", String(300), nullable=False, default=""),
    Column("article_id", String(200), nullable=True, index=True),
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
    # what a moderator decides with, from the dump's columns (schema version 3)
    Column("article_title", Text, nullable=True),
    Column("article_url", Text, nullable=True),
    Column("author", String(200), nullable=True, index=True),
    Column("parent_id", String(200), nullable=True),
    Column("parent_text", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=True),  # when the comment was posted
)

# A bulk action (a selection, or everything pending by one author): its decisions share its id, so
# undoing one of them undoes the whole action.
batches = Table(
    "batches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("moderator_id", Integer, ForeignKey("moderators.id"), nullable=False),
    Column("action", String(20), nullable=False),
    Column("scope", String(300), nullable=False),  # "selection" or "author NAME"
    Column("created_at", DateTime(timezone=True), nullable=False),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("comment_id", String(200), ForeignKey("comments.id"), nullable=False, index=True),
    Column("moderator_id", Integer, ForeignKey("moderators.id"), nullable=False, index=True),
    Column("action", String(20), nullable=False),  # remove, keep, escalate, undo
    Column("reason_code", String(50), nullable=True),  # categories.REASON_CODES
    Column("undoes", Integer, ForeignKey("decisions.id"), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("score_at_decision", Float, nullable=True),
    Column("note", Text, nullable=True),  # the moderator's words, e.g. why they escalate
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=True, index=True),
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

# Failed logins per name and per client address, and the addresses a name has logged in from; keys are
# SHA-256 hashes, so attacker-chosen names are never stored.
login_throttle = Table(
    "login_throttle", metadata,
    Column("key", String(64), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_at", DateTime(timezone=True), nullable=False),  # no attempt before this
    Column("last_at", DateTime(timezone=True), nullable=False, index=True),
)


# -- migrations -----------------------------------------------------------------
# The tables as version 1 created them, frozen: migration 1 must create the same tables whatever the
# current definitions above say, so that the later migrations find what they expect.
_v1 = MetaData()
_v1_tables = (
    Table("moderators", _v1,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(100), nullable=False, unique=True),
          Column("password_hash", String(300), nullable=False),
          Column("is_admin", Boolean, nullable=False, default=False),
          Column("token_hash", String(64), nullable=True, unique=True),
          Column("created_at", DateTime(timezone=True), nullable=False)),
    Table("comments", _v1,
          Column("id", String(200), primary_key=True),
          Column("text", Text, nullable=False),
          Column("source", String(300), nullable=False, default=""),
          Column("article_id", String(200), nullable=True),
          Column("thread_id", String(200), nullable=True),
          Column("score", Float, nullable=False),
          Column("threshold", Float, nullable=False),
          Column("uncertainty", Float, nullable=False),
          Column("categories", JSON, nullable=True),
          Column("top_category", String(50), nullable=True),
          Column("reasons", Text, nullable=True),
          Column("spans", JSON, nullable=True),
          Column("model_version", String(64), nullable=False, default="unknown"),
          Column("added_at", DateTime(timezone=True), nullable=False),
          Column("status", String(20), nullable=False, default="pending", index=True),
          Column("claimed_by", Integer, ForeignKey("moderators.id"), nullable=True),
          Column("claim_expires", DateTime(timezone=True), nullable=True)),
    Table("decisions", _v1,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("comment_id", String(200), ForeignKey("comments.id"), nullable=False, index=True),
          Column("moderator_id", Integer, ForeignKey("moderators.id"), nullable=False, index=True),
          Column("action", String(20), nullable=False),
          Column("reason", String(50), nullable=True),
          Column("undoes", Integer, ForeignKey("decisions.id"), nullable=True),
          Column("decided_at", DateTime(timezone=True), nullable=False),
          Column("score_at_decision", Float, nullable=True)),
)
_v2_sessions = sessions  # unchanged since version 2; freeze it here when it changes

# Version 2's reason codes (decisions.reason) and the statement-of-reasons grounds they become. "fair" and
# "misflagged" explained keep decisions, which need no ground: they become empty.
V2_REASON_CODES = {"insult": "harassment", "identity": "illegal_hate_speech", "threat": "threat", "spam": "spam",
                   "obscene": "other_policy", "other": "other_policy", "fair": None, "misflagged": None}


def _migration_1(conn: Connection) -> None:
    """The first schema: moderators, comments, decisions (as frozen in ``_v1``)."""
    for table in _v1_tables:
        table.create(conn)


def _migration_2(conn: Connection) -> None:
    """Server-side web sessions: the ``sessions`` table (new; the tables of version 1 are unchanged)."""
    _v2_sessions.create(conn)


def _add_columns(conn: Connection, table: Table, names: list[str], defaults: dict[str, str] | None = None) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for the named columns of ``table``'s current definition."""
    for name in names:
        column = table.c[name]
        ddl = f"ALTER TABLE {table.name} ADD COLUMN {name} {column.type.compile(dialect=conn.dialect)}"
        if defaults and name in defaults:
            ddl += f" NOT NULL DEFAULT {defaults[name]}"
        elif column.foreign_keys:
            fk = next(iter(column.foreign_keys))
            ddl += f" REFERENCES {fk.column.table.name}({fk.column.name})"
        conn.exec_driver_sql(ddl)


def _migration_3(conn: Connection) -> None:
    """The review queue a newsroom adopts: context on comments, bulk actions, notes, reason codes, accounts.

    * ``comments`` gains the article's title and URL, the author, the parent comment (id and text) and
      when it was posted;
    * ``batches`` groups the decisions of one bulk action; ``decisions`` gains ``batch_id`` and ``note``,
      and its ``reason`` becomes ``reason_code``, version 2's codes mapped to the statement-of-reasons
      grounds (``V2_REASON_CODES``);
    * ``moderators`` gains ``disabled`` and ``removed_at``;
    * ``login_throttle`` (new) holds failed logins, so throttling holds across workers and restarts.
    """
    false = "false" if conn.dialect.name == "postgresql" else "0"
    _add_columns(conn, comments, ["article_title", "article_url", "author", "parent_id", "parent_text",
                                  "created_at"])
    for index in comments.indexes:
        if {c.name for c in index.columns} & {"article_id", "author"}:
            index.create(conn)
    batches.create(conn)
    conn.exec_driver_sql("ALTER TABLE decisions RENAME COLUMN reason TO reason_code")
    for old, new in V2_REASON_CODES.items():
        conn.execute(update(decisions).where(decisions.c.reason_code == old).values(reason_code=new))
    _add_columns(conn, decisions, ["note", "batch_id"])
    for index in decisions.indexes:
        if [c.name for c in index.columns] == ["batch_id"]:
            index.create(conn)
    _add_columns(conn, moderators, ["disabled"], {"disabled": false})
    _add_columns(conn, moderators, ["removed_at"])
    login_throttle.create(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [_migration_1, _migration_2, _migration_3]


def migrate(engine: Engine) -> int:
    """Apply the migrations the database has not had yet; return the schema version."""
    with engine.execution_options(**{WRITES: True}).begin() as conn:
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


WRITES = "moderation_writes"  # execution option of a transaction that writes (``Store.transaction``)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **({"poolclass": StaticPool} if memory else {}))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # every connection: WAL, foreign keys, wait for locks
            dbapi_conn.isolation_level = None  # the driver's own BEGIN comes too late (see _begin)
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # The driver would begin only at the first write, after the reads that decided it. A transaction
            # that writes takes SQLite's write lock at its start instead, so read-decide-write is atomic.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITES) else "BEGIN")

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as e:
        raise ModerationError(f"cannot use {url.split(':')[0]}: {e}; pip install \"psycopg[binary]\"") from None
    except Exception as e:  # an unparseable URL
        raise ModerationError(f"bad database URL {url!r}: {e}") from None

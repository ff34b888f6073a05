"""The store tests of test_queue_store.py, rerun against a real PostgreSQL server.

Set MODERATION_TEST_POSTGRES to a URL of a database the tests may wipe, e.g.
postgresql+psycopg://moderation:moderation@127.0.0.1:5432/moderation_test.
Skipped when unset, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os

import pytest

pytestmark = [pytest.mark.postgres]

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy")

from conftest import skip_or_fail  # noqa: E402

from test_queue_store import *  # noqa: E402,F401,F403  (collects the same tests here)
from test_queue_store import test_sqlite_uses_wal_and_foreign_keys as _sqlite_only  # noqa: E402

del test_sqlite_uses_wal_and_foreign_keys  # noqa: F821  (SQLite-only)
_ = _sqlite_only

TABLES = ("sessions", "decisions", "comments", "moderators", "schema_version")


@pytest.fixture
def db_url():
    """The PostgreSQL test database, emptied before each test."""
    url = os.environ.get("MODERATION_TEST_POSTGRES")
    if not url:
        skip_or_fail("MODERATION_TEST_POSTGRES is not set (a PostgreSQL URL the tests may wipe)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        skip_or_fail('psycopg is not installed (pip install "psycopg[binary]")')
    from sqlalchemy import create_engine

    from moderation.queue.schema import resolve_db_url

    url = resolve_db_url(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table in TABLES:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    except Exception as e:  # no server listening, bad credentials
        skip_or_fail(f"cannot reach PostgreSQL at {engine.url!r}: {str(e).splitlines()[0]}")
    finally:
        engine.dispose()
    return url


def test_postgres_dialect_in_use(db_url):
    from moderation.queue.store import open_store

    s = open_store(db_url)
    assert s.engine.dialect.name == "postgresql"
    s.close()

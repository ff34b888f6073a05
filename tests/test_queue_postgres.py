"""The store tests of test_queue_store.py, rerun against a real PostgreSQL server.

Set MODERATION_TEST_POSTGRES to a URL of a database the tests may wipe, e.g.
postgresql+psycopg://moderation:moderation@127.0.0.1:5432/moderation_test.
Skipped when unset, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.postgres]

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy")

from conftest import fresh_postgres_url  # noqa: E402

from test_queue_store import *  # noqa: E402,F401,F403  (collects the same tests here)
from test_queue_store import test_sqlite_uses_wal_and_foreign_keys as _sqlite_only  # noqa: E402

del test_sqlite_uses_wal_and_foreign_keys  # noqa: F821  (SQLite-only)
_ = _sqlite_only


@pytest.fixture
def db_url():
    """The PostgreSQL test database, emptied before each test."""
    return fresh_postgres_url()


def test_postgres_dialect_in_use(db_url):
    from moderation.queue.store import open_store

    s = open_store(db_url)
    assert s.engine.dialect.name == "postgresql"
    s.close()

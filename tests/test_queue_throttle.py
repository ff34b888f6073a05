"""Login throttling: per name and per client address, delays that double past a few free failures up to a
minute, never a lock-out of the right password (an address the name logs in from is not held back by others'
guesses), kept in the database so it holds across workers and restarts."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy", "fastapi", "httpx")

from moderation.queue import accounts  # noqa: E402
from moderation.queue.store import open_store  # noqa: E402
from moderation.queue.web import create_app  # noqa: E402
from conftest import csrf_of, fresh_postgres_url, web_client  # noqa: E402

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'throttle.db'}" if request.param == "sqlite" else fresh_postgres_url())
    s.add_moderator("bob", "bob-password")
    yield s
    s.close()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_delays_double_up_to_a_minute():
    assert [accounts.login_delay(n, 5) for n in range(4, 14)] == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert accounts.login_delay(19, 20) == 0 and accounts.login_delay(21, 20) == 2


def test_a_guessed_name_waits_longer_and_longer_but_never_for_good(store):
    t = 0.0
    waits = []
    for i in range(12):  # a guesser from ever new addresses, trying as soon as allowed
        wait = store.login_wait("bob", f"198.51.100.{i}", now=at(t))
        waits.append(wait)
        t += wait
        if wait:  # tried again when the wait is over: now it goes ahead
            assert store.login_wait("bob", f"198.51.100.{i}", now=at(t)) == 0
        store.login_failed("bob", f"198.51.100.{i}", now=at(t))
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60]
    # the owner, from an address never used for bob: waits at most a minute, then the right password works
    assert store.login_wait("bob", "203.0.113.5", now=at(t + 1)) == 59
    assert store.login_wait("bob", "203.0.113.5", now=at(t + 60)) == 0
    store.login_succeeded("bob", "203.0.113.5", now=at(t + 60))
    assert store.login_wait("bob", "192.0.2.1", now=at(t + 60)) == 0  # success forgets the name's failures


def test_the_owners_known_address_is_not_held_back_by_someone_guessing_the_name(store):
    store.login_succeeded("bob", "203.0.113.5", now=at(0))
    for i in range(30):
        store.login_failed("bob", f"198.51.100.{i}", now=at(1))
    assert store.login_wait("bob", "198.51.100.99", now=at(2)) == 59  # the guesser waits
    assert store.login_wait("bob", "203.0.113.5", now=at(2)) == 0  # bob, from where he logs in, does not


def test_an_address_guessing_many_names_waits(store):
    for i in range(accounts.FREE_FAILURES_PER_ADDRESS):
        assert store.login_wait(f"name{i}", "198.51.100.1", now=at(0)) == 0
        store.login_failed(f"name{i}", "198.51.100.1", now=at(0))
    assert store.login_wait("another", "198.51.100.1", now=at(0)) == 1
    assert store.login_wait("another", "198.51.100.2", now=at(0)) == 0


def test_parallel_guesses_cannot_share_one_turn(store):
    for i in range(accounts.FREE_FAILURES_PER_NAME + 1):
        store.login_failed("bob", "198.51.100.1", now=at(0))
    assert store.login_wait("bob", "198.51.100.2", now=at(10)) == 0  # this attempt takes the turn...
    assert store.login_wait("bob", "198.51.100.3", now=at(10)) == 4  # ...the next one in parallel waits


def test_simultaneous_failures_are_all_counted(store):
    import threading

    barrier = threading.Barrier(8)
    errors = []

    def fail(i):
        barrier.wait()
        try:
            store.login_failed("fresh-name", f"198.51.100.{i}", now=at(0))
        except Exception as e:  # noqa: BLE001  (a unique-key race was a 500)
            errors.append(e)

    threads = [threading.Thread(target=fail, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.login_wait("fresh-name", "192.0.2.1", now=at(0)) == 8  # 8 failures: 2 ** (8 - 5) seconds


def test_failures_are_forgotten_after_a_day(store):
    for _ in range(12):
        store.login_failed("bob", "198.51.100.1", now=at(0))
    assert store.login_wait("bob", "198.51.100.1", now=at(30)) == 30
    assert store.login_wait("bob", "198.51.100.1", now=at(accounts.FORGET_AFTER + 1)) == 0


def _post_login(app, name, password, address):
    c = web_client(app, address)
    r = c.post("/login", data={"username": name, "password": password, "csrf": csrf_of(c.get("/login").text)})
    return r.headers["location"]


def test_the_throttle_holds_across_workers_and_restarts(store):
    worker_1, worker_2 = create_app(store, secret="s"), create_app(store.url, secret="s")
    for i in range(3):
        assert _post_login(worker_1, "bob", f"guess-{i}", "198.51.100.1") == "/login?error=1"
    for i in range(2):
        assert _post_login(worker_2, "bob", f"guess-{i}", "198.51.100.2") == "/login?error=1"
    assert _post_login(worker_1, "bob", "bob-password", "198.51.100.3").startswith("/login?error=2&wait=")
    restarted = create_app(open_store(store.url), secret="s")
    assert _post_login(restarted, "bob", "bob-password", "198.51.100.4").startswith("/login?error=2&wait=")

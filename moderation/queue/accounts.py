"""Moderators, their passwords, API tokens, web sessions, and login throttling.

Passwords are stored as scrypt hashes; API tokens and session ids are 256 random
bits of which only a SHA-256 is stored, so the database never holds a usable
secret. A disabled or removed moderator can neither log in nor use a token;
a removed one's row stays, so the audit log keeps their name.

Failed logins are counted per name and per client address in the database
(``login_throttle``), so the limit holds across workers and restarts. Past a few
free failures, each further attempt must wait a delay that doubles with every
failure, up to ``MAX_DELAY`` seconds: a guesser gets about one try a minute, and
the right password is never refused for longer than that. An address the name
has logged in from before is not held back by failures on the name (someone
else guessing it), only by its own.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import secrets
from functools import lru_cache

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import ModerationError
from .schema import as_utc, comments, decisions, iso, login_throttle, moderators, sessions, utc_now

__all__ = ["Accounts", "hash_password", "verify_password", "SESSION_TTL", "SESSION_TOUCH", "MIN_PASSWORD",
           "FREE_FAILURES_PER_NAME", "FREE_FAILURES_PER_ADDRESS", "MAX_DELAY", "FORGET_AFTER", "login_delay"]

SESSION_TTL = 12 * 3600  # seconds a web session lasts from login (not extended by use)
SESSION_TOUCH = 60  # a session's last_seen_at is rewritten at most this often (not a write per request)
MIN_PASSWORD = 12  # characters

FREE_FAILURES_PER_NAME = 5  # failed logins on a name before its attempts are spaced out
FREE_FAILURES_PER_ADDRESS = 20  # ... from one client address (a newsroom may share one)
MAX_DELAY = 60  # seconds: the longest wait between two attempts
FORGET_AFTER = 24 * 3600  # seconds without a failure after which a name's or address's count starts again
KNOWN_FOR = 90 * 24 * 3600  # seconds an address a name logged in from stays known after the last login


def login_delay(failures: int, free: int) -> float:
    """Seconds to wait before the next attempt after ``failures`` failures: 0, then 1, 2, 4 ... up to MAX_DELAY."""
    if failures < free:
        return 0.0
    return float(min(2 ** (failures - free), MAX_DELAY))

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


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check unknown names' passwords against, so they take as long as known names'."""
    return hash_password(secrets.token_hex(8))


def _token_hash(token: str) -> str:
    # API tokens and session ids are 256 random bits: a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(token.encode()).hexdigest()


def _throttle_key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "replace")).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ModerationError(f"the password must be at least {MIN_PASSWORD} characters")

_LIVE = moderators.c.disabled.is_(False) & moderators.c.removed_at.is_(None)
_PUBLIC = (moderators.c.id, moderators.c.name, moderators.c.is_admin)
# built once: every API request looks its key up, and building the query took nearly as long as running it
_BY_TOKEN = select(*_PUBLIC).where(moderators.c.token_hash == bindparam("token_hash"), _LIVE)


class Accounts:
    """The moderators, tokens, sessions and login throttle of a ``Store`` (``self.engine``, ``self.transaction``)."""

    # -- moderators ---------------------------------------------------------
    def add_moderator(self, name: str, password: str, *, is_admin: bool = False) -> int:
        """Create a moderator; the name must be new and the password at least ``MIN_PASSWORD`` characters."""
        name = name.strip()
        if not name or len(name) > 100 or any(c.isspace() for c in name):
            raise ModerationError("a moderator name is 1-100 characters without spaces")
        _check_password(password)
        try:
            with self.transaction() as conn:
                return conn.execute(insert(moderators).values(
                    name=name, password_hash=hash_password(password), is_admin=is_admin, disabled=False,
                    created_at=utc_now())).inserted_primary_key[0]
        except IntegrityError:
            old = self._moderator_row(name)
            if old is not None and old["removed_at"] is not None:
                raise ModerationError(f"moderator {name!r} was removed; the audit log keeps the name, "
                                      "choose another") from None
            raise ModerationError(f"moderator {name!r} already exists") from None

    def _moderator_row(self, name_or_id: str | int):
        col = moderators.c.id if isinstance(name_or_id, int) else moderators.c.name
        with self.engine.connect() as conn:
            return conn.execute(select(moderators).where(col == name_or_id)).mappings().first()

    def moderator(self, name_or_id: str | int) -> dict | None:
        """The moderator (id, name, is_admin) by name or id, or None (also for a disabled or removed one)."""
        row = self._moderator_row(name_or_id)
        if row is None or row["disabled"] or row["removed_at"] is not None:
            return None
        return {"id": row["id"], "name": row["name"], "is_admin": row["is_admin"]}

    def _require_moderator(self, name_or_id: str | int) -> dict:
        m = self.moderator(name_or_id)
        if m is None:
            raise ModerationError(f"no such moderator: {name_or_id}")
        return m

    def _require_account(self, name: str) -> dict:
        """A moderator's row by name, disabled ones included (removed ones are gone for every purpose)."""
        row = self._moderator_row(name)
        if row is None or row["removed_at"] is not None:
            raise ModerationError(f"no such moderator: {name}")
        return dict(row)

    def authenticate(self, name: str, password: str) -> dict | None:
        """The moderator if ``password`` is theirs and they may log in, else None (same work either way)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(moderators).where(moderators.c.name == name, _LIVE)).mappings().first()
        if row is None:
            verify_password(password, _dummy_hash())
            return None
        if not verify_password(password, row["password_hash"]):
            return None
        return {"id": row["id"], "name": row["name"], "is_admin": row["is_admin"]}

    def set_password(self, name: str, password: str) -> int:
        """Change ``name``'s password and end all their web sessions; return how many were ended."""
        _check_password(password)
        m = self._require_account(name)
        with self.transaction() as conn:
            conn.execute(update(moderators).where(moderators.c.id == m["id"])
                         .values(password_hash=hash_password(password)))
            return conn.execute(delete(sessions).where(sessions.c.moderator_id == m["id"])).rowcount

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (no login, no token, sessions ended, claims released) or enable a moderator."""
        m = self._require_account(name)
        with self.transaction() as conn:
            conn.execute(update(moderators).where(moderators.c.id == m["id"]).values(disabled=disabled))
            if disabled:
                self._log_out_everywhere(conn, m["id"])

    def remove_moderator(self, name: str) -> None:
        """Remove a moderator: they can no longer log in, their token and sessions end, their claims are
        released; their decisions stay in the log under their name."""
        m = self._require_account(name)
        with self.transaction() as conn:
            conn.execute(update(moderators).where(moderators.c.id == m["id"])
                         .values(removed_at=utc_now(), disabled=True, token_hash=None))
            self._log_out_everywhere(conn, m["id"])

    @staticmethod
    def _log_out_everywhere(conn, moderator_id: int) -> None:
        conn.execute(delete(sessions).where(sessions.c.moderator_id == moderator_id))
        conn.execute(update(comments).where(comments.c.claimed_by == moderator_id)
                     .values(claimed_by=None, claim_expires=None))

    def new_token(self, name: str) -> str:
        """A new API token for ``name`` (replacing any old one); only its hash is stored."""
        m = self._require_moderator(name)
        token = "mq_" + secrets.token_urlsafe(32)
        with self.transaction() as conn:
            conn.execute(update(moderators).where(moderators.c.id == m["id"]).values(token_hash=_token_hash(token)))
        return token

    def moderator_for_token(self, token: str) -> dict | None:
        if not token:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(_BY_TOKEN, {"token_hash": _token_hash(token)}).mappings().first()
        return dict(row) if row else None

    def list_moderators(self, *, accounts: bool = False) -> list[dict]:
        """The moderators who may log in (id, name, is_admin), by name.

        With ``accounts``, every account but the removed ones, with ``disabled``,
        ``created_at``, ``decisions`` (how many they made) and ``last_seen`` (web).
        """
        with self.engine.connect() as conn:
            if not accounts:
                return [dict(r) for r in conn.execute(select(*_PUBLIC).where(_LIVE).order_by(moderators.c.name))
                        .mappings()]
            made = (select(decisions.c.moderator_id, func.count().label("n")).group_by(decisions.c.moderator_id)
                    .subquery())
            seen = (select(sessions.c.moderator_id, func.max(sessions.c.last_seen_at).label("at"))
                    .group_by(sessions.c.moderator_id).subquery())
            rows = conn.execute(select(*_PUBLIC, moderators.c.disabled, moderators.c.created_at,
                                       func.coalesce(made.c.n, 0).label("decisions"), seen.c.at)
                                .outerjoin(made, made.c.moderator_id == moderators.c.id)
                                .outerjoin(seen, seen.c.moderator_id == moderators.c.id)
                                .where(moderators.c.removed_at.is_(None)).order_by(moderators.c.name)).mappings()
            return [{"id": r["id"], "name": r["name"], "is_admin": r["is_admin"], "disabled": r["disabled"],
                     "created_at": iso(r["created_at"]), "decisions": r["decisions"], "last_seen": iso(r["at"])}
                    for r in rows]

    # -- login throttling ---------------------------------------------------
    def _throttle_keys(self, conn, name: str, address: str) -> list[tuple[str, int]]:
        """(key, free failures) for this attempt: the address always, the name unless it logged in from there."""
        keys = [(_throttle_key("address", address), FREE_FAILURES_PER_ADDRESS)]
        known = conn.execute(select(login_throttle.c.key)
                             .where(login_throttle.c.key == _throttle_key("known", name, address))).first()
        if known is None:
            keys.append((_throttle_key("name", name), FREE_FAILURES_PER_NAME))
        return keys

    def login_wait(self, name: str, address: str, *, now: _dt.datetime | None = None) -> float:
        """Seconds before a login for ``name`` from ``address`` may be tried; 0: try now (and it counts as tried).

        Taking the turn is one transaction, so parallel guesses cannot share one.
        """
        now = now or utc_now()
        with self.transaction() as conn:
            keys = self._throttle_keys(conn, name, address)
            rows = {r["key"]: r for r in conn.execute(select(login_throttle).where(
                login_throttle.c.key.in_([k for k, _ in keys])).with_for_update()).mappings()}
            wait = 0.0
            for key, _ in keys:
                row = rows.get(key)
                if row is not None and not _forgotten(row, now):
                    wait = max(wait, (as_utc(row["next_at"]) - now).total_seconds())
            if wait > 0:
                return wait
            for key, free in keys:  # take the turn: the next attempt waits as if this one fails
                row = rows.get(key)
                if row is not None and not _forgotten(row, now):
                    conn.execute(update(login_throttle).where(login_throttle.c.key == key).values(
                        next_at=now + _dt.timedelta(seconds=login_delay(row["failures"] + 1, free))))
            return 0.0

    def login_failed(self, name: str, address: str, *, now: _dt.datetime | None = None) -> None:
        """Count a failed login against the name and the address (and forget stale counts and addresses)."""
        now = now or utc_now()
        with self.transaction() as conn:
            conn.execute(delete(login_throttle).where(
                (login_throttle.c.last_at < now - _dt.timedelta(seconds=FORGET_AFTER)) & (login_throttle.c.failures > 0)
                | (login_throttle.c.last_at < now - _dt.timedelta(seconds=KNOWN_FOR))))
            for key, free in self._throttle_keys(conn, name, address):
                _insert_missing(conn, key, now)
                row = conn.execute(select(login_throttle).where(login_throttle.c.key == key)
                                   .with_for_update()).mappings().one()
                failures = row["failures"] + 1
                conn.execute(update(login_throttle).where(login_throttle.c.key == key).values(
                    failures=failures, last_at=now,
                    next_at=now + _dt.timedelta(seconds=login_delay(failures, free))))

    def login_succeeded(self, name: str, address: str, *, now: _dt.datetime | None = None) -> None:
        """Forget the name's failures and remember the address as one the name logs in from."""
        now = now or utc_now()
        known = _throttle_key("known", name, address)
        with self.transaction() as conn:
            conn.execute(delete(login_throttle).where(login_throttle.c.key == _throttle_key("name", name)))
            _insert_missing(conn, known, now)
            conn.execute(update(login_throttle).where(login_throttle.c.key == known).values(last_at=now))

    # -- web sessions -------------------------------------------------------
    def create_session(self, moderator: str | int, *, ttl: int = SESSION_TTL) -> str:
        """Start a web session for ``moderator`` lasting ``ttl`` seconds; return its random id (256 bits).

        Only the id's SHA-256 is stored, so the table does not hold usable sessions.
        Expired sessions of everyone are deleted on the way (opportunistic purge).
        """
        m = self._require_moderator(moderator)
        session_id = secrets.token_urlsafe(32)
        now = utc_now()
        with self.transaction() as conn:
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
        now = utc_now()
        with self.engine.connect() as conn:
            row = conn.execute(select(*_PUBLIC, sessions.c.expires_at, sessions.c.last_seen_at)
                               .join(moderators, moderators.c.id == sessions.c.moderator_id)
                               .where(sessions.c.id_hash == key, _LIVE)).mappings().first()
        if row is None:
            return None
        if as_utc(row["expires_at"]) <= now:
            self.purge_sessions()
            return None
        if (now - as_utc(row["last_seen_at"])).total_seconds() >= SESSION_TOUCH:
            with self.transaction() as conn:
                conn.execute(update(sessions).where(sessions.c.id_hash == key).values(last_seen_at=now))
        return {"id": row["id"], "name": row["name"], "is_admin": row["is_admin"]}

    def revoke_session(self, session_id: str | None) -> bool:
        """End one session (logout): every copy of its cookie stops working. False if there was no such session."""
        if not session_id or not isinstance(session_id, str):
            return False
        with self.transaction() as conn:
            return conn.execute(delete(sessions).where(sessions.c.id_hash == _token_hash(session_id))).rowcount == 1

    def revoke_sessions(self, moderator: str | int) -> int:
        """End every session of ``moderator`` (all their browsers); return how many there were.

        For a compromised account, or after changing who may log in. API tokens are
        separate: ``new_token`` replaces a moderator's token.
        """
        m = self._require_moderator(moderator)
        with self.transaction() as conn:
            return conn.execute(delete(sessions).where(sessions.c.moderator_id == m["id"])).rowcount

    def purge_sessions(self) -> int:
        """Delete the expired sessions; return how many (``create_session`` does this too)."""
        with self.transaction() as conn:
            return conn.execute(delete(sessions).where(sessions.c.expires_at <= utc_now())).rowcount


def _insert_missing(conn, key: str, now) -> None:
    """A throttle row for ``key`` with no failures, unless there is one (concurrent requests may both insert)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as insert_or
    else:
        from sqlalchemy.dialects.sqlite import insert as insert_or
    conn.execute(insert_or(login_throttle).values(key=key, failures=0, next_at=now, last_at=now)
                 .on_conflict_do_nothing())


def _forgotten(row, now) -> bool:
    return (now - as_utc(row["last_at"])).total_seconds() > FORGET_AFTER

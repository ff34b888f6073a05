"""Moderators, their passwords, API tokens and web sessions.

Passwords are stored as scrypt hashes; API tokens and session ids are 256 random
bits of which only a SHA-256 is stored, so the database never holds a usable
secret.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import secrets
from functools import lru_cache

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import ModerationError
from .schema import as_utc, moderators, sessions, utc_now

__all__ = ["Accounts", "hash_password", "verify_password", "SESSION_TTL", "SESSION_TOUCH"]

SESSION_TTL = 12 * 3600  # seconds a web session lasts from login (not extended by use)
SESSION_TOUCH = 60  # a session's last_seen_at is rewritten at most this often (not a write per request)

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



class Accounts:
    """The moderators, tokens and sessions of a ``Store`` (which provides ``self.engine``)."""

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
                    created_at=utc_now())).inserted_primary_key[0]
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
        with self.engine.connect() as conn:
            row = conn.execute(select(moderators).where(moderators.c.name == name)).mappings().first()
        if row is None:
            verify_password(password, _dummy_hash())
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
        now = utc_now()
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
        now = utc_now()
        with self.engine.connect() as conn:
            row = conn.execute(select(moderators.c.id, moderators.c.name, moderators.c.is_admin,
                                      sessions.c.expires_at, sessions.c.last_seen_at)
                               .join(moderators, moderators.c.id == sessions.c.moderator_id)
                               .where(sessions.c.id_hash == key)).mappings().first()
        if row is None:
            return None
        if as_utc(row["expires_at"]) <= now:
            self.purge_sessions()
            return None
        if (now - as_utc(row["last_seen_at"])).total_seconds() >= SESSION_TOUCH:
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
            return conn.execute(delete(sessions).where(sessions.c.expires_at <= utc_now())).rowcount

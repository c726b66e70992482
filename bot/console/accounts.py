"""Console accounts: bcrypt password hashes, server-side sessions behind a signed cookie, audit."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import bcrypt
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.gateway import tables as t
from bot.handoff.machine import ROLES, Actor

LANGUAGES = ("en", "ar", "fa", "ps", "sr")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
SESSION_HOURS = 12
SEEN_EVERY = dt.timedelta(seconds=30)  # last_seen_at is written at most this often per session
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


class AccountError(ValueError):
    """A user could not be created; the message says why, for a person to read."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.timezone.utc)


# --- passwords ---------------------------------------------------------------------------------
def _prehash(password: str) -> bytes:
    # bcrypt reads at most 72 bytes (bcrypt 5 refuses more): long passphrases, e.g. in Arabic
    # script, are reduced to a fixed 44-byte SHA-256 digest first, so every character counts.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_password(password: str, password_hash: str | None) -> bool:
    """Constant work whether or not the user exists (no user enumeration by timing)."""
    if len(password) > MAX_PASSWORD:
        password = password[:MAX_PASSWORD]
    candidate = (password_hash or _dummy_hash()).encode("ascii")
    try:
        ok = bcrypt.checkpw(_prehash(password), candidate)
    except ValueError:
        return False
    return ok and password_hash is not None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters (it has {len(password)})"
    if len(password) > MAX_PASSWORD:
        return f"the password must have at most {MAX_PASSWORD} characters"
    return None


# --- users -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class User:
    username: str
    role: str
    languages: tuple[str, ...]
    team: str | None
    active: bool = True

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role)

    @property
    def supervises(self) -> bool:
        return self.role in ("supervisor", "admin")

    def as_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "languages": list(self.languages),
            "team": self.team,
        }


def _user(row: Any) -> User:
    languages = tuple(c for c in (row.languages or "").split(",") if c)
    return User(row.username, row.role, languages, row.team, bool(row.active))


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    languages: tuple[str, ...] = (),
    team: str | None = None,
    actor: str = "cli",
    rounds: int = 12,
) -> User:
    username = username.strip()
    if not username or len(username) > 64 or not set(username.lower()) <= USERNAME_CHARS:
        raise AccountError(
            "the user name must be 1-64 letters, digits, dots, dashes or underscores"
        )
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
    unknown = [code for code in languages if code not in LANGUAGES]
    if unknown:
        raise AccountError(f"unknown language {unknown[0]!r}; known: {', '.join(LANGUAGES)}")
    if team is not None and not 1 <= len(team) <= 32:
        raise AccountError("the team name must have 1-32 characters")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(t.users).values(
                    username=username,
                    password_hash=hash_password(password, rounds),
                    role=role,
                    languages=",".join(languages),
                    team=team,
                    active=True,
                    created_at=now(),
                )
            )
            audit_in(
                conn,
                actor,
                "user_created",
                username,
                {"role": role, "languages": list(languages), "team": team},
            )
    except IntegrityError:
        raise AccountError(f"a user named {username!r} already exists") from None
    return User(username, role, tuple(languages), team)


def get_user(engine: Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
    return _user(row) if row else None


def password_hash_of(engine: Engine, username: str) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(t.users.c.password_hash).where(
                and_(t.users.c.username == username, t.users.c.active.is_(True))
            )
        ).first()
    return row.password_hash if row else None


def staff(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(t.users).order_by(t.users.c.username)).all()
    return [
        {
            **_user(r).as_json(),
            "active": bool(r.active),
            "last_seen_at": _iso(_aware(r.last_seen_at)),
        }
        for r in rows
    ]


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- sessions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    id: str
    user: User
    csrf_token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def sign(secret: str, token: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), token.encode("ascii"), hashlib.sha256).hexdigest()
    return f"{token}.{mac}"


def unsign(secret: str, cookie: str) -> str | None:
    token, _, mac = cookie.rpartition(".")
    if not token or len(cookie) > 200 or not token.replace("-", "").replace("_", "").isalnum():
        return None
    expected = hmac.new(secret.encode("utf-8"), token.encode("ascii"), hashlib.sha256).hexdigest()
    return token if hmac.compare_digest(expected, mac) else None


def start_session(engine: Engine, user: User) -> tuple[str, Session]:
    """A new session; (the token for the cookie, the session)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    moment = now()
    expires = moment + dt.timedelta(hours=SESSION_HOURS)
    with engine.begin() as conn:
        conn.execute(delete(t.sessions).where(t.sessions.c.expires_at < moment))
        conn.execute(
            insert(t.sessions).values(
                id=_digest(token),
                username=user.username,
                csrf_token=csrf,
                created_at=moment,
                expires_at=expires,
                last_seen_at=moment,
            )
        )
        conn.execute(
            update(t.users).where(t.users.c.username == user.username).values(last_seen_at=moment)
        )
    return token, Session(_digest(token), user, csrf, expires)


def load_session(engine: Engine, token: str) -> Session | None:
    """The live session of a token (the user still active), and the user marked as seen."""
    moment = now()
    with engine.connect() as conn:
        row = conn.execute(
            select(
                t.sessions,
                t.users.c.role,
                t.users.c.languages,
                t.users.c.team,
                t.users.c.active,
                t.users.c.last_seen_at.label("user_seen"),
            )
            .join(t.users, t.users.c.username == t.sessions.c.username)
            .where(t.sessions.c.id == _digest(token))
        ).first()
    if row is None or not row.active or _aware(row.expires_at) <= moment:  # type: ignore[operator]
        return None
    user = User(
        row.username, row.role, tuple(c for c in (row.languages or "").split(",") if c), row.team
    )
    seen = _aware(row.user_seen)
    if seen is None or moment - seen > SEEN_EVERY:
        with engine.begin() as conn:
            conn.execute(
                update(t.users)
                .where(t.users.c.username == user.username)
                .values(last_seen_at=moment)
            )
            conn.execute(
                update(t.sessions).where(t.sessions.c.id == row.id).values(last_seen_at=moment)
            )
    return Session(row.id, user, row.csrf_token, _aware(row.expires_at))  # type: ignore[arg-type]


def end_session(engine: Engine, session_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(t.sessions).where(t.sessions.c.id == session_id))


# --- audit -------------------------------------------------------------------------------------
def audit_in(
    conn: Any,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(t.audit).values(
            actor=actor[:64],
            action=action[:48],
            target=None if target is None else str(target)[:64],
            detail=detail,
            at=now(),
        )
    )


def audit(
    engine: Engine,
    actor: str,
    action: str,
    target: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    with engine.begin() as conn:
        audit_in(conn, actor, action, None if target is None else str(target), detail)


def audit_log(engine: Engine, limit: int = 200, action: str | None = None) -> list[dict[str, Any]]:
    query = select(t.audit).order_by(t.audit.c.id.desc()).limit(limit)
    if action:
        query = query.where(t.audit.c.action == action)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "id": r.id,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "detail": r.detail,
            "at": _iso(_aware(r.at)),
        }
        for r in rows
    ]

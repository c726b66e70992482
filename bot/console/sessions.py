"""Console sessions: a random token in a signed cookie, its hash in gw_session; idle and absolute limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from bot.console.accounts import User, _aware, audit_in, now
from bot.gateway import tables as t

SEEN_EVERY = dt.timedelta(seconds=30)  # last_seen_at is written at most this often
IDLE_MINUTES = 30  # PUTOKAZ_CONSOLE_IDLE_MINUTES
SESSION_HOURS = 12  # PUTOKAZ_CONSOLE_SESSION_HOURS
LOG_IN = "log in first"
ENDED = "your session has ended; log in again"
REASONS = {  # gw_session.ended -> what the 401 says (idle and lifetime depend on the policy)
    "deactivated": "an admin deactivated this account",
    "password": "an admin set a new password for this account; log in with it",
}


class SessionEnded(Exception):
    """No live session for this token; the message says why, for the 401."""


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: `idle` without the person acting, `lifetime` after the login.
    `clock` is the time source (tests move it instead of sleeping)."""

    idle: dt.timedelta = dt.timedelta(minutes=IDLE_MINUTES)
    lifetime: dt.timedelta = dt.timedelta(hours=SESSION_HOURS)
    clock: Callable[[], dt.datetime] = field(default=now)

    @classmethod
    def from_settings(cls, settings: Any) -> SessionPolicy:
        return cls(dt.timedelta(minutes=settings.console_idle_minutes),
                   dt.timedelta(hours=settings.console_session_hours))

    @property
    def idle_reason(self) -> str:
        minutes = int(self.idle.total_seconds() // 60)
        return f"your session ended after {minutes} minutes without activity; log in again"

    @property
    def lifetime_reason(self) -> str:
        hours = round(self.lifetime.total_seconds() / 3600, 1)
        return f"your session reached its {hours:g}-hour limit; log in again"


@dataclass(frozen=True)
class Session:
    id: str
    user: User
    csrf_token: str
    expires_at: dt.datetime  # the absolute end; idleness may end it sooner


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


def start_session(engine: Engine, user: User, policy: SessionPolicy | None = None) -> tuple[str, Session]:
    """A new session; (the token for the cookie, the session). Also the user's last login."""
    policy = policy or SessionPolicy()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    moment = policy.clock()
    expires = moment + policy.lifetime
    with engine.begin() as conn:
        conn.execute(delete(t.sessions).where(or_(  # forget sessions long over (an ended one keeps its reason a while)
            t.sessions.c.expires_at < moment, t.sessions.c.last_seen_at < moment - policy.idle)))
        conn.execute(insert(t.sessions).values(
            id=_digest(token), username=user.username, csrf_token=csrf, created_at=moment,
            expires_at=expires, last_seen_at=moment))
        conn.execute(update(t.users).where(t.users.c.username == user.username)
                     .values(last_seen_at=moment, last_login_at=moment))
    return token, Session(_digest(token), user, csrf, expires)


def resume_session(engine: Engine, token: str, policy: SessionPolicy | None = None,
                   active: bool = True) -> Session:
    """The live session of a token, or SessionEnded saying why. `active`: the person did something
    (a background refresh or the event stream is not activity, so it does not keep a session alive);
    either way the user counts as online."""
    policy = policy or SessionPolicy()
    moment = policy.clock()
    with engine.connect() as conn:
        row = conn.execute(
            select(t.sessions, t.users.c.role, t.users.c.languages, t.users.c.team, t.users.c.active,
                   t.users.c.last_seen_at.label("user_seen"))
            .join(t.users, t.users.c.username == t.sessions.c.username)
            .where(t.sessions.c.id == _digest(token))
        ).first()
    if row is None:
        raise SessionEnded(ENDED)
    if row.ended:  # every request of an ended session says the same, however many were in flight
        raise SessionEnded(_reason(row.ended, policy))
    created = _aware(row.created_at)
    seen = _aware(row.last_seen_at) or created
    assert created is not None and seen is not None
    why = None
    if not row.active:
        why = "deactivated"
    elif moment - created >= policy.lifetime:
        why = "lifetime"
    elif moment - seen >= policy.idle:
        why = "idle"
    if why is not None:
        with engine.begin() as conn:
            if conn.execute(update(t.sessions).where(and_(t.sessions.c.id == row.id, t.sessions.c.ended.is_(None)))
                            .values(ended=why)).rowcount:
                audit_in(conn, row.username, "session_expired", row.username, {"why": why}, moment)
        raise SessionEnded(_reason(why, policy))
    user = User(row.username, row.role, tuple(c for c in (row.languages or "").split(",") if c), row.team)
    user_seen = _aware(row.user_seen)
    touch_session = active and moment - seen > SEEN_EVERY
    touch_user = user_seen is None or moment - user_seen > SEEN_EVERY
    if touch_session or touch_user:
        with engine.begin() as conn:
            if touch_user:
                conn.execute(update(t.users).where(t.users.c.username == user.username).values(last_seen_at=moment))
            if touch_session:
                conn.execute(update(t.sessions).where(t.sessions.c.id == row.id).values(last_seen_at=moment))
    return Session(row.id, user, row.csrf_token, created + policy.lifetime)


def load_session(engine: Engine, token: str, policy: SessionPolicy | None = None,
                 active: bool = True) -> Session | None:
    try:
        return resume_session(engine, token, policy, active)
    except SessionEnded:
        return None


def end_session(engine: Engine, session_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(t.sessions).where(t.sessions.c.id == session_id))


def end_sessions_of(conn: Any, username: str, why: str) -> int:
    """Every live session of a user ends, for a reason in REASONS (in the caller's transaction); how many."""
    assert why in REASONS
    ended = conn.execute(update(t.sessions).where(and_(t.sessions.c.username == username, t.sessions.c.ended.is_(None)))
                         .values(ended=why))
    return int(ended.rowcount or 0)


def _reason(why: str, policy: SessionPolicy) -> str:
    if why == "idle":
        return policy.idle_reason
    if why == "lifetime":
        return policy.lifetime_reason
    return REASONS.get(why, ENDED)

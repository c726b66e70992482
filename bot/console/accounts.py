"""Console accounts: bcrypt password hashes, users and their management by admins, the audit trail.
Sessions are in sessions.py, the audit log's reading in auditlog.py."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import bcrypt
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.gateway import tables as t
from bot.handoff.machine import ROLES, Actor

LANGUAGES = ("en", "ar", "fa", "ps", "sr")
MIN_PASSWORD = 12
MIN_DISTINCT = 5  # "aaaaaaaaaaaa" and "121212121212" are not passwords
MAX_PASSWORD = 1024
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


class AccountError(ValueError):
    """An account could not be created or changed; the message says why, for a person to read."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status  # for the API: 400 bad input, 404 no such user, 409 conflict


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


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why a new password is too weak (checked on the server: the page's check is a courtesy), or None."""
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters (it has {len(password)})"
    if len(password) > MAX_PASSWORD:
        return f"the password must have at most {MAX_PASSWORD} characters"
    if len(set(password)) < MIN_DISTINCT:
        return f"the password must use at least {MIN_DISTINCT} different characters"
    if username and len(username) >= 3 and username.strip().lower() in password.lower():
        return "the password must not contain the user name"
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


def _check_fields(role: str | None, languages: tuple[str, ...] | None, team: str | None) -> None:
    if role is not None and role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
    unknown = [code for code in languages or () if code not in LANGUAGES]
    if unknown:
        raise AccountError(f"unknown language {unknown[0]!r}; known: {', '.join(LANGUAGES)}")
    if team is not None and not 1 <= len(team) <= 32:
        raise AccountError("the team name must have 1-32 characters")


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
        raise AccountError("the user name must be 1-64 letters, digits, dots, dashes or underscores")
    _check_fields(role, languages, team)
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    try:
        with engine.begin() as conn:
            conn.execute(insert(t.users).values(
                username=username, password_hash=hash_password(password, rounds), role=role,
                languages=",".join(languages), team=team, active=True, created_at=now()))
            audit_in(conn, actor, "user_created", username,  # never the password
                     {"role": role, "languages": list(languages), "team": team})
    except IntegrityError:
        raise AccountError(f"a user named {username!r} already exists", 409) from None
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


def accounts(engine: Engine) -> list[dict[str, Any]]:
    """Every account for the admin page (never the password hash)."""
    with engine.connect() as conn:
        rows = conn.execute(select(t.users).order_by(t.users.c.username)).all()
    return [{**_user(r).as_json(), "active": bool(r.active), "last_login_at": _iso(_aware(r.last_login_at)),
             "last_seen_at": _iso(_aware(r.last_seen_at)), "created_at": _iso(_aware(r.created_at))}
            for r in rows]


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- an admin changes accounts -----------------------------------------------------------------
def _locked_account(conn: Any, username: str) -> Any:
    """The account's row, and every active admin's row locked, so that two admins demoting
    themselves at once cannot leave nobody in charge: PostgreSQL locks the rows (in one order);
    SQLite takes its single write lock before reading, else the later writer's snapshot is stale."""
    if conn.dialect.name == "sqlite":
        conn.execute(update(t.users).where(t.users.c.username == username).values(username=t.users.c.username))
    conn.execute(select(t.users.c.username).where(
        and_(t.users.c.role == "admin", t.users.c.active.is_(True))).order_by(t.users.c.username).with_for_update())
    row = conn.execute(select(t.users).where(t.users.c.username == username).with_for_update()).first()
    if row is None:
        raise AccountError(f"no account named {username!r}", 404)
    return row


def _an_admin_remains(conn: Any, actor: str, username: str) -> None:
    admins = conn.execute(select(func.count()).select_from(t.users).where(
        and_(t.users.c.role == "admin", t.users.c.active.is_(True)))).scalar_one()
    if not admins:
        who = "you are" if actor == username else f"{username} is"
        raise AccountError(f"{who} the last active admin: make another account admin first", 409)


def change_account(engine: Engine, actor: str, username: str,
                   wanted: dict[str, Any]) -> tuple[User, dict[str, Any]]:
    """`wanted`: any of role (str), languages (tuple of codes), team (str, or None for the fallback
    team). (the user, what changed: {field: {"from", "to"}}), audited when anything did."""
    unknown = set(wanted) - {"role", "languages", "team"}
    if unknown:
        raise AccountError(f"only role, languages and team can change, not {sorted(unknown)[0]}")
    _check_fields(wanted.get("role"), wanted.get("languages"), wanted.get("team"))
    with engine.begin() as conn:
        row = _locked_account(conn, username)
        before = _user(row)
        current = {"role": before.role, "languages": before.languages, "team": before.team}
        changes = {name: {"from": current[name], "to": value} for name, value in wanted.items()
                   if value != current[name]}
        if not changes:
            return before, {}
        values = {name: ",".join(c["to"]) if name == "languages" else c["to"] for name, c in changes.items()}
        conn.execute(update(t.users).where(t.users.c.username == username).values(**values))
        _an_admin_remains(conn, actor, username)
        if "languages" in changes:  # JSON lists in the audit detail
            changes["languages"] = {key: list(codes) for key, codes in changes["languages"].items()}
        audit_in(conn, actor, "user_changed", username, changes)
        after = conn.execute(select(t.users).where(t.users.c.username == username)).first()
    return _user(after), changes


def set_active(engine: Engine, actor: str, username: str, active: bool) -> tuple[User, int]:
    """Deactivate (every session of the account ends at once) or reactivate; (the user, sessions ended)."""
    from bot.console.sessions import end_sessions_of

    with engine.begin() as conn:
        row = _locked_account(conn, username)
        ended = 0
        if bool(row.active) != active:
            conn.execute(update(t.users).where(t.users.c.username == username).values(active=active))
            _an_admin_remains(conn, actor, username)
        if not active:
            ended = end_sessions_of(conn, username, "deactivated")
        if bool(row.active) != active:
            audit_in(conn, actor, "user_reactivated" if active else "user_deactivated", username,
                     None if active else {"sessions_ended": ended})
    return User(row.username, row.role, _user(row).languages, row.team, active), ended


def reset_password(engine: Engine, actor: str, username: str, password: str, rounds: int = 12) -> int:
    """A new password; every session of the account ends. How many sessions ended."""
    from bot.console.sessions import end_sessions_of

    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    hashed = hash_password(password, rounds)  # before the transaction: bcrypt takes a while
    with engine.begin() as conn:
        _locked_account(conn, username)
        conn.execute(update(t.users).where(t.users.c.username == username).values(password_hash=hashed))
        ended = end_sessions_of(conn, username, "password")
        audit_in(conn, actor, "password_reset", username, {"sessions_ended": ended})  # never the password
    return ended


# --- audit -------------------------------------------------------------------------------------
def audit_in(
    conn: Any,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    conn.execute(
        insert(t.audit).values(
            actor=actor[:64],
            action=action[:48],
            target=None if target is None else str(target)[:64],
            detail=detail,
            at=at or now(),
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

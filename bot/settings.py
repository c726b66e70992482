"""Settings from the environment: one typed place, secrets masked, bad values fail fast by name."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.handoff.teams import Teams


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Secret:
    value: str

    def __repr__(self) -> str:
        return "Secret('**********')" if self.value else "Secret('')"

    def __str__(self) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self.value)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}")
    return value


def _secret_key(env: Mapping[str, str], data_dir: Path) -> Secret:
    """PUTOKAZ_SECRET_KEY, else one made once and kept in the data folder (local use)."""
    if env.get("PUTOKAZ_SECRET_KEY"):
        return Secret(env["PUTOKAZ_SECRET_KEY"])
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return Secret(path.read_text(encoding="utf-8").strip())


def _hours(env: Mapping[str, str]) -> str:
    from bot.handoff.hours import DEFAULT_HOURS, parse_hours

    value = env.get("PUTOKAZ_TEAM_HOURS", "").strip() or DEFAULT_HOURS
    try:
        parse_hours(value)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return value


def _redis_prefix(env: Mapping[str, str]) -> str:
    value = env.get("PUTOKAZ_REDIS_PREFIX", "").strip() or "putokaz"
    if len(value) > 32 or not all(c.isascii() and (c.isalnum() or c in "_-.") for c in value):
        raise SettingsError(f"PUTOKAZ_REDIS_PREFIX must be 1-32 letters, digits, '_', '-' or '.', not {value!r}")
    return value


def teams_from_env(env: Mapping[str, str] | None = None) -> Teams:
    """PUTOKAZ_TEAMS_FILE (YAML), else the bundled single team; teams without hours work PUTOKAZ_TEAM_HOURS.
    A bad file fails with its name, line, team and field."""
    from bot.handoff.teams import TeamsError, load_teams

    env = os.environ if env is None else env
    raw = env.get("PUTOKAZ_TEAMS_FILE", "").strip()
    try:
        return load_teams(Path(raw) if raw else None, _hours(env))
    except TeamsError as exc:
        raise SettingsError(f"PUTOKAZ_TEAMS_FILE: {exc}") from None


def _default_teams() -> Teams:
    from bot.handoff.teams import load_teams

    return load_teams()


def _twilio(env: Mapping[str, str]) -> str:
    """TWILIO_ACCOUNT_SID, checked: the three Twilio settings come together."""
    names = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM")
    given = [name for name in names if env.get(name, "").strip()]
    if given and len(given) < len(names):
        missing = ", ".join(name for name in names if name not in given)
        raise SettingsError(f"WhatsApp through Twilio needs {missing} too (set: {', '.join(given)})")
    return env.get("TWILIO_ACCOUNT_SID", "").strip()


_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")


def _content_sids(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """TWILIO_REENGAGE_CONTENT: one approved content template ("HX" and 32 hex digits) for every language, or
    one per language ("en=HX...,ar=HX..."; the first is the default)."""
    raw = env.get("TWILIO_REENGAGE_CONTENT", "").strip()
    pairs = []
    for n, item in enumerate(filter(None, (i.strip() for i in raw.split(","))), 1):
        language, _, sid = item.rpartition("=")
        language = language.strip().lower()
        if language and language not in ("en", "ar", "fa", "ps", "sr"):
            raise SettingsError(f"TWILIO_REENGAGE_CONTENT, item {n}: {language!r} is not en, ar, fa, ps or sr")
        if not _CONTENT_SID.fullmatch(sid.strip()):
            raise SettingsError(f"TWILIO_REENGAGE_CONTENT, item {n}: {sid.strip()!r} is not a content SID "
                                "(HX and 32 hexadecimal digits)")
        pairs.append((language, sid.strip()))
    return tuple(pairs)


@dataclass(frozen=True)
class Settings:
    port: int = 8000
    host: str = "127.0.0.1"
    rasa_urls: tuple[str, ...] = ("http://127.0.0.1:5005",)
    actions_url: str = "http://127.0.0.1:5055"
    database_url: str = ""
    redis_url: str = ""  # empty: in-process stores (one gateway process)
    data_dir: Path = Path("var")
    secret_key: Secret = field(default_factory=lambda: Secret(""))
    telegram_token: Secret = field(default_factory=lambda: Secret(""))
    telegram_webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    telegram_api_base_url: str = ""
    telegram_polling: bool = False  # long polling instead of a webhook: local use without a public URL
    whatsapp_verify_token: Secret = field(default_factory=lambda: Secret(""))
    whatsapp_app_secret: Secret = field(default_factory=lambda: Secret(""))
    whatsapp_token: Secret = field(default_factory=lambda: Secret(""))
    whatsapp_phone_number_id: str = ""
    whatsapp_api_base_url: str = "https://graph.facebook.com/v20.0"
    whatsapp_template_reengage: str = "putokaz_reengage"
    twilio_account_sid: str = ""  # WhatsApp through Twilio instead of (or beside) Meta's Cloud API
    twilio_auth_token: Secret = field(default_factory=lambda: Secret(""))
    twilio_whatsapp_from: str = ""  # "whatsapp:+14155238886"
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_webhook_url: str = ""  # the public URL Twilio signs, when a proxy changes it; default: the request's
    twilio_reengage_content: tuple[tuple[str, str], ...] = ()  # (language or "", ContentSid HX...) pairs
    retention_days: int = 30
    rate_limit_per_minute: int = 20
    handoff_unclaimed_minutes: int = 15
    retry_seconds: float = 5.0
    team_hours: str = "mo-fr 08:00-20:00; sa 10:00-16:00"  # Europe/Belgrade; closed on public holidays
    redis_prefix: str = "putokaz"  # Redis keys and pub/sub channels: deployments sharing one Redis stay apart
    console_idle_minutes: int = 30  # a console session ends after this long without the person acting
    console_session_hours: int = 12  # ... and this long after the login in any case
    teams: Teams = field(default_factory=_default_teams, repr=False)  # who answers handoffs where, and when

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("PUTOKAZ_DATA_DIR", "var"))
        rasa = tuple(u.strip().rstrip("/") for u in env.get("RASA_URL", "http://127.0.0.1:5005").split(",")
                     if u.strip())
        if not rasa:
            raise SettingsError("RASA_URL must name at least one Rasa server")
        for url in rasa:
            if not url.startswith(("http://", "https://")):
                raise SettingsError(f"RASA_URL must be http(s) URLs, not {url!r}")
        whatsapp = (env.get("WHATSAPP_TOKEN"), env.get("WHATSAPP_PHONE_NUMBER_ID"))
        if any(whatsapp) and not all(whatsapp):
            missing = "WHATSAPP_PHONE_NUMBER_ID" if whatsapp[0] else "WHATSAPP_TOKEN"
            raise SettingsError(f"{missing} is needed together with the other WhatsApp setting")
        return cls(
            port=_int(env, "PUTOKAZ_PORT", 8000, 1),
            host=env.get("PUTOKAZ_HOST", "127.0.0.1"),
            rasa_urls=rasa,
            actions_url=env.get("PUTOKAZ_ACTIONS_URL", "http://127.0.0.1:5055").rstrip("/"),
            database_url=env.get("DATABASE_URL", ""),
            redis_url=env.get("REDIS_URL", ""),
            data_dir=data_dir,
            secret_key=_secret_key(env, data_dir),
            telegram_token=Secret(env.get("TELEGRAM_BOT_TOKEN", "")),
            telegram_webhook_secret=Secret(env.get("TELEGRAM_WEBHOOK_SECRET", "")),
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL", ""),
            telegram_polling=env.get("TELEGRAM_POLLING", "").strip().lower() in ("1", "true", "yes"),
            whatsapp_verify_token=Secret(env.get("WHATSAPP_VERIFY_TOKEN", "")),
            whatsapp_app_secret=Secret(env.get("WHATSAPP_APP_SECRET", "")),
            whatsapp_token=Secret(env.get("WHATSAPP_TOKEN", "")),
            whatsapp_phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
            whatsapp_api_base_url=env.get("WHATSAPP_API_BASE_URL", "https://graph.facebook.com/v20.0").rstrip("/"),
            whatsapp_template_reengage=env.get("WHATSAPP_TEMPLATE_REENGAGE", "putokaz_reengage"),
            twilio_account_sid=_twilio(env),
            twilio_auth_token=Secret(env.get("TWILIO_AUTH_TOKEN", "")),
            twilio_whatsapp_from=env.get("TWILIO_WHATSAPP_FROM", "").strip(),
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL", "").strip().rstrip("/") or "https://api.twilio.com",
            twilio_webhook_url=env.get("TWILIO_WEBHOOK_URL", "").strip(),
            twilio_reengage_content=_content_sids(env),
            retention_days=_int(env, "PUTOKAZ_RETENTION_DAYS", 30, 1),
            rate_limit_per_minute=_int(env, "PUTOKAZ_RATE_LIMIT_PER_MINUTE", 20, 1),
            handoff_unclaimed_minutes=_int(env, "PUTOKAZ_HANDOFF_UNCLAIMED_MINUTES", 15, 1),
            team_hours=_hours(env),
            redis_prefix=_redis_prefix(env),
            console_idle_minutes=_int(env, "PUTOKAZ_CONSOLE_IDLE_MINUTES", 30, 1),
            console_session_hours=_int(env, "PUTOKAZ_CONSOLE_SESSION_HOURS", 12, 1),
            teams=teams_from_env(env),
        )

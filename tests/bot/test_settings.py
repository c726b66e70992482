"""Settings from the environment: the console's session limits, the Redis prefix, Twilio's templates."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def settings(tmp_path: object, **env: str) -> Settings:
    return Settings.from_env({"PUTOKAZ_DATA_DIR": str(tmp_path), "PUTOKAZ_SECRET_KEY": "x" * 32, **env})


def test_defaults(tmp_path: object) -> None:
    got = settings(tmp_path)
    assert (got.console_idle_minutes, got.console_session_hours, got.redis_prefix) == (30, 12, "putokaz")


def test_twilio_reengagement_templates_one_or_per_language(tmp_path: object) -> None:
    one, other = "HX" + "a" * 32, "HX" + "b" * 32
    assert settings(tmp_path, TWILIO_REENGAGE_CONTENT=one).twilio_reengage_content == (("", one),)
    assert settings(tmp_path, TWILIO_REENGAGE_CONTENT=f" en={one} , AR={other},").twilio_reengage_content == (
        ("en", one), ("ar", other))


def test_values_from_the_environment(tmp_path: object) -> None:
    got = settings(tmp_path, PUTOKAZ_CONSOLE_IDLE_MINUTES="15", PUTOKAZ_CONSOLE_SESSION_HOURS="8",
                   PUTOKAZ_REDIS_PREFIX="putokaz-staging")
    assert (got.console_idle_minutes, got.console_session_hours, got.redis_prefix) == (15, 8, "putokaz-staging")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PUTOKAZ_CONSOLE_IDLE_MINUTES", "0", "PUTOKAZ_CONSOLE_IDLE_MINUTES must be at least 1"),
    ("PUTOKAZ_CONSOLE_IDLE_MINUTES", "half an hour", "PUTOKAZ_CONSOLE_IDLE_MINUTES must be a whole number"),
    ("PUTOKAZ_CONSOLE_SESSION_HOURS", "-1", "PUTOKAZ_CONSOLE_SESSION_HOURS must be at least 1"),
    ("PUTOKAZ_REDIS_PREFIX", "put okaz", "PUTOKAZ_REDIS_PREFIX must be 1-32 letters"),
    ("PUTOKAZ_REDIS_PREFIX", "a:b", "PUTOKAZ_REDIS_PREFIX must be 1-32 letters"),
    ("TWILIO_REENGAGE_CONTENT", "HX123", "TWILIO_REENGAGE_CONTENT, item 1: 'HX123' is not a content SID"),
    ("TWILIO_REENGAGE_CONTENT", f"en=HX{'a' * 32}, de=HX{'b' * 32}", "item 2: 'de' is not en, ar, fa, ps or sr"),
])
def test_a_bad_value_fails_naming_the_variable(tmp_path: object, name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(tmp_path, **{name: value})

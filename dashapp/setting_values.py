"""Parsers of setting values: each takes (variable name, raw text) and returns a value.

A wrong value raises `ConfigError` with one line naming the variable and what it
accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A setting has a value the app cannot accept."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={raw!r} is invalid: expected true/false (1/0, yes/no)")


def _range(cast: type, kind: str, lo: float, hi: float) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> Any:
        try:
            value = cast(raw.strip())
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise ConfigError(f"{name}={raw!r} is invalid: expected {kind} {lo}..{hi}")
        return value

    return parse


def _int_range(lo: int, hi: int) -> Callable[[str, str], int]:
    return _range(int, "an integer", lo, hi)


def _float_range(lo: float, hi: float) -> Callable[[str, str], float]:
    return _range(float, "a number", lo, hi)


def _choice(*choices: str, fold: Callable[[str], str] = str.upper) -> Callable:
    def parse(name: str, raw: str) -> str:
        value = fold(raw.strip())
        if value not in choices:
            raise ConfigError(
                f"{name}={raw!r} is invalid: expected one of {', '.join(choices)}"
            )
        return value

    return parse


def _lower_choice(*choices: str) -> Callable[[str, str], str]:
    return _choice(*choices, fold=str.lower)


def _database_url(name: str, raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    if value.startswith("postgres://"):
        value = "postgresql://" + value[len("postgres://") :]
    ok = value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://"))
    if not ok:
        raise ConfigError(
            f"{name}={raw!r} is invalid: expected sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB"
        )
    return value


def _redis_url(name: str, raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{name}={raw!r} is invalid: expected redis://HOST:PORT/DB (or empty)"
        )
    return value


def _ws_url(name: str, raw: str) -> str:
    value = raw.strip()
    if not value.startswith(("ws://", "wss://")):
        raise ConfigError(f"{name}={raw!r} is invalid: expected a ws:// or wss:// URL")
    return value


def _http_url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"{name}={raw!r} is invalid: expected an http:// or https:// URL"
        )
    return value


def _origins(name: str, raw: str) -> tuple[str, ...]:
    items = tuple(o.strip() for o in raw.split(",") if o.strip())
    for origin in items:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(
                f"{name}={raw!r} is invalid: expected comma-separated "
                "http(s):// origins or *"
            )
    return items


def _text(name: str, raw: str) -> str:
    return raw.strip()


def _optional_text(name: str, raw: str) -> str | None:
    return raw.strip() or None


def _host(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or " " in value:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a host name or IP")
    return value


def _rate_limit(name: str, raw: str) -> str:
    from limits import parse_many

    value = raw.strip()
    try:
        if not parse_many(value):
            raise ValueError(value)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is invalid: expected a rate such as 600/minute "
            "(several separated by ;)"
        ) from None
    return value

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


def parse_bool(name: str, raw: str) -> bool:
    """Parse a true/false flag (1/0, yes/no, on/off; empty is false)."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={raw!r} is invalid: expected true/false (1/0, yes/no)")


def number_range(
    cast: type, kind: str, lo: float, hi: float
) -> Callable[[str, str], Any]:
    """Return a parser of numbers of type `cast` between `lo` and `hi`."""

    def parse(name: str, raw: str) -> Any:
        try:
            value = cast(raw.strip())
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise ConfigError(f"{name}={raw!r} is invalid: expected {kind} {lo}..{hi}")
        return value

    return parse


def int_range(lo: int, hi: int) -> Callable[[str, str], int]:
    """Return a parser of integers between `lo` and `hi`."""
    return number_range(int, "an integer", lo, hi)


def float_range(lo: float, hi: float) -> Callable[[str, str], float]:
    """Return a parser of numbers between `lo` and `hi`."""
    return number_range(float, "a number", lo, hi)


def choice(*choices: str, fold: Callable[[str], str] = str.upper) -> Callable:
    """Return a parser accepting one of `choices` (compared after `fold`)."""

    def parse(name: str, raw: str) -> str:
        value = fold(raw.strip())
        if value not in choices:
            raise ConfigError(
                f"{name}={raw!r} is invalid: expected one of {', '.join(choices)}"
            )
        return value

    return parse


def lower_choice(*choices: str) -> Callable[[str, str], str]:
    """Return a parser accepting one of `choices`, case-insensitively."""
    return choice(*choices, fold=str.lower)


def parse_database_url(name: str, raw: str) -> str:
    """Parse a SQLite or PostgreSQL URL (empty: the default SQLite file)."""
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


def parse_redis_url(name: str, raw: str) -> str | None:
    """Parse a Redis URL (empty: no Redis)."""
    value = raw.strip()
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{name}={raw!r} is invalid: expected redis://HOST:PORT/DB (or empty)"
        )
    return value


def parse_ws_url(name: str, raw: str) -> str:
    """Parse a ws:// or wss:// URL."""
    value = raw.strip()
    if not value.startswith(("ws://", "wss://")):
        raise ConfigError(f"{name}={raw!r} is invalid: expected a ws:// or wss:// URL")
    return value


def parse_http_url(name: str, raw: str) -> str:
    """Parse an http(s):// URL without a trailing slash."""
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"{name}={raw!r} is invalid: expected an http:// or https:// URL"
        )
    return value


def parse_origins(name: str, raw: str) -> tuple[str, ...]:
    """Parse a comma-separated list of http(s):// origins or `*`."""
    items = tuple(o.strip() for o in raw.split(",") if o.strip())
    for origin in items:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(
                f"{name}={raw!r} is invalid: expected comma-separated "
                "http(s):// origins or *"
            )
    return items


def parse_text(name: str, raw: str) -> str:
    """Return the value without surrounding blanks."""
    return raw.strip()


def parse_optional_text(name: str, raw: str) -> str | None:
    """Return the value without surrounding blanks, or None when empty."""
    return raw.strip() or None


def parse_host(name: str, raw: str) -> str:
    """Parse a host name or IP address."""
    value = raw.strip()
    if not value or " " in value:
        raise ConfigError(f"{name}={raw!r} is invalid: expected a host name or IP")
    return value


def parse_rate_limit(name: str, raw: str) -> str:
    """Parse a flask-limiter rate such as `600/minute`."""
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

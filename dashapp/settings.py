"""Settings from environment variables and an optional `.env` file.

Every setting has a default that works on a fresh machine (embedded SQLite, the
built-in Massive simulator). A wrong value raises `ConfigError` whose message is
one line naming the variable and what it accepts; the CLI prints it and exits 2.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from dashapp.setting_values import (
    LOG_LEVELS,
    ConfigError,
    choice,
    float_range,
    int_range,
    lower_choice,
    parse_bool,
    parse_database_url,
    parse_host,
    parse_http_url,
    parse_optional_text,
    parse_origins,
    parse_rate_limit,
    parse_redis_url,
    parse_text,
    parse_ws_url,
)

DEFAULT_DATA_DIR = "./data"


def _spec(env: str, parse: Callable[[str, str], Any], doc: str) -> Any:
    return field(default=None, metadata={"env": env, "parse": parse, "doc": doc})


__all__ = ["ConfigError", "Settings", "load_settings", "settings_table"]


@dataclass(frozen=True)
class Settings:
    """Validated runtime configuration; build it with `load_settings`."""

    database_url: str = _spec(
        "DATABASE_URL",
        parse_database_url,
        "Database: `sqlite:///PATH` (default `sqlite:///./data/tickstock.db`) or "
        "`postgresql://user@host:5432/db` (psycopg 3).",
    )
    redis_url: str | None = _spec(
        "REDIS_URL",
        parse_redis_url,
        "Redis for cache, pub/sub, leader lock (optional).",
    )
    massive_api_key: str | None = _spec(
        "MASSIVE_API_KEY",
        parse_optional_text,
        "Massive API key. Unset: ingest from the built-in simulator.",
    )
    massive_ws_url: str = _spec(
        "MASSIVE_WS_URL",
        parse_ws_url,
        "Massive WebSocket (`wss://socket.massive.com/stocks`; "
        "`wss://delayed.massive.com/stocks` for delayed plans).",
    )
    massive_rest_url: str = _spec(
        "MASSIVE_REST_URL",
        parse_http_url,
        "Massive REST base (`https://api.massive.com`).",
    )
    ingest_enabled: bool = _spec(
        "INGEST_ENABLED",
        parse_bool,
        "Co-start live ingest with the app (default true).",
    )
    ingest_universe: str = _spec(
        "INGEST_UNIVERSE",
        parse_text,
        "What to stream: a universe name (`sp500`), a comma list of symbols, or `*`.",
    )
    ingest_seconds: str = _spec(
        "INGEST_SECONDS",
        lower_choice("auto", "true", "false"),
        "Also subscribe `A.` per-second bars: auto (up to 500 symbols), true, false.",
    )
    simulator: str = _spec(
        "TICKSTOCK_SIMULATOR",
        lower_choice("auto", "true", "false"),
        "Built-in simulator without MASSIVE_API_KEY: auto (only over demo data or "
        "an empty store), true, false.",
    )
    secret_key: str = _spec(
        "SECRET_KEY",
        parse_text,
        "Flask session signing key (random per start when unset; set in production).",
    )
    host: str = _spec("HOST", parse_host, "Bind address (default 127.0.0.1).")
    port: int = _spec("PORT", int_range(1, 65535), "Port (default 8050).")
    log_level: str = _spec("LOG_LEVEL", choice(*LOG_LEVELS), "Log level (INFO).")
    log_format: str = _spec(
        "LOG_FORMAT", lower_choice("text", "json"), "Log format: text or json."
    )
    log_file_enabled: bool = _spec(
        "LOG_FILE_ENABLED",
        parse_bool,
        "Also log to a rotating file under `./data/logs`.",
    )
    log_db_enabled: bool = _spec(
        "LOG_DB_ENABLED", parse_bool, "Store log records in the `error_log` table."
    )
    log_db_severity_threshold: str = _spec(
        "LOG_DB_SEVERITY_THRESHOLD",
        choice(*LOG_LEVELS),
        "Lowest level stored in `error_log` (ERROR).",
    )
    redis_error_channel: str = _spec(
        "REDIS_ERROR_CHANNEL",
        parse_text,
        "Pub/sub channel for errors (`tickstock:errors`).",
    )
    redis_monitoring_channel: str = _spec(
        "REDIS_MONITORING_CHANNEL",
        parse_text,
        "Pub/sub channel for health records (`tickstock:monitoring`).",
    )
    redis_key_prefix: str = _spec(
        "REDIS_KEY_PREFIX",
        parse_text,
        "Prefix of every Redis key (cache, leader lock, sessions): `tickstock:`.",
    )
    instance_id: str | None = _spec(
        "TICKSTOCK_INSTANCE_ID",
        parse_optional_text,
        "Name of this instance in monitoring records (default `host:pid`).",
    )
    monitoring_interval: float = _spec(
        "MONITORING_INTERVAL_SECONDS",
        float_range(0.1, 3600),
        "Seconds between health records on the monitoring channel (5).",
    )
    leader_ttl: float = _spec(
        "INGEST_LEADER_TTL_SECONDS",
        float_range(1, 600),
        "Ingest leader lock TTL; a follower takes over within 2x this (15).",
    )
    websocket_cors_origins: tuple[str, ...] = _spec(
        "WEBSOCKET_CORS_ORIGINS",
        parse_origins,
        "Comma-separated origins allowed by CORS (empty: same origin only).",
    )
    data_dir: str = _spec(
        "TICKSTOCK_DATA_DIR", parse_text, "Directory for the SQLite file, spill, logs."
    )
    demo_data: bool = _spec(
        "TICKSTOCK_DEMO_DATA",
        parse_bool,
        "Generate labelled demo history on first start when the database is empty.",
    )
    admin_password: str | None = _spec(
        "TICKSTOCK_ADMIN_PASSWORD",
        parse_optional_text,
        "Creates the first admin user `admin` on first start (no default password).",
    )
    poll_seconds: float = _spec(
        "POLL_SECONDS", float_range(1, 600), "Browser polling interval (5 s)."
    )
    secure_cookies: bool = _spec(
        "SESSION_COOKIE_SECURE",
        parse_bool,
        "Mark the session cookie Secure (HTTPS only).",
    )

    cors_origins: tuple[str, ...] = _spec(
        "CORS_ORIGINS",
        parse_origins,
        "Comma-separated origins allowed to call `/api` cross-origin (empty: none; "
        "`WEBSOCKET_CORS_ORIGINS` are allowed too).",
    )
    session_idle_minutes: int = _spec(
        "SESSION_IDLE_MINUTES",
        int_range(1, 10080),
        "Log a browser session out after this many minutes without a request (60).",
    )
    session_max_hours: int = _spec(
        "SESSION_MAX_HOURS",
        int_range(1, 720),
        "Log a browser session out this many hours after login, active or not (12).",
    )
    login_max_failures: int = _spec(
        "LOGIN_MAX_FAILURES",
        int_range(1, 100),
        "Lock an account after this many failed logins in a row (5).",
    )
    login_lockout_minutes: int = _spec(
        "LOGIN_LOCKOUT_MINUTES",
        int_range(1, 1440),
        "How long a locked account stays locked (15 minutes).",
    )
    rate_limit_user: str = _spec(
        "RATE_LIMIT_USER",
        parse_rate_limit,
        "REST rate limit per user or token, flask-limiter syntax (`600/minute`).",
    )
    rate_limit_ip: str = _spec(
        "RATE_LIMIT_IP",
        parse_rate_limit,
        "REST rate limit per client IP, flask-limiter syntax (`1200/minute`).",
    )
    rate_limit_login: str = _spec(
        "RATE_LIMIT_LOGIN",
        parse_rate_limit,
        "Login attempts per client IP, flask-limiter syntax (`10/minute`).",
    )
    trusted_proxies: int = _spec(
        "TRUSTED_PROXIES",
        int_range(0, 10),
        "Reverse proxies in front of the app whose `X-Forwarded-For` / "
        "`X-Forwarded-Proto` are trusted (0: use the socket address).",
    )

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (tests and the CLI)."""
        return dataclasses.replace(self, **changes)

    @property
    def data_path(self) -> Path:
        """Return the data directory as a Path."""
        return Path(self.data_dir)


DEFAULTS: dict[str, str] = {
    "DATABASE_URL": "",
    "REDIS_URL": "",
    "MASSIVE_API_KEY": "",
    "MASSIVE_WS_URL": "wss://socket.massive.com/stocks",
    "MASSIVE_REST_URL": "https://api.massive.com",
    "INGEST_ENABLED": "true",
    "INGEST_UNIVERSE": "sp500+index+sectors",
    "INGEST_SECONDS": "auto",
    "TICKSTOCK_SIMULATOR": "auto",
    "SECRET_KEY": "",
    "HOST": "127.0.0.1",
    "PORT": "8050",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "text",
    "LOG_FILE_ENABLED": "false",
    "LOG_DB_ENABLED": "true",
    "LOG_DB_SEVERITY_THRESHOLD": "ERROR",
    "REDIS_ERROR_CHANNEL": "tickstock:errors",
    "REDIS_MONITORING_CHANNEL": "tickstock:monitoring",
    "REDIS_KEY_PREFIX": "tickstock:",
    "TICKSTOCK_INSTANCE_ID": "",
    "MONITORING_INTERVAL_SECONDS": "5",
    "INGEST_LEADER_TTL_SECONDS": "15",
    "WEBSOCKET_CORS_ORIGINS": "",
    "TICKSTOCK_DATA_DIR": DEFAULT_DATA_DIR,
    "TICKSTOCK_DEMO_DATA": "true",
    "TICKSTOCK_ADMIN_PASSWORD": "",
    "POLL_SECONDS": "5",
    "SESSION_COOKIE_SECURE": "false",
    "CORS_ORIGINS": "",
    "SESSION_IDLE_MINUTES": "60",
    "SESSION_MAX_HOURS": "12",
    "LOGIN_MAX_FAILURES": "5",
    "LOGIN_LOCKOUT_MINUTES": "15",
    "RATE_LIMIT_USER": "600/minute",
    "RATE_LIMIT_IP": "1200/minute",
    "RATE_LIMIT_LOGIN": "10/minute",
    "TRUSTED_PROXIES": "0",
}


def settings_table() -> list[tuple[str, str, str]]:
    """Return (variable, default, description) rows for the README."""
    rows = []
    for f in dataclasses.fields(Settings):
        env = f.metadata["env"]
        rows.append((env, DEFAULTS[env], f.metadata["doc"]))
    return rows


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Build Settings from `.env` (if present) overlaid by the environment."""
    merged: dict[str, str] = dict(DEFAULTS)
    if env_file and Path(env_file).is_file():
        merged.update({k: v or "" for k, v in dotenv_values(env_file).items()})
    source = os.environ if environ is None else environ
    merged.update({k: v for k, v in source.items() if k in DEFAULTS})
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        env = f.metadata["env"]
        values[f.name] = f.metadata["parse"](env, merged[env])
    if not values["database_url"]:
        db_file = Path(values["data_dir"]) / "tickstock.db"
        values["database_url"] = f"sqlite:///{db_file}"
    if not values["secret_key"]:
        values["secret_key"] = secrets.token_hex(32)
    return Settings(**values)

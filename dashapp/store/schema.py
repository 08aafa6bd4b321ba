"""The schema: every table, its columns and the names bar code shares.

Timestamps: `ohlcv_1min.ts` is the bar START in UTC. On SQLite it is stored as
text in SQLAlchemy's DATETIME format (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC) so that
text order is time order; on PostgreSQL it is `timestamptz`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 3
SQLITE_TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
BAR_FIELDS = ("open", "high", "low", "close", "volume")
MINUTE_COLUMNS = ("symbol", "ts", *BAR_FIELDS, "vwap", "trades")
DAILY_COLUMNS = ("symbol", "date", *BAR_FIELDS, "source")
LIVE_COLUMNS = (*MINUTE_COLUMNS, "source")
DATA_SEQ_KEY = "data_seq"
DAILY_SEQ_KEY = "daily_seq"
DEMO_KEY = "demo_data"
ROLES = ("admin", "user")

metadata = MetaData()
Double = Float(precision=53)

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
app_meta = Table(
    "app_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
symbols = Table(
    "symbols",
    metadata,
    Column("symbol", String(24), primary_key=True),
    Column("name", String(200)),
    Column("kind", String(16), nullable=False, default="stock"),
    Column("sector", String(64)),
    Column("sub_industry", String(128)),
    Column("sector_etf", String(8)),
)
universes = Table(
    "universes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("label", String(200)),
    Column("builtin", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True)),
)
universe_members = Table(
    "universe_members",
    metadata,
    Column(
        "universe_id",
        Integer,
        ForeignKey("universes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "symbol",
        String(24),
        ForeignKey("symbols.symbol", ondelete="CASCADE"),
        primary_key=True,
    ),
)
ohlcv_1min = Table(
    "ohlcv_1min",
    metadata,
    Column("symbol", String(24), primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("open", Double, nullable=False),
    Column("high", Double, nullable=False),
    Column("low", Double, nullable=False),
    Column("close", Double, nullable=False),
    Column("volume", Double, nullable=False),
    Column("vwap", Double),
    Column("trades", Integer),
    Column("source", String(16)),
    Index("ix_ohlcv_1min_ts", "ts"),
)
ohlcv_daily = Table(
    "ohlcv_daily",
    metadata,
    Column("symbol", String(24), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("open", Double, nullable=False),
    Column("high", Double, nullable=False),
    Column("low", Double, nullable=False),
    Column("close", Double, nullable=False),
    Column("volume", Double, nullable=False),
    Column("source", String(16)),
    Index("ix_ohlcv_daily_date", "date"),
)
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False, default="user"),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)
auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the session id
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("ip", String(64)),
    Index("ix_auth_sessions_user", "user_id"),
)
error_log = Table(
    "error_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("level", String(16), nullable=False),
    Column("source", String(128)),
    Column("message", Text, nullable=False),
    Column("context", Text),
    Index("ix_error_log_ts", "ts"),
)
# Bars the writer could not store (bad rows, kept aside with the error).
rejected_bars = Table(
    "rejected_bars",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", Text),
    Column("ts", DateTime(timezone=True)),
    Column("raw", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", String(32)),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
    Index("ix_rejected_bars_rejected_at", "rejected_at"),
)

# Reconciliations and split adjustments applied to stored history (issue 13).
data_adjustments = Table(
    "data_adjustments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", String(24), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("factor", Double),
    Column("applied_to_start", Date),
    Column("applied_to_end", Date),
    Column("sessions", Integer),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_data_adjustments_symbol", "symbol"),
)
corporate_actions = Table(
    "corporate_actions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("symbol", String(24), nullable=False),
    Column("execution_date", Date, nullable=False),
    Column("split_from", Double, nullable=False),
    Column("split_to", Double, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

BAR_TABLES = {"ohlcv_1min": ("ts", ohlcv_1min), "ohlcv_daily": ("date", ohlcv_daily)}

# Per-user watchlists, alerts and their fired events (issue 17 item 6).
watchlists = Table(
    "watchlists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "name", name="uq_watchlists_user_name"),
)
watchlist_symbols = Table(
    "watchlist_symbols",
    metadata,
    Column(
        "watchlist_id",
        Integer,
        ForeignKey("watchlists.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("symbol", String(24), primary_key=True),
)
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("symbol", String(24), nullable=False),
    Column("condition", String(32), nullable=False),
    Column("value", Double),
    # armed: may fire when the condition turns true; last_observed: the value the
    # condition was last evaluated on (NULL until the first evaluation).
    Column("armed", Boolean, nullable=False, default=True),
    Column("last_observed", Double),
    Column("last_evaluated_at", DateTime(timezone=True)),
    Column("fired_count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_alerts_user", "user_id"),
)
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, nullable=False),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("symbol", String(24), nullable=False),
    Column("condition", String(32), nullable=False),
    Column("value", Double),
    Column("observed", Double),
    Column("previous", Double),
    Column("bar_ts", DateTime(timezone=True)),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    Column("origin", String(16)),
    Column("delivery", String(16)),  # none, pending, delivered, failed
    Column("seen", Boolean, nullable=False, default=False),
    Index("ix_alert_events_user", "user_id", "id"),
)
user_webhooks = Table(
    "user_webhooks",
    metadata,
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Screener screens saved per user (issue 17): definition is JSON text.
saved_screens = Table(
    "saved_screens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(64), nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("uq_saved_screens_user_name", "user_id", "name", unique=True),
)

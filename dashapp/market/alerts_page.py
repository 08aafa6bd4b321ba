"""The Alerts page's reads and actions: the signed-in user's alerts, events, lists.

Everything is scoped to the current principal (the same rules as the REST API:
nobody sees or changes another user's alerts or watchlists).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd

from analytics import alerts as rules
from dashapp import auth
from dashapp.market.context import current_store

audit = logging.getLogger("dashapp.api")
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,11}$")
NAME_RE = re.compile(r"^[a-z0-9_\-]{1,64}$")
EVENT_ROWS = 50
ALERT_COLUMNS = ["id", "symbol", "condition", "value", "armed", "fired_count"]
EVENT_COLUMNS = ["fired_at", "symbol", "condition", "value", "observed", "origin"]
LIST_COLUMNS = ["name", "count", "symbols"]


def _user_id() -> int | None:
    principal = auth.current_principal()
    return principal.user_id if principal else None


def _clock(value: Any) -> Any:
    return value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else value


def my_alerts() -> pd.DataFrame:
    """Return the user's alerts for the table."""
    uid = _user_id()
    rows = current_store().list_alerts(uid) if uid else []
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)


def my_events(mark_seen: bool = True) -> pd.DataFrame:
    """Return the user's newest fired alerts (and mark them seen for the bell)."""
    uid = _user_id()
    if not uid:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    store = current_store()
    rows = store.list_alert_events(uid, limit=EVENT_ROWS)
    if mark_seen:
        store.mark_events_seen(uid)
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["fired_at"] = frame["fired_at"].map(_clock)
    return frame


def my_watchlists() -> pd.DataFrame:
    """Return the user's watchlists with their symbols as text."""
    uid = _user_id()
    rows = current_store().list_watchlists(uid) if uid else []
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
    frame["symbols"] = frame["symbols"].map(" ".join)
    return frame


def add_alert(symbol: Any, condition: Any, value: Any) -> tuple[bool, str]:
    """Create an alert from form input; return (ok, message)."""
    uid = _user_id()
    symbol = str(symbol or "").strip().upper()
    if not uid:
        return False, "sign in first"
    if not SYMBOL_RE.fullmatch(symbol):
        return False, "symbol: a ticker like AAPL or BRK.B"
    try:
        number = None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return False, "value must be a number"
    reason = rules.check_alert_value(str(condition), number)
    if reason:
        return False, reason
    store = current_store()
    if store.symbols_frame([symbol]).empty and store.latest_daily([symbol]).empty:
        return False, f"unknown symbol {symbol}"
    alert = store.create_alert(uid, symbol, str(condition), number)
    audit.info("audit: user #%s (alerts page) created alert #%s", uid, alert["id"])
    return True, f"alert #{alert['id']} armed: {symbol} {condition}"


def remove_alert(alert_id: Any) -> tuple[bool, str]:
    """Delete one of the user's alerts by id."""
    uid = _user_id()
    try:
        number = int(alert_id)
    except (TypeError, ValueError):
        return False, "alert id must be a number"
    if not uid or not current_store().delete_alert(uid, number):
        return False, f"no alert #{number}"
    return True, f"deleted alert #{number}"


def save_watchlist(name: Any, symbols: Any) -> tuple[bool, str]:
    """Create or replace a watchlist from a name and whitespace/comma separated text."""
    uid = _user_id()
    key = str(name or "").strip().lower()
    if not uid:
        return False, "sign in first"
    if not NAME_RE.fullmatch(key):
        return False, "name: 1-64 of a-z 0-9 _ -"
    tickers = sorted({t for t in re.split(r"[\s,;]+", str(symbols or "").upper()) if t})
    bad = [t for t in tickers if not SYMBOL_RE.fullmatch(t)]
    if bad:
        return False, f"not tickers: {', '.join(bad[:5])}"
    current_store().put_watchlist(uid, key, tickers)
    return True, f"watchlist {key}: {len(tickers)} symbols (universe=watchlist:{key})"


def remove_watchlist(name: Any) -> tuple[bool, str]:
    """Delete one of the user's watchlists."""
    uid = _user_id()
    key = str(name or "").strip().lower()
    if not uid or not current_store().delete_watchlist(uid, key):
        return False, f"no watchlist {key}"
    return True, f"deleted watchlist {key}"

"""The alert evaluator: on the leader, steps every alert on each new data version.

A daemon thread polls the store's data version about once a second; when it
moves (a stored minute bar, the end-of-day roll-up, an import) it observes
every alerted symbol, steps the alerts with `analytics.alerts.evaluate_alerts`,
stores the new armed states and the fired events in one transaction, and hands
each event to the webhook sender (its own threads). Ingest never imports this:
the composition starts it next to the ingest service.

What is observed: `price` is the newest close (stored minutes + live bars of the
running session, else the newest daily close); `new_52w_high` and
`crosses_sma50` use daily history plus the running session; `rs_rating` and
`stage` come from the market state of ALERT_UNIVERSE (null, so no step, for
symbols outside it).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import pandas as pd
from flask import Flask

from analytics import alerts as rules
from dashapp.market.asof import MARKET_TZ
from dashapp.market.bars import daily_with_today
from dashapp.market.state import market_state
from dashapp.ops.webhooks import Delivery, WebhookSender
from dashapp.store import Store
from dashapp.store.origin import fake_origins

log = logging.getLogger(__name__)
POLL_S = 1.0
HISTORY_DAYS = 400  # calendar days: 252 sessions plus slack
ALERT_UNIVERSE = "sp500"
RANKED = frozenset({"rs_rating", "stage"})


class AlertEvaluator:
    """Evaluate every user's alerts whenever the data version moves."""

    def __init__(
        self,
        server: Flask,
        store: Store,
        sender: WebhookSender | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.server = server
        self.store = store
        self.sender = sender
        self.poll_s = poll_s
        self.last_version: str | None = None
        self.rounds = 0
        self._observed_at: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AlertEvaluator:
        """Start polling in a daemon thread."""
        self._thread = threading.Thread(
            target=self._loop, name="alert-evaluator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop polling (and the webhook sender it owns) without a long wait."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.sender is not None:
            self.sender.stop(timeout=0.1)  # daemon workers: never delay a handover

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll()
            except Exception:  # keep evaluating after a database hiccup
                log.exception("alert evaluation failed")

    def poll(self) -> list[dict[str, Any]]:
        """Evaluate once if the data version moved since the last round."""
        version = self.store.data_version().key
        if version == self.last_version:
            return []
        events = self.evaluate()
        self.last_version = version
        return events

    def evaluate(self) -> list[dict[str, Any]]:
        """Step every alert on the current data; return the events that fired."""
        stored = self.store.active_alerts()
        if not stored:
            return []
        frame = pd.DataFrame(stored)
        with self.server.app_context():
            observed = self._observations(frame)
        frame["previous"] = frame["last_observed"].astype(float)
        frame["observed"] = observed
        frame["value"] = frame["value"].astype(float)
        result = rules.evaluate_alerts(frame)
        self.rounds += 1
        return self._store_round(frame, result)

    def _observations(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the observed number of each alert (NaN when there is none)."""
        symbols = sorted(frame["symbol"].unique())
        daily = daily_with_today(symbols, None, HISTORY_DAYS)
        prices = rules.observe_prices(daily)
        columns = frame["condition"].map(rules.OBSERVES)
        if columns.isin(RANKED).any():
            prices = prices.join(self._ranked(), how="outer")
        out = np.full(len(frame), np.nan)
        pairs = zip(frame["symbol"], columns, strict=True)
        for i, (symbol, column) in enumerate(pairs):
            if symbol in prices.index and column in prices.columns:
                out[i] = pd.to_numeric(prices.at[symbol, column], errors="coerce")
        newest = self.store.data_version().newest_minute
        self._observed_at = _observed_at(prices, newest)
        return out

    def _ranked(self) -> pd.DataFrame:
        try:
            rankings = market_state(ALERT_UNIVERSE).frames["rankings"]
        except Exception:  # no universe or no data yet: nothing to observe
            log.debug("no rankings for alerts", exc_info=True)
            return pd.DataFrame(columns=list(RANKED))
        if rankings.empty:
            return pd.DataFrame(columns=list(RANKED))
        return rankings.set_index("symbol")[list(RANKED)].astype(float)

    def _store_round(
        self, frame: pd.DataFrame, result: pd.DataFrame
    ) -> list[dict[str, Any]]:
        changed = (result["armed"] != frame["armed"].astype(bool)) | ~np.isclose(
            result["last_observed"].astype(float),
            frame["previous"].astype(float),
            equal_nan=True,
        )
        states = [
            {
                "id": int(frame.at[i, "id"]),
                "armed": bool(result.at[i, "armed"]),
                "last_observed": _num(result.at[i, "last_observed"]),
                "fired": bool(result.at[i, "fired"]),
            }
            for i in frame.index[changed | result["fired"]]
        ]
        origins = fake_origins(self.store)
        hooks: dict[int, dict[str, Any] | None] = {}
        events = []
        for i in frame.index[result["fired"]]:
            user_id = int(frame.at[i, "user_id"])
            if user_id not in hooks:
                hooks[user_id] = self.store.get_webhook(user_id)
            symbol = frame.at[i, "symbol"]
            events.append(
                {
                    "alert_id": int(frame.at[i, "id"]),
                    "user_id": user_id,
                    "symbol": symbol,
                    "condition": frame.at[i, "condition"],
                    "value": _num(frame.at[i, "value"]),
                    "observed": _num(frame.at[i, "observed"]),
                    "previous": _num(frame.at[i, "previous"]),
                    "bar_ts": self._observed_at.get(symbol),
                    "origin": ",".join(origins) or "real",
                    "delivery": "pending" if hooks[user_id] and self.sender else "none",
                }
            )
        if not states and not events:
            return []
        fired = self.store.apply_alert_round(states, events)
        for event in fired:
            hook = hooks.get(event["user_id"])
            if hook and self.sender is not None:
                self._send(event, hook)
        return fired

    def _send(self, event: dict[str, Any], hook: dict[str, Any]) -> None:
        event_id = event["id"]

        def done(ok: bool, _detail: str) -> None:
            self.store.set_event_delivery(event_id, "delivered" if ok else "failed")

        payload = {"type": "alert", "event": event_payload(event)}
        self.sender.submit(Delivery(hook["url"], hook["secret"], payload, done))


def event_payload(event: dict[str, Any]) -> dict[str, Any]:
    """Return a fired event as plain JSON values (the webhook and API body)."""
    out = {}
    for key, value in event.items():
        if key in ("user_id", "seen"):
            continue
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _num(value: Any) -> float | None:
    value = float(value) if value is not None else np.nan
    return None if np.isnan(value) else value


def _observed_at(prices: pd.DataFrame, newest_minute: Any) -> dict[str, Any]:
    """Return per symbol the minute (running session) or session it was observed at."""
    out = {}
    if "date" not in prices:
        return out
    minute_day = None
    if newest_minute is not None:
        minute_day = newest_minute.tz_convert(MARKET_TZ).date()
    for symbol, date in prices["date"].items():
        if date is None or pd.isna(date):
            continue
        day = pd.Timestamp(date)
        same = minute_day is not None and day.date() == minute_day
        out[symbol] = (newest_minute if same else day).to_pydatetime()
    return out

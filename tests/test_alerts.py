"""Alerts: pure stepping, crossings on replayed real minute bars (fire exactly once,
re-arm, survive a restart), webhook signatures, and webhooks never blocking."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time

import numpy as np
import pandas as pd
import pytest

from analytics import alerts as rules
from dashapp import auth
from dashapp.market.alert_eval import AlertEvaluator
from dashapp.ops.webhooks import SIGNATURE_HEADER, Delivery, WebhookSender
from tests.alerts_helpers import (
    PRIOR_DAY,
    REPLAY_DAY,
    daily_from_minutes,
    downward_crossings,
    make_app,
    real_minutes,
    session_of,
    upward_crossings,
)
from tests.auth_helpers import TEST_PASSWORD
from tests.conftest import STORE_KINDS

REPLAY_BARS = 90


# ------------------------------------------------------------------ pure rules
def _step_plain(condition, value, armed, previous, observed):
    """One alert, one evaluation, written out as the docs say (reference)."""
    if observed is None or np.isnan(observed):
        return False, armed, previous
    has_prev = previous is not None and not np.isnan(previous)
    if condition == "price_above":
        holds = observed > value
    elif condition == "price_below":
        holds = observed < value
    elif condition == "stage_change":
        holds = has_prev and observed != previous
    else:  # crosses_sma50
        holds = has_prev and ((previous <= 0 < observed) or (previous >= 0 > observed))
    if not has_prev and condition in ("price_above", "price_below"):
        return False, not holds, observed
    if armed and holds:
        return True, False, observed
    return False, armed or not holds, observed


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ("price_above", "close"),
        ("price_below", "close"),
        ("stage_change", "stage"),
        ("crosses_sma50", "pct_sma"),
    ],
)
def test_al01_evaluate_matches_plain_loop_on_real_minutes(condition, field):
    bars = real_minutes("SPY")
    closes = bars["close"].to_numpy(float)
    series = {
        "close": closes,
        # A stand-in "stage" that changes on real data: the close's 10-cent bucket.
        "stage": np.floor(closes * 10) % 4 + 1,
        "pct_sma": 100 * (closes / pd.Series(closes).rolling(50).mean() - 1),
    }[field]
    value = float(np.median(closes)) if field == "close" else np.nan
    armed, prev = True, np.nan
    fired_fast = fired_plain = 0
    state = (True, np.nan)
    for observed in series:
        frame = pd.DataFrame(
            {
                "condition": [condition],
                "value": [value],
                "armed": [armed],
                "previous": [prev],
                "observed": [observed],
            }
        )
        out = rules.evaluate_alerts(frame).iloc[0]
        fired_fast += bool(out["fired"])
        armed, prev = bool(out["armed"]), float(out["last_observed"])
        fired, a, p = _step_plain(condition, value, state[0], state[1], observed)
        fired_plain += fired
        state = (a, p)
        assert (armed, np.isnan(prev) or prev) == (a, np.isnan(p) or p)
    assert fired_fast == fired_plain > 0


def test_al02_values_are_checked():
    assert rules.check_alert_value("price_above", None)
    assert rules.check_alert_value("price_above", -1.0)
    assert rules.check_alert_value("rs_rating_below", 120.0)
    assert rules.check_alert_value("stage_change", 5.0)
    assert rules.check_alert_value("new_52w_high", 3.0)
    assert rules.check_alert_value("crosses_sma50", 0.5)
    assert rules.check_alert_value("nope", 1.0)
    for ok in [("price_above", 10.0), ("stage_change", None), ("stage_change", 2.0),
               ("crosses_sma50", -1.0), ("new_52w_high", None)]:  # fmt: skip
        assert rules.check_alert_value(*ok) is None
    empty = pd.DataFrame(
        columns=["condition", "value", "armed", "previous", "observed"]
    )
    assert rules.evaluate_alerts(empty).empty
    assert rules.observe_prices(pd.DataFrame()).empty


def test_al03_observe_prices_matches_plain_definitions():
    bars = real_minutes("DIA")  # treat each minute as a session: 400+ real rows
    bars = bars.rename(columns={"ts": "date"})
    out = rules.observe_prices(bars).loc["DIA"]
    close, high = bars["close"].to_numpy(float), bars["high"].to_numpy(float)
    assert out["price"] == close[-1]
    assert out["pct_vs_sma50"] == pytest.approx(
        100 * (close[-1] / close[-50:].mean() - 1)
    )
    prior = max(high[-252:-1])
    assert out["pct_vs_prior_52w_high"] == pytest.approx(100 * (high[-1] / prior - 1))
    short = rules.observe_prices(bars.head(40)).loc["DIA"]
    assert np.isnan(short["pct_vs_sma50"]) and np.isnan(short["pct_vs_prior_52w_high"])


# ------------------------------------------------------- replay through the app
def _seed(store):
    minutes = real_minutes("SPY")
    prior = session_of(minutes, PRIOR_DAY)
    store.upsert_daily_bars(daily_from_minutes(prior, PRIOR_DAY), source="imported")
    return session_of(minutes, REPLAY_DAY).head(REPLAY_BARS)


def _user(store, name):
    if store.get_user(username=name) is None:
        auth.create_user(store, name, TEST_PASSWORD, auth.USER)
    return store.get_user(username=name)["id"]


def _replay(app, store, bars, evaluator):
    fired = []
    for i in range(len(bars)):
        store.upsert_minute_bars(bars.iloc[[i]], source="imported")
        fired += evaluator.poll()
    return fired


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_al04_replayed_minutes_fire_once_per_crossing_and_survive_restart(
    kind, tmp_path
):
    app = make_app(tmp_path, kind)
    store = app.server.extensions["tickstock_store"]
    bars = _seed(store)
    closes = bars["close"].to_numpy(float)
    level = float(np.median(closes))
    expect_up = upward_crossings(closes, level)
    expect_down = downward_crossings(closes, level)
    assert expect_up >= 2 and expect_down >= 2  # re-arming is exercised
    uid = _user(store, "ann")
    up = store.create_alert(uid, "SPY", "price_above", level)
    down = store.create_alert(uid, "SPY", "price_below", level)

    half = len(bars) // 2
    fired = _replay(app, store, bars.iloc[:half], AlertEvaluator(app.server, store))
    # Restart: a new app and evaluator on the same database continue the state.
    app.server.extensions["tickstock_store"].dispose()
    app2 = make_app(tmp_path, kind, fresh=False)
    store2 = app2.server.extensions["tickstock_store"]
    fired += _replay(
        app2, store2, bars.iloc[half:], AlertEvaluator(app2.server, store2)
    )

    ups = [e for e in fired if e["alert_id"] == up["id"]]
    downs = [e for e in fired if e["alert_id"] == down["id"]]
    assert len(ups) == expect_up and len(downs) == expect_down
    assert all(e["observed"] > level for e in ups)
    assert all(e["previous"] <= level for e in ups)
    # Each event names the minute bar that crossed, and that bar's close.
    closes_at = dict(zip(bars["ts"], bars["close"], strict=True))
    assert all(closes_at[pd.Timestamp(e["bar_ts"])] == e["observed"] for e in fired)
    stored = store2.list_alert_events(uid, limit=500)
    assert len(stored) == expect_up + expect_down
    assert {a["id"]: a["fired_count"] for a in store2.list_alerts(uid)} == {
        up["id"]: expect_up,
        down["id"]: expect_down,
    }
    assert store2.count_unseen_events(uid) == len(stored)
    # Nothing new, nothing fires: the same data version is not evaluated twice.
    assert AlertEvaluator(app2.server, store2).poll() == []
    store2.dispose()


# ------------------------------------------------------------------- webhooks
class _Receiver(http.server.BaseHTTPRequestHandler):
    delay_s = 0.0
    status = 200
    seen: list

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((body, self.headers.get(SIGNATURE_HEADER)))
        time.sleep(self.delay_s)
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *_args):
        return


def _serve(delay_s=0.0, status=200):
    handler = type("Handler", (_Receiver,), {"delay_s": delay_s, "status": status})
    handler.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    return server, handler, url


def _wait(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_al05_fired_alerts_are_posted_with_a_verifiable_signature(tmp_path):
    server, handler, url = _serve()
    app = make_app(tmp_path)
    store = app.server.extensions["tickstock_store"]
    bars = _seed(store)
    level = float(np.median(bars["close"]))
    uid = _user(store, "ann")
    secret = "a-webhook-secret-of-ours"
    store.set_webhook(uid, url, secret)
    store.create_alert(uid, "SPY", "price_above", level)
    sender = WebhookSender(backoff_s=0.05)
    fired = _replay(app, store, bars, AlertEvaluator(app.server, store, sender))
    assert fired and _wait(lambda: len(handler.seen) == len(fired))
    for body, header in handler.seen:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert header == f"sha256={expected}"
        assert json.loads(body)["event"]["symbol"] == "SPY"
        assert header != "sha256=" + hmac.new(b"wrong", body, "sha256").hexdigest()
    assert _wait(
        lambda: {e["delivery"] for e in store.list_alert_events(uid)} == {"delivered"}
    )
    sender.stop()
    server.shutdown()


def test_al06_failing_webhook_retries_with_backoff_then_fails():
    server, handler, url = _serve(status=500)
    outcomes = []
    sender = WebhookSender(backoff_s=0.05, attempts=3, timeout_s=1.0)
    sender.submit(
        Delivery(
            url, "s" * 16, {"type": "alert"}, lambda ok, d: outcomes.append((ok, d))
        )
    )
    assert _wait(lambda: outcomes)
    assert outcomes == [(False, "HTTP 500")] and len(handler.seen) == 3
    sender.stop()
    server.shutdown()


def test_al07_slow_webhook_never_blocks_evaluation_or_bar_writes(tmp_path):
    server, handler, url = _serve(delay_s=3.0)
    app = make_app(tmp_path)
    store = app.server.extensions["tickstock_store"]
    bars = _seed(store)
    uid = _user(store, "ann")
    store.set_webhook(uid, url, "x" * 16)
    store.create_alert(uid, "SPY", "price_above", float(np.median(bars["close"])))
    sender = WebhookSender(timeout_s=0.5, attempts=2, backoff_s=0.05, workers=1)
    evaluator = AlertEvaluator(app.server, store, sender, poll_s=0.05).start()
    try:
        slowest = 0.0
        for i in range(len(bars)):  # the writer's path: store a bar, move on
            started = time.perf_counter()
            store.upsert_minute_bars(bars.iloc[[i]], source="imported")
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.01)
        assert _wait(lambda: store.list_alert_events(uid))
        # Every POST hangs 3 s (past the 0.5 s timeout) yet no write waited on it.
        assert slowest < 0.5, slowest
        assert _wait(lambda: handler.seen)
        started = time.perf_counter()
        for _ in range(3 * len(bars)):  # a full queue drops, never waits
            sender.submit(Delivery(url, "x" * 16, {"type": "alert"}))
        assert time.perf_counter() - started < 0.5
    finally:
        evaluator.stop(timeout=1.0)
        server.shutdown()


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_al08_two_evaluators_never_fire_one_crossing_twice(kind, tmp_path):
    app = make_app(tmp_path, kind)
    store = app.server.extensions["tickstock_store"]
    uid = _user(store, "ann")
    alert = store.create_alert(uid, "SPY", "price_above", 100.0)
    state = {"id": alert["id"], "armed": False, "last_observed": 101.0, "fired": True}
    event = {"alert_id": alert["id"], "user_id": uid, "symbol": "SPY",
             "condition": "price_above", "value": 100.0, "observed": 101.0,
             "previous": 99.0, "bar_ts": None, "origin": "real",
             "delivery": "none"}  # fmt: skip
    # Both read the alert armed; the second write finds it already fired.
    assert len(store.apply_alert_round([state], [event])) == 1
    assert store.apply_alert_round([state], [event]) == []
    assert store.list_alerts(uid)[0]["fired_count"] == 1
    assert len(store.list_alert_events(uid)) == 1
    store.dispose()


def test_al09_composition_starts_and_stops_the_evaluator(tmp_path):
    from dashapp.factory import start_alerts, stop_ingest

    app = make_app(tmp_path)
    store = app.server.extensions["tickstock_store"]
    bars = _seed(store)
    uid = _user(store, "ann")
    alert = store.create_alert(uid, "SPY", "price_above", float(bars["close"].max()))
    start_alerts(app.server, store)
    evaluator = app.server.extensions["tickstock_alerts"]
    store.upsert_minute_bars(bars.iloc[:3], source="imported")  # a new data version
    assert _wait(lambda: store.list_alerts(uid)[0]["last_evaluated_at"] is not None)
    assert store.list_alerts(uid)[0]["last_observed"] == bars["close"].iloc[2]
    assert alert["last_evaluated_at"] is None
    stop_ingest(app)
    assert "tickstock_alerts" not in app.server.extensions
    assert not evaluator._thread.is_alive()

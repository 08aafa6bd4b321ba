"""The Massive simulator speaks the real protocol: the official clients consume it."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from massive import RESTClient, WebSocketClient
from massive.exceptions import AuthError, BadResponse
from urllib3.exceptions import MaxRetryError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ingest.simulator import (
    MALFORMED_KINDS,
    Simulator,
    add_cli,
    simulator_from_args,
)

ROOT = Path(__file__).resolve().parents[1]
REPLAY_CSV = Path(__file__).parent / "data" / "minute_bars_spy_xlk_xlf_2019-12-18.csv"
SYMBOLS = ["AAPL", "MSFT", "SPY", "XLK", "JPM"]
START = "2024-03-05 09:30"  # naive times are America/New_York
TS_KEY = ["symbol", "ts"]
BAR_FIELDS = ["open", "high", "low", "close", "volume", "vwap"]


def wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


@pytest.fixture
def sim():
    """Yield a started fast-mode simulator on a free port."""
    s = Simulator(SYMBOLS, seed=11, speed="fast", start=START, api_keys={"good"})
    s.start()
    yield s
    s.stop()


class OfficialFeed:
    """The official massive WebSocketClient running in its own thread and loop."""

    def __init__(
        self, sim: Simulator, subs: list[str], key: str = "good", **kw
    ) -> None:
        self.client = WebSocketClient(
            api_key=key,
            feed=sim.feed,
            market="stocks",
            secure=False,
            subscriptions=subs,
            **kw,
        )
        self.messages: list = []
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),))

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()

        async def handler(msgs) -> None:
            self.messages.extend(msgs if isinstance(msgs, list) else [msgs])

        try:
            await self.client.connect(handler)
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test
            self.error = exc
            if self.client.websocket is not None:
                await self.client.websocket.close()

    def __enter__(self) -> OfficialFeed:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive() and self.client.websocket is not None:
            fut = asyncio.run_coroutine_threadsafe(self.client.close(), self.loop)
            fut.result(5)
        self.thread.join(5)
        assert not self.thread.is_alive()


@contextlib.contextmanager
def raw_client(sim: Simulator, key: str | None = "good", subs: str | None = None):
    """Open a plain websockets connection; optionally auth and subscribe."""
    with connect(sim.ws_url, max_size=None, compression=None, open_timeout=5) as ws:
        yield _handshake(ws, key, subs)


def _handshake(ws, key: str | None, subs: str | None):
    assert json.loads(ws.recv(timeout=5)) == [
        {"ev": "status", "status": "connected", "message": "Connected Successfully"}
    ]
    if key is not None:
        ws.send(json.dumps({"action": "auth", "params": key}))
        assert json.loads(ws.recv(timeout=5))[0]["status"] == "auth_success"
    if subs:
        ws.send(json.dumps({"action": "subscribe", "params": subs}))
        for _ in subs.split(","):
            assert json.loads(ws.recv(timeout=5))[0]["status"] == "success"
    return ws


def recv_events(ws, until: Callable[[list], bool], timeout: float = 10.0) -> list:
    events: list = []
    deadline = time.monotonic() + timeout
    while not until(events) and time.monotonic() < deadline:
        try:
            frame = ws.recv(timeout=max(deadline - time.monotonic(), 0.01))
        except TimeoutError:
            break
        events.extend(json.loads(frame))
    return events


def agg_frame(aggs) -> pd.DataFrame:
    """Turn official EquityAgg objects into ground-truth-shaped rows."""
    return pd.DataFrame(
        {
            "symbol": [a.symbol for a in aggs],
            "ts": pd.to_datetime(
                [a.start_timestamp for a in aggs], unit="ms", utc=True
            ),
            "open": [a.open for a in aggs],
            "high": [a.high for a in aggs],
            "low": [a.low for a in aggs],
            "close": [a.close for a in aggs],
            "volume": [a.volume for a in aggs],
            "vwap": [a.vwap for a in aggs],
        }
    )


def same_bars(
    got: pd.DataFrame, truth: pd.DataFrame, fields: list[str] = BAR_FIELDS
) -> None:
    got = got.sort_values(TS_KEY, ignore_index=True)
    truth = truth.sort_values(TS_KEY, ignore_index=True)[TS_KEY + fields]
    assert len(got) == len(truth) > 0
    pd.testing.assert_frame_equal(
        got[TS_KEY + fields].astype({"volume": "int64"}),
        truth.astype({"volume": "int64"}),
        check_dtype=False,
    )


# ------------------------------------------------------------- WebSocket feed


def test_official_ws_client_receives_exactly_the_ground_truth(sim):
    with OfficialFeed(sim, ["AM.*"]) as feed:
        assert sim.wait_for_subscribers(1)
        assert sim.advance(3) == 3
        truth = sim.ground_truth()
        assert wait_until(lambda: len(feed.messages) >= len(truth))
    assert feed.error is None
    aggs = feed.messages
    assert {a.event_type for a in aggs} == {"AM"}
    same_bars(agg_frame(aggs), truth)
    assert len(truth) == 3 * len(SYMBOLS)
    for a in aggs:
        assert a.end_timestamp - a.start_timestamp == 60_000
        assert a.start_timestamp % 60_000 == 0
        assert a.accumulated_volume >= a.volume and a.official_open_price > 0
        assert a.low <= a.aggregate_vwap * 1.05 and a.average_size >= 1
        assert a.otc is None  # `otc` is sent only when true


def test_per_second_events_roll_up_to_the_minute_events(sim):
    with raw_client(sim, subs="A.*,AM.*") as ws:
        sim.advance(2)
        events = recv_events(ws, lambda ev: sum(e["ev"] == "AM" for e in ev) >= 10)
    seconds = pd.DataFrame([e for e in events if e["ev"] == "A"])
    minutes = pd.DataFrame([e for e in events if e["ev"] == "AM"])
    assert len(minutes) == 10 and len(seconds) > len(minutes)
    assert ((seconds["e"] - seconds["s"]) == 1000).all()
    seconds["m"] = seconds["s"] // 60_000 * 60_000
    g = seconds.sort_values("s").groupby(["sym", "m"])
    rolled = g.agg(
        o=("o", "first"),
        c=("c", "last"),
        h=("h", "max"),
        l=("l", "min"),
        v=("v", "sum"),
        av=("av", "last"),
    )
    am = minutes.set_index(["sym", "s"])[["o", "c", "h", "l", "v", "av"]]
    am.index.names = ["sym", "m"]
    pd.testing.assert_frame_equal(
        rolled.sort_index(), am.sort_index(), check_dtype=False
    )
    # A events of a minute all arrive before that minute's AM
    order = [(e["ev"], e["s"] // 60_000) for e in events]
    first_am = order.index(("AM", order[0][1]))
    assert all(ev == "A" for ev, m in order[:first_am])


def test_handshake_subscribe_and_unsubscribe_statuses(sim):
    with raw_client(sim, key=None) as ws:
        ws.send(json.dumps({"action": "subscribe", "params": "AM.AAPL"}))
        assert json.loads(ws.recv(timeout=5))[0]["status"] == "error"  # before auth
        ws.send(json.dumps({"action": "auth", "params": "good"}))
        assert json.loads(ws.recv(timeout=5)) == [
            {"ev": "status", "status": "auth_success", "message": "authenticated"}
        ]
        ws.send(json.dumps({"action": "subscribe", "params": "AM.AAPL,A.MSFT"}))
        acks = [json.loads(ws.recv(timeout=5)) for _ in range(2)]
        assert acks == [
            [
                {
                    "ev": "status",
                    "status": "success",
                    "message": "subscribed to: AM.AAPL",
                }
            ],
            [{"ev": "status", "status": "success", "message": "subscribed to: A.MSFT"}],
        ]
        ws.send(json.dumps({"action": "unsubscribe", "params": "AM.AAPL"}))
        assert (
            json.loads(ws.recv(timeout=5))[0]["message"] == "unsubscribed to: AM.AAPL"
        )
        ws.send(json.dumps({"action": "dance", "params": ""}))
        reply = json.loads(ws.recv(timeout=5))[0]
        assert (reply["ev"], reply["status"]) == ("status", "error") and reply[
            "message"
        ]
        ws.send("not json")
        assert json.loads(ws.recv(timeout=5))[0]["status"] == "error"


def test_symbol_subscriptions_filter_events(sim):
    with raw_client(sim, subs="AM.AAPL,A.MSFT") as ws:
        sim.advance(2)
        events = recv_events(ws, lambda ev: sum(e["ev"] == "AM" for e in ev) >= 2)
        time.sleep(0.2)
    assert {(e["ev"], e["sym"]) for e in events} == {("AM", "AAPL"), ("A", "MSFT")}


def test_auth_failed_makes_the_official_client_raise(sim):
    with OfficialFeed(sim, ["AM.*"], key="wrong") as feed:
        feed.thread.join(5)
    assert isinstance(feed.error, AuthError)
    assert str(feed.error) == "authentication failed"
    with raw_client(sim, key=None) as ws:
        ws.send(json.dumps({"action": "auth", "params": "wrong"}))
        assert json.loads(ws.recv(timeout=5)) == [
            {
                "ev": "status",
                "status": "auth_failed",
                "message": "authentication failed",
            }
        ]
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert sim.stats()["auth_failed"] == 2


def test_auth_timeout_and_max_connections():
    with Simulator(
        SYMBOLS, speed="fast", start=START, auth_timeout=0.3, max_connections=1
    ) as sim:
        with raw_client(sim, key=None) as ws:
            assert json.loads(ws.recv(timeout=5))[0]["status"] == "auth_timeout"
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
        with raw_client(sim), raw_client(sim, key=None) as second:
            second.send(json.dumps({"action": "auth", "params": "any"}))
            status = json.loads(second.recv(timeout=5))[0]
            assert status["status"] == "max_connections" and status["message"]
            with pytest.raises(ConnectionClosed):
                second.recv(timeout=5)


def test_malformed_frames_are_sent_as_requested(sim):
    with raw_client(sim, subs="AM.*") as ws:
        received = {}
        for kind in MALFORMED_KINDS:
            assert sim.send_malformed(kind) == 1
            received[kind] = ws.recv(timeout=5)
    for kind in ("not_json", "truncated"):
        with pytest.raises(ValueError):
            json.loads(received[kind])
    assert isinstance(json.loads(received["object"]), dict)
    assert json.loads(received["missing_fields"])[0].keys() == {"ev", "sym", "v"}
    wrong = json.loads(received["wrong_types"])[0]
    assert isinstance(wrong["o"], str) and isinstance(wrong["s"], str)
    assert json.loads(received["unknown_event"])[0]["ev"] == "ZZ"
    assert json.loads(received["empty_array"]) == []
    assert isinstance(received["binary"], bytes)
    assert len(received["oversized"]) > 2 * 2**20
    assert json.loads(received["oversized"])[0]["ev"] == "ZZ"


def test_the_default_client_limit_rejects_an_oversized_frame(sim):
    with connect(sim.ws_url, compression=None) as ws:  # max_size defaults to 1 MiB
        ws.recv(timeout=5)
        ws.send(json.dumps({"action": "auth", "params": "good"}))
        ws.recv(timeout=5)
        sim.send_malformed("oversized")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        assert info.value.sent is not None and info.value.sent.code == 1009


@pytest.mark.parametrize("code", [None, 1008])
def test_dropped_connections_close_as_asked(sim, code):
    with raw_client(sim, subs="AM.*") as ws:
        assert sim.drop_connections(code=code) == 1
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        if code is None:
            assert info.value.rcvd is None  # TCP closed without a close frame
        else:
            assert info.value.rcvd.code == 1008
        assert wait_until(lambda: sim.connection_count() == 0)


def test_official_client_reconnects_and_resubscribes_after_drops(sim):
    with OfficialFeed(sim, ["AM.*"], max_reconnects=10) as feed:
        for code in (None, 1008, None):
            assert sim.wait_for_subscribers(1)
            sim.advance(1)
            sim.drain()
            n = len(sim.ground_truth())
            assert wait_until(lambda n=n: len(feed.messages) >= n)
            assert sim.drop_connections(code=code) == 1
        assert sim.wait_for_subscribers(1)
        sim.advance(1)
        assert wait_until(lambda: len(feed.messages) >= len(sim.ground_truth()))
    assert feed.error is None
    same_bars(agg_frame(feed.messages), sim.ground_truth())


def test_corrections_resend_bars_and_update_the_ground_truth(sim):
    with raw_client(sim, subs="AM.*") as ws:
        sim.advance(2)
        recv_events(ws, lambda ev: len(ev) >= 2 * len(SYMBOLS))
        before = sim.ground_truth()
        fixed = sim.send_corrections(n=2)
        events = recv_events(ws, lambda ev: len(ev) >= 2)
    assert len(fixed) == 2 and len(events) == 2
    last_minute = before["ts"].max()
    assert (fixed["ts"] == last_minute).all()
    truth = sim.ground_truth()
    merged = fixed.merge(before, on=TS_KEY, suffixes=("", "_old"))
    assert (merged["volume"] > merged["volume_old"]).all()
    same_bars(fixed, truth.merge(fixed[TS_KEY]))
    sent = pd.DataFrame(events).rename(
        columns={
            "sym": "symbol",
            "o": "open",
            "h": "high",
            "l": "low",
            "c": "close",
            "v": "volume",
            "vw": "vwap",
        }
    )
    sent["ts"] = pd.to_datetime(sent["s"], unit="ms", utc=True)
    same_bars(sent, fixed)
    assert len(truth) == len(before)


def test_accelerated_clock_emits_seconds_then_minutes():
    start = "2024-03-05 10:00"
    with Simulator(SYMBOLS, seed=3, speed=240, start=start) as sim:
        with raw_client(sim, subs="A.*,AM.*") as ws:
            events = recv_events(ws, lambda ev: sum(e["ev"] == "AM" for e in ev) >= 10)
        assert sim.now() > pd.Timestamp(start, tz="America/New_York")
    am = [e for e in events if e["ev"] == "AM"]
    assert len(am) >= 10
    assert len({e["s"] for e in am}) >= 2
    first_minute = min(e["s"] for e in am)
    assert first_minute >= pd.Timestamp(start, tz="America/New_York").value // 10**6
    a_seconds = sorted({e["s"] for e in events if e["ev"] == "A"})
    assert len(a_seconds) > 30


def test_real_time_clock_follows_the_wall_clock():
    with Simulator(SYMBOLS, seed=3, adv=dict.fromkeys(SYMBOLS, 1e9)) as sim:
        assert abs(sim.now().value / 1e6 - time.time() * 1000) < 1000
        with raw_client(sim, subs="A.*") as ws:
            events = recv_events(
                ws, lambda ev: len({e["s"] for e in ev}) >= 2, timeout=4
            )
    stamps = sorted({e["s"] for e in events})
    assert len(stamps) >= 2 and stamps[1] - stamps[0] == 1000
    assert abs(stamps[-1] - time.time() * 1000) < 4000


# ------------------------------------------------------------------------ REST


def test_rest_paging_returns_every_bar_exactly_once(sim):
    sim.advance(40)
    client = RESTClient(api_key="good", base=sim.rest_url)
    for sort in ("asc", "desc"):
        aggs = list(
            client.list_aggs(
                "MSFT", 1, "minute", "2024-03-05", "2024-03-05", limit=7, sort=sort
            )
        )
        stamps = [a.timestamp for a in aggs]
        assert stamps == sorted(stamps, reverse=sort == "desc")
        got = pd.DataFrame(
            {
                "symbol": "MSFT",
                "ts": pd.to_datetime(stamps, unit="ms", utc=True),
                "open": [a.open for a in aggs],
                "high": [a.high for a in aggs],
                "low": [a.low for a in aggs],
                "close": [a.close for a in aggs],
                "volume": [a.volume for a in aggs],
                "vwap": [a.vwap for a in aggs],
            }
        )
        same_bars(got, sim.ground_truth(symbols=["MSFT"]))
        assert [a.transactions for a in sorted(aggs, key=lambda a: a.timestamp)] == (
            sim.ground_truth(symbols=["MSFT"])["trades"].tolist()
        )
    pages = [p for p, _ in sim.rest_log]
    assert len(pages) == 2 * math.ceil(40 / 7)
    assert "cursor=" in pages[1] and pages[1].startswith(
        "/v2/aggs/ticker/MSFT/range/1/minute/"
    )


def test_rest_response_shape_and_next_url(sim):
    sim.advance(3)
    url = f"{sim.rest_url}/v2/aggs/ticker/AAPL/range/1/minute/2024-03-05/2024-03-05"
    body = json.load(urllib.request.urlopen(f"{url}?limit=2&apiKey=good"))
    assert list(body) == [
        "ticker",
        "queryCount",
        "resultsCount",
        "adjusted",
        "results",
        "status",
        "request_id",
        "count",
        "next_url",
    ]
    assert (body["ticker"], body["resultsCount"], body["count"]) == ("AAPL", 2, 2)
    assert body["status"] == "OK" and len(body["request_id"]) == 32
    assert list(body["results"][0]) == ["v", "vw", "o", "c", "h", "l", "t", "n"]
    nxt = body["next_url"]
    assert nxt.startswith(f"{sim.rest_url}/v2/aggs/ticker/AAPL/range/1/minute/")
    cursor = nxt.split("cursor=")[1]
    assert base64.urlsafe_b64decode(cursor + "==").decode() == "limit=2&sort=asc"
    last = json.load(urllib.request.urlopen(f"{nxt}&apiKey=good"))
    assert last["resultsCount"] == 1 and "next_url" not in last


def test_rest_minute_multiplier_buckets_the_minutes(sim):
    sim.advance(12)
    client = RESTClient(api_key="good", base=sim.rest_url)
    aggs = client.get_aggs("SPY", 5, "minute", "2024-03-05", "2024-03-05")
    truth = sim.ground_truth(symbols=["SPY"]).set_index("ts")
    expected = truth.resample("5min").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    assert [a.timestamp for a in aggs] == [t.value // 10**6 for t in expected.index]
    assert [a.open for a in aggs] == expected["open"].tolist()
    assert [a.close for a in aggs] == expected["close"].tolist()
    assert [a.high for a in aggs] == expected["high"].tolist()
    assert [a.volume for a in aggs] == expected["volume"].tolist()


def http_get(url: str) -> tuple[int, dict, dict]:
    """GET a URL; return (status, headers, JSON body) for success and errors."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.load(resp)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), json.load(err)


def test_rest_429_then_success(sim):
    sim.advance(2)
    sim.fail_rest(2, status=429, retry_after=0)
    client = RESTClient(api_key="good", base=sim.rest_url)
    aggs = client.get_aggs("AAPL", 1, "minute", "2024-03-05", "2024-03-05")
    assert len(aggs) == 2
    assert [s for _, s in sim.rest_log] == [429, 429, 200]
    sim.fail_rest(1, status=429, retry_after=7)
    url = f"{sim.rest_url}/v2/aggs/grouped/locale/us/market/stocks/2024-03-05"
    status, headers, body = http_get(url + "?apiKey=good")
    assert status == 429 and headers["Retry-After"] == "7"
    assert (
        body["status"] == "ERROR" and "exceeded the maximum requests" in body["error"]
    )
    assert http_get(url + "?apiKey=good")[0] == 200
    sim.fail_rest(3, status=429, retry_after=0)
    with pytest.raises(MaxRetryError, match="too many 429 error responses"):
        RESTClient(api_key="good", base=sim.rest_url, retries=2).get_aggs(
            "AAPL", 1, "minute", "2024-03-05", "2024-03-05"
        )


def test_rest_authentication_and_unknown_paths(sim):
    sim.advance(1)
    url = sim.rest_url + "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-05/2024-03-05"
    with pytest.raises(BadResponse, match="Unknown API Key"):
        RESTClient(api_key="bad", base=sim.rest_url, retries=0).get_aggs(
            "AAPL", 1, "minute", "2024-03-05", "2024-03-05"
        )
    for suffix, text in [
        ("", "API Key was not provided"),
        ("?apiKey=no", "Unknown API Key"),
    ]:
        status, _, body = http_get(url + suffix)
        assert (status, body["status"], body["error"]) == (401, "ERROR", text)
        assert len(body["request_id"]) == 32
    status, _, body = http_get(url + "?apiKey=good")
    assert status == 200 and body["resultsCount"] == 1
    request = urllib.request.Request(url, headers={"Authorization": "Bearer good"})
    with urllib.request.urlopen(request) as resp:
        assert json.load(resp)["resultsCount"] == 1
    status, _, body = http_get(sim.rest_url + "/v3/nothing?apiKey=good")
    assert (status, body["status"]) == (404, "NOT_FOUND")
    sim.fail_rest(1, status=401)
    assert http_get(url + "?apiKey=good")[0] == 401
    assert http_get(url + "?apiKey=good")[0] == 200


def test_grouped_daily_and_day_bars_from_history_and_minutes():
    daily = pd.DataFrame(
        {
            "symbol": ["AAPL", "MSFT", "AAPL", "MSFT", "AAPL"],
            "date": [
                "2024-03-01",
                "2024-03-01",
                "2024-03-04",
                "2024-03-04",
                START[:10],
            ],
            "open": [180.0, 410.0, 176.0, 413.0, 1.0],
            "high": [181.0, 415.0, 177.0, 414.0, 1.0],
            "low": [179.0, 408.0, 175.0, 409.0, 1.0],
            "close": [180.5, 414.0, 175.1, 410.5, 1.0],
            "volume": [5e7, 2e7, 6e7, 2.5e7, 1.0],
        }
    )  # the last row is overridden: minutes the simulator emitted win
    with Simulator(
        ["AAPL", "MSFT"], seed=2, speed="fast", start=START, daily=daily
    ) as sim:
        sim.advance(30)
        client = RESTClient(api_key="k", base=sim.rest_url)
        past = client.get_grouped_daily_aggs("2024-03-04")
        assert [(g.ticker, g.close, g.volume) for g in past] == [
            ("AAPL", 175.1, 60_000_000),
            ("MSFT", 410.5, 25_000_000),
        ]
        today = {g.ticker: g for g in client.get_grouped_daily_aggs("2024-03-05")}
        truth = sim.ground_truth()
        for sym, bars in truth.groupby("symbol"):
            g = today[sym]
            assert (g.open, g.close) == (bars["open"].iloc[0], bars["close"].iloc[-1])
            assert (g.high, g.low) == (bars["high"].max(), bars["low"].min())
            assert g.volume == bars["volume"].sum()
            assert g.transactions == bars["trades"].sum()
        # the market continues from the history's last close
        assert abs(truth[truth.symbol == "AAPL"]["open"].iloc[0] / 175.1 - 1) < 0.02
        days = client.get_aggs("AAPL", 1, "day", "2024-03-01", "2024-03-05")
        assert [d.close for d in days] == [180.5, 175.1, today["AAPL"].close]
        midnights = pd.to_datetime([d.timestamp for d in days], unit="ms", utc=True)
        assert (midnights.tz_convert("America/New_York").hour == 0).all()
        assert client.get_grouped_daily_aggs("2024-03-02") == []


def test_replay_mode_replays_the_csv_bar_for_bar():
    csv = pd.read_csv(REPLAY_CSV)
    with Simulator(replay=REPLAY_CSV, speed="fast", seed=1) as sim:
        assert sim.symbols == ["SPY", "XLF", "XLK"]
        with OfficialFeed(sim, ["AM.*"]) as feed:
            assert sim.wait_for_subscribers(1)
            assert sim.advance(100) == 20  # the file holds 20 minutes
            assert wait_until(lambda: len(feed.messages) >= len(csv))
        truth = sim.ground_truth()
    expected = csv.assign(ts=pd.to_datetime(csv["datetime"], utc=True))
    ohlcv = ["open", "high", "low", "close", "volume"]
    same_bars(agg_frame(feed.messages), expected, ohlcv)
    same_bars(truth, expected, ohlcv)
    same_bars(agg_frame(feed.messages), truth)


def test_prepared_minutes_are_sent_unchanged():
    with Simulator(300, seed=9, speed="fast", start=START) as sim:
        with raw_client(sim, subs="A.*,AM.*") as ws:
            assert sim.prepare(2) == 2
            counts = sim.prepared_events()
            assert counts["AM"] > 0 and counts["A"] > counts["AM"]
            assert sim.advance(2) == 2
            events = recv_events(ws, lambda ev: len(ev) >= counts["A"] + counts["AM"])
        assert len(events) == counts["A"] + counts["AM"]
        assert sum(e["ev"] == "AM" for e in events) == len(sim.ground_truth())
        assert sim.stats()["frames"] >= 120  # one frame per second at least


# ------------------------------------------------------------------------- CLI


def test_cli_arguments_build_a_simulator():
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "simulate",
            "--port",
            "0",
            "--symbols",
            "aapl,msft",
            "--speed",
            "fast",
            "--start",
            START,
        ]
    )
    assert callable(args.func)
    sim = simulator_from_args(args)
    assert sim.symbols == ["AAPL", "MSFT"] and sim.is_fast and sim.port == 0
    args = parser.parse_args(["simulate", "--replay", str(REPLAY_CSV), "--speed", "60"])
    assert simulator_from_args(args).speed == 60.0


def test_cli_serves_until_sigterm():
    code = (
        "import argparse, sys; from ingest.simulator import add_cli, run_cli\n"
        "p = argparse.ArgumentParser(); add_cli(p.add_subparsers())\n"
        "sys.exit(run_cli(p.parse_args(sys.argv[1:])))"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "simulate",
            "--port",
            "0",
            "--symbols",
            "AAPL",
            "--speed",
            "fast",
            "--minutes",
            "2",
            "--start",
            START,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ},
    )
    try:
        line = proc.stdout.readline()
        assert "REST http://127.0.0.1:" in line
        base = line.split("REST ")[1].split(",")[0]
        feed = base.removeprefix("http://")
        with connect(f"ws://{feed}/stocks") as ws:
            ws.recv(timeout=5)
            ws.send(json.dumps({"action": "auth", "params": "k"}))
            ws.recv(timeout=5)
            ws.send(json.dumps({"action": "subscribe", "params": "AM.AAPL"}))
            ws.recv(timeout=5)
            bars = [json.loads(ws.recv(timeout=10))[0] for _ in range(2)]
            assert [b["sym"] for b in bars] == ["AAPL", "AAPL"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


def test_otc_flag_and_decimal_volumes():
    syms = ["AAPL", "OTCX"]
    with Simulator(
        syms,
        speed="fast",
        start=START,
        otc_symbols={"OTCX"},
        decimal_volumes=True,
        adv=dict.fromkeys(syms, 1e8),
    ) as sim:
        with raw_client(sim, subs="AM.*") as ws:
            sim.advance(1)
            events = {e["sym"]: e for e in recv_events(ws, lambda ev: len(ev) >= 2)}
        assert events["OTCX"]["otc"] is True and "otc" not in events["AAPL"]
        bar = events["AAPL"]
        assert list(bar)[-2:] == ["dv", "dav"]
        assert float(bar["dv"]) == bar["v"] and float(bar["dav"]) == bar["av"]
        client = RESTClient(api_key="k", base=sim.rest_url)
        assert [g.ticker for g in client.get_grouped_daily_aggs("2024-03-05")] == [
            "AAPL"
        ]
        both = client.get_grouped_daily_aggs("2024-03-05", include_otc=True)
        assert [g.ticker for g in both] == syms


def test_replay_at_speed_follows_the_file_minutes():
    csv = pd.read_csv(REPLAY_CSV)
    with Simulator(replay=REPLAY_CSV, speed=600, seed=1) as sim:  # 0.1 s a minute
        with raw_client(sim, subs="AM.*") as ws:
            events = recv_events(ws, lambda ev: len({e["s"] for e in ev}) >= 8)
        assert sim.finished.wait(10)
        truth = sim.ground_truth()
    expected = csv.assign(ts=pd.to_datetime(csv["datetime"], utc=True))
    same_bars(truth, expected, ["open", "high", "low", "close", "volume"])
    got = pd.DataFrame(events).rename(
        columns={
            "sym": "symbol",
            "o": "open",
            "h": "high",
            "l": "low",
            "c": "close",
            "v": "volume",
            "vw": "vwap",
        }
    )
    got["ts"] = pd.to_datetime(got["s"], unit="ms", utc=True)
    same_bars(got, truth.merge(got[TS_KEY]))


def test_restart_serves_the_same_market_on_the_same_port(sim):
    sim.advance(2)
    port, before = sim.port, sim.ground_truth()
    sim.stop()
    with pytest.raises(OSError):
        with connect(sim.ws_url, open_timeout=1):
            pass
    assert sim.start() == port
    with raw_client(sim, subs="AM.*") as ws:
        sim.advance(1)
        events = recv_events(ws, lambda ev: len(ev) >= len(SYMBOLS))
    after = sim.ground_truth()
    pd.testing.assert_frame_equal(after.iloc[: len(before)], before)
    assert len(after) == len(before) + len(SYMBOLS)
    assert {e["s"] for e in events} == {after["ts"].max().value // 10**6}


def test_async_api_serves_in_the_callers_event_loop():
    async def scenario() -> tuple[list, pd.DataFrame]:
        sim = Simulator(SYMBOLS, seed=4, speed="fast", start=START)
        await sim.astart()
        client = WebSocketClient(
            api_key="k",
            feed=sim.feed,
            market="stocks",
            secure=False,
            subscriptions=["AM.*"],
        )
        got: list = []

        async def handler(msgs: list) -> None:
            got.extend(msgs)

        task = asyncio.create_task(client.connect(handler))
        assert await sim.await_subscribers(1)
        assert await sim.aadvance(2) == 2
        while len(got) < 2 * len(SYMBOLS):
            await asyncio.sleep(0.01)
        await client.close()
        await asyncio.wait_for(task, 5)
        await sim.astop()
        return got, sim.ground_truth()

    got, truth = asyncio.run(asyncio.wait_for(scenario(), 20))
    same_bars(agg_frame(got), truth)


def test_a_client_that_cannot_keep_up_is_told_and_disconnected():
    # one event per frame, three frames of buffer: the first second overflows
    with Simulator(
        300, seed=1, speed=60, start=START, frame_events=1, queue_frames=3
    ) as sim:
        with raw_client(sim, subs="A.*") as ws:
            assert wait_until(lambda: sim.stats()["slow_consumers"] == 1)
            statuses = []
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    statuses += [
                        e
                        for e in json.loads(ws.recv(timeout=10))
                        if e["ev"] == "status"
                    ]
        assert [s["status"] for s in statuses] == ["slow_consumer"]
        assert info.value.rcvd is not None and info.value.rcvd.code == 1000
        assert sim.connection_count() == 0


def test_minute_in_progress_at_stop_is_kept_in_the_ground_truth():
    with Simulator(SYMBOLS, seed=5, speed=6, start=START) as sim:  # 10 s a minute
        with raw_client(sim, subs="A.*"):
            assert wait_until(lambda: sim.stats()["events_A"] > 0)
        assert sim.ground_truth().empty
    truth = sim.ground_truth()
    assert len(truth) == len(SYMBOLS)
    assert truth["ts"].min() == pd.Timestamp(START, tz="America/New_York")


def test_advance_until_skips_closed_hours_in_regular_mode():
    with Simulator(
        ["SPY"],
        speed="fast",
        start="2024-03-08 15:58",
        hours="regular",
        adv={"SPY": 1e9},
    ) as sim:  # a Friday, two minutes before the close
        assert sim.advance(until="2024-03-11 09:32") == 4  # Monday 09:30 and 09:31
        stamps = sim.ground_truth()["ts"].dt.tz_convert("America/New_York")
        assert [t.strftime("%a %H:%M") for t in stamps] == [
            "Fri 15:58",
            "Fri 15:59",
            "Mon 09:30",
            "Mon 09:31",
        ]
        assert sim.advance() == 1 and sim.now() == pd.Timestamp(
            "2024-03-11 09:33", tz="America/New_York"
        )

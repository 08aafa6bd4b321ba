"""Loopback Massive market-data simulator: the real WebSocket and REST protocol.

One asyncio server on one port answers both the WebSocket feed (`/stocks`:
status handshake, auth, subscribe, `A`/`AM` events in JSON-array frames) and
the REST aggregates endpoints (plain HTTP requests are answered from
websockets' `process_request` hook). The official `massive` clients work
against it unchanged:

    sim = Simulator(symbols=["AAPL", "MSFT"], seed=1, speed="fast")
    port = sim.start()
    WebSocketClient(api_key="x", feed=sim.feed, market="stocks", secure=False)
    RESTClient(api_key="k", base=sim.rest_url)
    sim.advance(5)              # emit five minutes as fast as clients read
    sim.ground_truth()          # every AM bar it generated
    sim.stop()
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import collections
import contextlib
import email.utils
import logging
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np
import orjson
import pandas as pd
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ingest.simulator.splits import (
    SPLITS_PATH,
    SplitQueryError,
    normalise_script,
    parse_split_arg,
    splits_page,
    unadjust_daily,
)
from ingest.synthetic import (
    CALENDAR,
    HOURS_MODES,
    MS_PER_MINUTE,
    MS_PER_SECOND,
    SECONDS,
    MinuteBars,
    ReplayMarket,
    SecondBars,
    SyntheticMarket,
    default_universe,
    et_datetime,
    et_midnight_ms,
    make_symbols,
    rollup,
    round4,
    round_price,
    to_epoch_ms,
)

log = logging.getLogger(__name__)

WS_PATH = "/stocks"
FIELDS = ("v", "av", "op", "vw", "o", "c", "h", "l", "a", "z")
DATA_EVENTS = ("A", "AM")
# Channels the real feed accepts; only A and AM carry data here.
KNOWN_EVENTS = frozenset({"A", "AM", "T", "Q", "LULD", "NOI", "FMV", "LV"})
EVENT_MS = {"A": MS_PER_SECOND, "AM": MS_PER_MINUTE}
ORDERLY_CLOSE = 1000
DEFAULT_FRAME_EVENTS = 1000
DEFAULT_QUEUE_FRAMES = 20_000
DEFAULT_LIMIT = 5000
MAX_LIMIT = 50_000
DEFAULT_OVERSIZED_BYTES = 2 * 2**20 + 1
REST_LOG_SIZE = 10_000
CLI_FAST_MINUTES = 390  # one regular session
MAX_CATCH_UP_MINUTES = 5
LOOKAHEAD_SCAN_MINUTES = 60 * 24 * 30
WRITE_LIMIT = 2**20
CLOSE_TIMEOUT = 2.0
SLOW_CONSUMER_GRACE = 10.0
_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_FAST = "fast"

MSG_CONNECTED = "Connected Successfully"
MSG_AUTH_OK = "authenticated"
MSG_AUTH_FAILED = "authentication failed"
MSG_AUTH_TIMEOUT = "authentication timed out"
MSG_MAX_CONNECTIONS = "Maximum number of connections exceeded."
MSG_SLOW_CONSUMER = "slow consumer: too many messages buffered"
MSG_NOT_AUTHED = "not authorized: authenticate first"
MSG_NO_KEY = "API Key was not provided"
MSG_BAD_KEY = "Unknown API Key"
MSG_RATE_LIMIT = (
    "You've exceeded the maximum requests per minute, please wait or upgrade "
    "your subscription to continue. https://massive.com/pricing"
)
MALFORMED_KINDS = (
    "not_json",
    "truncated",
    "object",
    "missing_fields",
    "wrong_types",
    "unknown_event",
    "empty_array",
    "binary",
    "oversized",
)


def status_frame(status: str, message: str) -> bytes:
    """Return one server status frame, e.g. `[{"ev":"status",...}]`."""
    return orjson.dumps([{"ev": "status", "status": status, "message": message}])


FRAME_CONNECTED = status_frame("connected", MSG_CONNECTED)
FRAME_AUTH_OK = status_frame("auth_success", MSG_AUTH_OK)
FRAME_AUTH_FAILED = status_frame("auth_failed", MSG_AUTH_FAILED)


# --------------------------------------------------------------------- encoding


def _keyed_values(key: str, values: np.ndarray) -> list[bytes]:
    """Return `[b',"key":value', ...]` for a numeric column, formatted by orjson."""
    if len(values) == 0:
        return []
    raw = orjson.dumps(np.ascontiguousarray(values), option=_NUMPY)[1:-1]
    prefix = b',"' + key.encode() + b'":'
    return (prefix + raw.replace(b",", b"\x00" + prefix)).split(b"\x00")


class EventEncoder:
    """Serialise A/AM events column-wise with orjson (no per-event dicts).

    With `decimal_volumes` each event also carries `dv`/`dav`, the decimal
    string volumes the live feed sends after `e`.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        otc: Collection[str] = (),
        decimal_volumes: bool = False,
    ) -> None:
        self.heads = {
            ev: np.array(
                [orjson.dumps({"ev": ev, "sym": s})[:-1] for s in symbols], dtype=object
            )
            for ev in DATA_EVENTS
        }
        otc_set = set(otc)
        self.otc = np.array([s in otc_set for s in symbols], dtype=np.int64)
        self.decimal_volumes = decimal_volumes

    def encode(
        self,
        ev: str,
        sym_idx: np.ndarray,
        cols: Mapping[str, np.ndarray],
        starts: np.ndarray,
    ) -> np.ndarray:
        """Return an object array of byte pieces, one event per row."""
        n = len(sym_idx)
        extra = 3 if self.decimal_volumes else 0
        out = np.empty((n, len(FIELDS) + 2 + extra), dtype=object)
        if n == 0:
            return out
        out[:, 0] = self.heads[ev][sym_idx]
        for k, name in enumerate(FIELDS, start=1):
            out[:, k] = _keyed_values(name, cols[name])
        uniq, inverse = np.unique(starts, return_inverse=True)
        stamps = [b',"s":%d,"e":%d' % (s, s + EVENT_MS[ev]) for s in uniq.tolist()]
        closes = [b"},", b',"otc":true},']
        if self.decimal_volumes:
            out[:, -4] = np.array(stamps, dtype=object)[inverse]
            out[:, -3] = _quoted_values("dv", cols["v"])
            out[:, -2] = _quoted_values("dav", cols["av"])
            out[:, -1] = np.array(closes, dtype=object)[self.otc[sym_idx]]
            return out
        tails = np.array([[s + c for c in closes] for s in stamps], dtype=object)
        out[:, -1] = tails[inverse, self.otc[sym_idx]]
        return out


def _quoted_values(key: str, values: np.ndarray) -> list[bytes]:
    """Return `[b',"key":"1.0"', ...]`: numbers as decimal strings."""
    raw = orjson.dumps(np.asarray(values, dtype=np.float64), option=_NUMPY)[1:-1]
    prefix = b',"' + key.encode() + b'":"'
    return (prefix + raw.replace(b",", b'"\x00' + prefix) + b'"').split(b"\x00")


def frames_from_pieces(pieces: np.ndarray, per_frame: int) -> list[bytes]:
    """Join encoded events into JSON-array frames of at most `per_frame` events."""
    frames = []
    for lo in range(0, len(pieces), per_frame):
        body = b"".join(pieces[lo : lo + per_frame].ravel().tolist())
        frames.append(b"[" + body[:-1] + b"]")
    return frames


# ----------------------------------------------------------------- minute data


class _DayState:
    """Per-symbol day accumulators behind `av`, `a` and `op`."""

    def __init__(self, n: int) -> None:
        self.day: date | None = None
        self.cum_v = np.zeros(n, dtype=np.int64)
        self.cum_pv = np.zeros(n, dtype=np.float64)
        self.op = np.full(n, np.nan)
        self.official = np.zeros(n, dtype=bool)

    def roll(self, day: date) -> None:
        """Reset the accumulators when the America/New_York date changes."""
        if day != self.day:
            self.day = day
            self.cum_v[:] = 0
            self.cum_pv[:] = 0.0
            self.op[:] = np.nan
            self.official[:] = False


@dataclass
class _Minute:
    """One generated minute: its bar (ground truth) and its events, ready to send."""

    minute_ms: int
    bars: MinuteBars
    am_cols: dict[str, np.ndarray]
    a_sym: np.ndarray
    a_cols: dict[str, np.ndarray]
    a_starts: np.ndarray
    sec_off: np.ndarray
    encoder: EventEncoder
    sent: int = 0
    _a_cache: dict[int, np.ndarray] = field(default_factory=dict)
    _am_cache: np.ndarray | None = None

    @property
    def a_events(self) -> int:
        """Return the number of `A` events in this minute."""
        return len(self.a_sym)

    def second_rows(self, j: int) -> slice:
        """Return the slice of `A` events for second j."""
        return slice(int(self.sec_off[j]), int(self.sec_off[j + 1]))

    def encode_a(self, j: int, sel: np.ndarray | None) -> np.ndarray:
        """Return encoded `A` events of second j (all, or the rows in `sel`)."""
        cached = self._a_cache.get(j)
        if cached is not None:
            return cached if sel is None else cached[sel]
        rows = self.second_rows(j)
        idx = np.arange(rows.start, rows.stop) if sel is None else rows.start + sel
        cols = {k: v[idx] for k, v in self.a_cols.items()}
        pieces = self.encoder.encode("A", self.a_sym[idx], cols, self.a_starts[idx])
        if sel is None:
            self._a_cache[j] = pieces
        return pieces

    def encode_am(self, sel: np.ndarray | None) -> np.ndarray:
        """Return encoded `AM` events (all, or the rows in `sel`)."""
        if self._am_cache is None:
            starts = np.full(len(self.bars), self.minute_ms, dtype=np.int64)
            self._am_cache = self.encoder.encode(
                "AM", self.bars.sym_idx, self.am_cols, starts
            )
        return self._am_cache if sel is None else self._am_cache[sel]

    def preencode(self) -> None:
        """Serialise every event now so sending later costs no CPU."""
        for j in range(SECONDS):
            self.encode_a(j, None)
        self.encode_am(None)


def build_minute(
    sb: SecondBars, day: _DayState, encoder: EventEncoder, regular: bool
) -> _Minute:
    """Turn per-second bars into the minute's A events, AM event and bar."""
    day.roll(et_datetime(sb.minute_ms).date())
    rows, act = sb.sym_idx, sb.active
    k = len(rows)
    vol = sb.volume
    cum_v = day.cum_v[rows, None] + np.cumsum(vol, axis=1)
    cum_pv = day.cum_pv[rows, None] + np.cumsum(
        np.where(act, sb.vwap * vol, 0.0), axis=1
    )
    first_open = sb.open[np.arange(k), act.argmax(axis=1)] if k else np.empty(0)
    op = day.op[rows]
    if regular:
        op = np.where(day.official[rows], op, first_open)
        day.official[rows] = True
    op = np.where(np.isnan(op), first_open, op)
    day.op[rows] = op
    end_v = cum_v[:, -1] if k else np.empty(0, dtype=np.int64)
    end_pv = cum_pv[:, -1] if k else np.empty(0)
    day.cum_v[rows] = end_v
    day.cum_pv[rows] = end_pv
    sec, r = np.nonzero(act.T)  # events ordered by second, then symbol
    flat = r * SECONDS + sec

    def pick(a: np.ndarray) -> np.ndarray:
        return np.take(a.ravel(), flat)

    a_v, a_av = pick(vol), pick(cum_v)
    a_cols = {
        "v": a_v,
        "av": a_av,
        "op": op[r],
        "vw": pick(sb.vwap),
        "o": pick(sb.open),
        "c": pick(sb.close),
        "h": pick(sb.high),
        "l": pick(sb.low),
        "a": round4(pick(cum_pv) / np.maximum(a_av, 1)),
        "z": np.rint(a_v / np.maximum(pick(sb.trades), 1)).astype(np.int64),
    }
    bars = rollup(sb)
    am_cols = {
        "v": bars.volume,
        "av": end_v,
        "op": op,
        "vw": bars.vwap,
        "o": bars.open,
        "c": bars.close,
        "h": bars.high,
        "l": bars.low,
        "a": round4(end_pv / np.maximum(end_v, 1)),
        "z": np.rint(bars.volume / np.maximum(bars.trades, 1)).astype(np.int64),
    }
    return _Minute(
        sb.minute_ms,
        bars,
        am_cols,
        rows[r],
        a_cols,
        sb.minute_ms + sec.astype(np.int64) * MS_PER_SECOND,
        np.searchsorted(sec, np.arange(SECONDS + 1)),
        encoder,
    )


# ---------------------------------------------------------------- ground truth

TRUTH_COLUMNS = ("open", "high", "low", "close", "vwap", "volume", "trades")
_TRUTH_DTYPES = {"sym": np.int64, "t": np.int64, "volume": np.int64, "trades": np.int64}
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class GroundTruth:
    """Every AM bar the simulator emitted (corrections applied), by minute."""

    def __init__(self, symbols: Sequence[str], retain_minutes: int | None) -> None:
        self._symbols = np.array(symbols, dtype=object)
        self._retain = retain_minutes
        self._chunks: dict[int, _Minute] = {}
        self._keys: list[int] = []
        self._lock = threading.RLock()

    def add(self, minute: _Minute) -> None:
        """Record a finished minute."""
        with self._lock:
            if minute.minute_ms not in self._chunks:
                bisect.insort(self._keys, minute.minute_ms)
            self._chunks[minute.minute_ms] = minute
            while self._retain and len(self._keys) > self._retain:
                self._chunks.pop(self._keys.pop(0))

    def get(self, minute_ms: int) -> _Minute | None:
        """Return the recorded minute starting at `minute_ms`."""
        with self._lock:
            return self._chunks.get(minute_ms)

    def latest(self) -> int | None:
        """Return the start of the latest recorded minute."""
        with self._lock:
            return self._keys[-1] if self._keys else None

    def minutes(self, lo_ms: int, hi_ms: int) -> list[_Minute]:
        """Return recorded minutes with start in [lo_ms, hi_ms], in order."""
        with self._lock:
            a = bisect.bisect_left(self._keys, lo_ms)
            b = bisect.bisect_right(self._keys, hi_ms)
            return [self._chunks[k] for k in self._keys[a:b]]

    def arrays(self, lo_ms: int, hi_ms: int, sym: int | None = None) -> dict:
        """Return column arrays (sym, t and bar fields) for a time range."""
        with self._lock:  # corrections edit bars in place
            return self._arrays(lo_ms, hi_ms, sym)

    def _arrays(self, lo_ms: int, hi_ms: int, sym: int | None) -> dict:
        parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("sym", "t", *TRUTH_COLUMNS)
        }
        for m in self.minutes(lo_ms, hi_ms):
            b = m.bars
            if sym is None:
                sel = slice(None)
                n = len(b)
            else:
                pos = int(np.searchsorted(b.sym_idx, sym))
                if pos >= len(b) or b.sym_idx[pos] != sym:
                    continue
                sel, n = slice(pos, pos + 1), 1
            parts["sym"].append(b.sym_idx[sel])
            parts["t"].append(np.full(n, m.minute_ms, dtype=np.int64))
            for name in TRUTH_COLUMNS:
                parts[name].append(getattr(b, name)[sel])
        return {
            k: np.concatenate(v)
            if v
            else np.empty(0, dtype=_TRUTH_DTYPES.get(k, float))
            for k, v in parts.items()
        }

    def frame(
        self,
        start: Any = None,
        end: Any = None,
        symbols: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Return bars as symbol, ts (UTC bar start), OHLC, volume, vwap, trades."""
        lo = to_epoch_ms(start) if start is not None else -(2**62)
        hi = to_epoch_ms(end) - 1 if end is not None else 2**62
        cols = self.arrays(lo, hi)
        df = pd.DataFrame(
            {
                "symbol": self._symbols[cols["sym"]].astype(str),
                "ts": pd.to_datetime(cols["t"], unit="ms", utc=True),
                **{name: cols[name] for name in TRUTH_COLUMNS},
            }
        )
        df = df[
            ["symbol", "ts", "open", "high", "low", "close", "volume", "vwap", "trades"]
        ]
        if symbols is not None:
            df = df[df["symbol"].isin(set(symbols))]
        return df.sort_values(["ts", "symbol"], ignore_index=True)


# ---------------------------------------------------------------- daily source


def _ordinal(d: date) -> int:
    return d.toordinal()


class DailyHistory:
    """Daily bars the simulator serves for dates it has no minutes for."""

    def __init__(self, daily: pd.DataFrame) -> None:
        df = daily.rename(columns=str.lower).copy()
        missing = {"symbol", "date", "open", "high", "low", "close", "volume"} - set(df)
        if missing:
            raise ValueError(f"daily bars lack columns: {sorted(missing)}")
        df["symbol"] = df["symbol"].astype(str)
        stamps = pd.to_datetime(df["date"]).to_numpy().astype("datetime64[D]")
        df["day"] = stamps.astype(np.int64) + EPOCH_ORDINAL
        keep = ["symbol", "day", "open", "high", "low", "close", "volume"]
        keep += [c for c in ("vwap", "trades") if c in df]
        self.df = df[keep].sort_values(["symbol", "day"], ignore_index=True)
        self._rows = self.df.groupby("symbol").indices

    def symbol_days(self, symbol: str, d0: int, d1: int) -> pd.DataFrame:
        """Return one symbol's bars for day ordinals in [d0, d1]."""
        idx = self._rows.get(symbol)
        if idx is None:
            return self.df.iloc[0:0]
        rows = self.df.iloc[idx]
        return rows[(rows["day"] >= d0) & (rows["day"] <= d1)]

    def on_day(self, day: int) -> pd.DataFrame:
        """Return every symbol's bar on one day ordinal."""
        return self.df[self.df["day"] == day]

    def last_closes(self, before: date) -> dict[str, float]:
        """Return each symbol's last close strictly before `before`."""
        past = self.df[self.df["day"] < _ordinal(before)]
        return past.groupby("symbol")["close"].last().astype(float).to_dict()

    def average_volume(self, before: date, days: int = 20) -> dict[str, float]:
        """Return each symbol's mean volume over its last `days` bars before a date."""
        past = self.df[self.df["day"] < _ordinal(before)]
        tail = past.groupby("symbol").tail(days)
        return tail.groupby("symbol")["volume"].mean().astype(float).to_dict()


def rollup_days(
    truth: GroundTruth, symbols: np.ndarray, d0: date, d1: date, sym: int | None
) -> pd.DataFrame:
    """Roll recorded minutes up into daily bars (regular session when present)."""
    lo = et_midnight_ms(d0)
    hi = et_midnight_ms(d1 + timedelta(days=1)) - 1
    cols = truth.arrays(lo, hi, sym)
    if len(cols["t"]) == 0:
        return pd.DataFrame(
            columns=[
                "symbol",
                "day",
                "open",
                "high",
                "low",
                "close",
                "volume",
                "vwap",
                "trades",
            ]
        )
    minutes = np.unique(cols["t"])
    regular = dict(
        zip(
            minutes.tolist(),
            [CALENDAR.is_regular(int(m)) for m in minutes],
            strict=True,
        )
    )
    days = {int(m): _ordinal(et_datetime(int(m)).date()) for m in minutes}
    df = pd.DataFrame(
        {
            "sym": cols["sym"],
            "t": cols["t"],
            "day": [days[t] for t in cols["t"].tolist()],
            "reg": [regular[t] for t in cols["t"].tolist()],
            **{name: cols[name] for name in TRUTH_COLUMNS},
        }
    )
    any_reg = df.groupby(["sym", "day"])["reg"].transform("any")
    df = df[df["reg"] | ~any_reg].sort_values(["sym", "day", "t"])
    df["pv"] = df["vwap"] * df["volume"]
    g = df.groupby(["sym", "day"], sort=True)
    out = g.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        pv=("pv", "sum"),
        trades=("trades", "sum"),
    ).reset_index()
    out["vwap"] = round4(out["pv"] / out["volume"].clip(lower=1))
    out["symbol"] = symbols[out["sym"].to_numpy()].astype(str)
    return out.drop(columns=["sym", "pv"])


# ------------------------------------------------------------------------ REST


class RestError(Exception):
    """A REST error answered with a Massive-style JSON body."""

    def __init__(self, status: int, body: dict, headers: Sequence = ()) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, list(headers)


def _request_id() -> str:
    return uuid.uuid4().hex


def _error(status: int, message: str, *, key: str = "error", kind: str = "ERROR"):
    return RestError(
        status, {"status": kind, "request_id": _request_id(), key: message}
    )


def json_response(status: int, body: Any, headers: Sequence = ()) -> Response:
    """Build a plain HTTP JSON response (the connection closes after it)."""
    data = orjson.dumps(body)
    hdrs = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Connection", "close"),
            *headers,
        ]
    )
    return Response(status, HTTPStatus(status).phrase, hdrs, data)


AGGS_RE = re.compile(
    r"^/v2/aggs/ticker/(?P<ticker>[^/]+)/range/(?P<mult>[^/]+)/(?P<span>[^/]+)"
    r"/(?P<from>[^/]+)/(?P<to>[^/]+)/?$"
)
GROUPED_RE = re.compile(r"^/v2/aggs/grouped/locale/us/market/stocks/(?P<date>[^/]+)/?$")
SPAN_MS = {"minute": MS_PER_MINUTE, "hour": 60 * MS_PER_MINUTE}
SPANS = (*SPAN_MS, "day")


def _encode_cursor(params: Mapping[str, str]) -> str:
    raw = "&".join(f"{k}={v}" for k, v in params.items()).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> dict[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise _error(400, "Invalid cursor") from exc
    return dict(parse_qsl(raw))


def _parse_bound(raw: str, end: bool) -> int:
    """Return epoch ms for a from/to value (YYYY-MM-DD in ET, or epoch ms)."""
    if raw.isdigit():
        return int(raw)
    try:
        d = date.fromisoformat(raw)
    except ValueError as exc:
        name = "to" if end else "from"
        raise _error(400, f"Could not parse the time parameter: '{name}'.") from exc
    return et_midnight_ms(d + timedelta(days=1)) - 1 if end else et_midnight_ms(d)


def _bar_dicts(
    cols: Mapping[str, np.ndarray], tickers: Sequence[str] | None = None
) -> list[dict]:
    """Return REST result objects (`T` first when tickers are given)."""
    out = []
    has_n = "trades" in cols
    keys = zip(
        cols["volume"].tolist(),
        cols["vwap"].tolist(),
        cols["open"].tolist(),
        cols["close"].tolist(),
        cols["high"].tolist(),
        cols["low"].tolist(),
        cols["t"].tolist(),
        cols["trades"].tolist() if has_n else [None] * len(cols["t"]),
        strict=True,
    )
    for v, vw, o, c, h, lo, t, n in keys:
        bar = {"v": v, "vw": vw, "o": o, "c": c, "h": h, "l": lo, "t": t}
        if n is not None:
            bar["n"] = n
        out.append(bar)
    if tickers is not None:
        out = [{"T": sym, **bar} for sym, bar in zip(tickers, out, strict=True)]
    return out


def _bucket(cols: dict[str, np.ndarray], width_ms: int) -> dict[str, np.ndarray]:
    """Aggregate time-sorted bars into buckets `width_ms` wide."""
    if len(cols["t"]) == 0 or width_ms <= MS_PER_MINUTE:
        return cols
    keys = cols["t"] // width_ms * width_ms
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)] - 1
    volume = np.add.reduceat(cols["volume"], starts)
    pv = np.add.reduceat(cols["vwap"] * cols["volume"], starts)
    out = {
        "t": keys[starts],
        "open": cols["open"][starts],
        "close": cols["close"][ends],
        "high": np.maximum.reduceat(cols["high"], starts),
        "low": np.minimum.reduceat(cols["low"], starts),
        "volume": volume,
        "vwap": round4(pv / np.maximum(volume, 1)),
        "base": ends - starts + 1,
    }
    if "trades" in cols:
        out["trades"] = np.add.reduceat(cols["trades"], starts)
    return out


class RestApi:
    """The Massive REST endpoints the simulator serves."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request; never raises."""
        url = urlsplit(request.path)
        query = dict(parse_qsl(url.query))
        try:
            self._check_faults()
            self._check_key(request, query)
            status, body = 200, self._route(unquote(url.path), query, request)
            headers: list = []
        except RestError as err:
            status, body, headers = err.status, err.body, err.headers
        except Exception:  # noqa: BLE001 - a simulator bug must not kill the server
            log.exception("simulator REST handler failed for %s", request.path)
            err = _error(500, "Internal Server Error")
            status, body, headers = err.status, err.body, err.headers
        self.sim._log_rest(request.path, status)
        return json_response(status, body, headers)

    def _check_faults(self) -> None:
        fault = self.sim._take_rest_fault()
        if fault is None:
            return
        status, retry_after = fault
        if status == 429:
            err = _error(429, MSG_RATE_LIMIT)
            err.headers.append(("Retry-After", str(retry_after)))
            raise err
        if status == 401:
            raise _error(401, MSG_BAD_KEY)
        raise _error(status, HTTPStatus(status).phrase)

    def _check_key(self, request: Request, query: Mapping[str, str]) -> None:
        key = query.get("apiKey")
        auth = request.headers.get("Authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            raise _error(401, MSG_NO_KEY)
        if not self.sim.key_ok(key):
            raise _error(401, MSG_BAD_KEY)

    def _route(self, path: str, query: Mapping[str, str], request: Request) -> dict:
        m = AGGS_RE.match(path)
        if m:
            return self._aggs(m.groupdict(), query, request)
        m = GROUPED_RE.match(path)
        if m:
            return self._grouped(m["date"], query)
        if path.rstrip("/") == SPLITS_PATH:
            return self._splits(query, request)
        raise _error(404, "Not Found", key="message", kind="NOT_FOUND")

    def _aggs(
        self, p: dict[str, str], query: Mapping[str, str], request: Request
    ) -> dict:
        opts = dict(query)
        if "cursor" in opts:
            opts.update(_decode_cursor(opts.pop("cursor")))
        span = p["span"]
        if span not in SPANS:
            raise _error(
                400, f"Invalid timespan '{span}'; use one of {', '.join(SPANS)}"
            )
        if not p["mult"].isdigit() or int(p["mult"]) < 1:
            raise _error(400, "multiplier must be a positive integer")
        mult = int(p["mult"])
        sort = opts.get("sort", "asc")
        if sort not in ("asc", "desc"):
            raise _error(400, "sort must be asc or desc")
        raw_limit = str(opts.get("limit", DEFAULT_LIMIT))
        limit = int(raw_limit) if raw_limit.isdigit() else DEFAULT_LIMIT
        limit = min(max(limit, 1), MAX_LIMIT)
        adjusted = opts.get("adjusted", "true") != "false"
        lo, hi = _parse_bound(p["from"], False), _parse_bound(p["to"], True)
        ticker = p["ticker"]
        cols = self.sim._range_bars(ticker, mult, span, lo, hi)
        order = np.arange(len(cols["t"]))
        if sort == "desc":
            order = order[::-1]
        page, rest = order[:limit], order[limit:]
        picked = {k: v[page] for k, v in cols.items()}
        base = picked.pop("base", None)
        body: dict[str, Any] = {
            "ticker": ticker,
            "queryCount": int(base.sum()) if base is not None else len(page),
            "resultsCount": len(page),
            "adjusted": adjusted,
        }
        if len(page):
            body["results"] = _bar_dicts(picked)
        body.update(status="OK", request_id=_request_id(), count=len(page))
        if len(rest):
            body["next_url"] = self._next_url(
                p, cols, rest[0], sort, limit, opts, request
            )
        return body

    def _next_url(self, p, cols, nxt, sort, limit, opts, request) -> str:
        t = int(cols["t"][nxt])
        width = SPAN_MS.get(p["span"], MS_PER_MINUTE) * int(p["mult"])
        if p["span"] == "day":
            width = MS_PER_MINUTE
        frm, to = (t, p["to"]) if sort == "asc" else (p["from"], t + width - 1)
        cursor_params = {"limit": str(limit), "sort": sort}
        if "adjusted" in opts:
            cursor_params["adjusted"] = opts["adjusted"]
        host = request.headers.get("Host") or f"{self.sim.host}:{self.sim.port}"
        return (
            f"http://{host}/v2/aggs/ticker/{p['ticker']}/range/{p['mult']}/{p['span']}"
            f"/{frm}/{to}?cursor={_encode_cursor(cursor_params)}"
        )

    def _splits(self, query: Mapping[str, str], request: Request) -> dict:
        host = request.headers.get("Host") or f"{self.sim.host}:{self.sim.port}"
        try:
            body = splits_page(self.sim.splits, query, host)
        except SplitQueryError as exc:
            raise _error(400, str(exc)) from exc
        body["request_id"] = _request_id()
        return body

    def _grouped(self, raw_date: str, query: Mapping[str, str]) -> dict:
        try:
            day = date.fromisoformat(raw_date)
        except ValueError as exc:
            raise _error(400, "Could not parse the date parameter.") from exc
        rows = self.sim._grouped_day(
            day, include_otc=query.get("include_otc") == "true"
        )
        close_ms = et_midnight_ms(day) + 16 * 60 * MS_PER_MINUTE
        body: dict[str, Any] = {
            "queryCount": len(rows),
            "resultsCount": len(rows),
            "adjusted": query.get("adjusted", "true") != "false",
        }
        if len(rows):
            cols = {
                k: rows[k].to_numpy() for k in ("open", "high", "low", "close", "vwap")
            }
            cols["volume"] = rows["volume"].to_numpy().astype(np.int64)
            cols["t"] = np.full(len(rows), close_ms, dtype=np.int64)
            if "trades" in rows and rows["trades"].notna().all():
                cols["trades"] = rows["trades"].to_numpy().astype(np.int64)
            body["results"] = _bar_dicts(cols, rows["symbol"].tolist())
        body.update(status="OK", request_id=_request_id(), count=len(rows))
        return body


# ------------------------------------------------------------------ WebSocket

_CLOSE = object()
_STATUS = b'[{"ev":"status"'


class _Conn:
    """One client connection: its subscriptions and its outgoing frame queue."""

    def __init__(self, ws: ServerConnection, queue_frames: int) -> None:
        self.ws = ws
        self.queue: asyncio.Queue = asyncio.Queue(queue_frames)
        self.subs: dict[str, set[str]] = {ev: set() for ev in DATA_EVENTS}
        self.want: dict[str, np.ndarray | bool | None] = dict.fromkeys(DATA_EVENTS)
        self.other_subs: set[str] = set()
        self.closed = False
        self.slow = False
        self.final: list[tuple[bytes, bool]] = []
        self.writer: asyncio.Task | None = None

    def reindex(self, index: Mapping[str, int]) -> None:
        """Recompute which symbol indices this connection receives per event."""
        for ev in DATA_EVENTS:
            subs = self.subs[ev]
            if "*" in subs:
                self.want[ev] = True
                continue
            idx = sorted(index[s] for s in subs if s in index)
            self.want[ev] = np.array(idx, dtype=np.int64) if idx else None

    async def push(
        self, frames: Iterable[bytes], block: bool, text: bool = True
    ) -> bool:
        """Queue frames; without `block` a full queue marks a slow consumer."""
        for frame in frames:
            if self.closed:
                return False
            if block:
                await self.queue.put((frame, text))
                continue
            try:
                self.queue.put_nowait((frame, text))
            except asyncio.QueueFull:
                self.slow_consumer()
                return False
        return True

    def slow_consumer(self) -> None:
        """Drop buffered data (statuses stay), say why, close (as the real feed)."""
        kept = [item for item in self.discard_queue() if item[0].startswith(_STATUS)]
        self.final = [*kept, (status_frame("slow_consumer", MSG_SLOW_CONSUMER), True)]
        self.queue.put_nowait(_CLOSE)
        self.closed = True
        self.slow = True
        # A socket nobody reads would keep the writer waiting forever.
        loop = asyncio.get_running_loop()
        loop.call_later(SLOW_CONSUMER_GRACE, self.ws.transport.abort)

    def discard_queue(self) -> list:
        """Empty the queue (unblocks producers waiting on it); return what it held."""
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                return [i for i in items if i is not _CLOSE]
            self.queue.task_done()

    async def write_loop(self) -> None:
        """Send queued frames in order until the connection closes."""
        while True:
            item = await self.queue.get()
            try:
                if item is _CLOSE:
                    for data, text in self.final:
                        await self.ws.send(data, text=text)
                    await self.ws.close(ORDERLY_CLOSE, "slow consumer")
                    return
                data, text = item
                await self.ws.send(data, text=text)
            except ConnectionClosed:
                self.closed = True
                self.discard_queue()
                return
            finally:
                self.queue.task_done()


def _parse_speed(speed: float | str | None) -> float | None:
    if speed is None or speed == _FAST or speed == float("inf"):
        return None
    value = float(speed)
    if value <= 0:
        raise ValueError("speed must be > 0 or 'fast'")
    return value


class Simulator:
    """A loopback Massive server: WebSocket feed and REST on one port.

    speed: 1.0 = real time (A each second, AM right after each minute);
    N = N x accelerated; "fast" = nothing moves until `advance()` is called,
    which emits minutes as fast as the clients read them.
    """

    def __init__(
        self,
        symbols: Sequence[str] | int | None = None,
        *,
        seed: int = 0,
        sectors: Mapping[str, str | None] | None = None,
        last_close: Mapping[str, float] | None = None,
        adv: Mapping[str, float] | None = None,
        etfs: Collection[str] | None = None,
        otc_symbols: Collection[str] = (),
        speed: float | str | None = 1.0,
        start: Any = None,
        hours: str = "all",
        replay: str | Path | pd.DataFrame | None = None,
        daily: pd.DataFrame | None = None,
        volume_scale: float = 1.0,
        backfill_minutes: int = 0,
        api_keys: Collection[str] | None = None,
        auth_timeout: float = 10.0,
        max_connections: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        frame_events: int = DEFAULT_FRAME_EVENTS,
        queue_frames: int = DEFAULT_QUEUE_FRAMES,
        compression: str | None = None,
        retain_minutes: int | None = None,
        decimal_volumes: bool = False,
        splits: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        if hours not in HOURS_MODES:
            raise ValueError(f"hours must be one of {HOURS_MODES}")
        self.seed = int(seed)
        self.speed = _parse_speed(speed)
        self.hours = hours
        self.host, self.port = host, int(port)
        self.frame_events = int(frame_events)
        self.auth_timeout = float(auth_timeout)
        self.max_connections = max_connections
        self.compression = compression
        self.queue_frames = int(queue_frames)
        self._api_keys = frozenset(api_keys) if api_keys is not None else None
        # The split script; daily history before each split is served unadjusted.
        self.splits = normalise_script(splits)
        self._daily = (
            DailyHistory(unadjust_daily(daily, self.splits))
            if daily is not None
            else None
        )
        self._start_ms = to_epoch_ms(start) if start is not None else None
        self._replay = replay is not None
        self._market = self._make_market(
            symbols, replay, sectors, last_close, adv, etfs, volume_scale
        )
        self.symbols: list[str] = list(self._market.symbols)
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._sym_array = np.array(self.symbols, dtype=object)
        self._otc = frozenset(otc_symbols)
        self._encoder = EventEncoder(self.symbols, self._otc, decimal_volumes)
        self._day = _DayState(len(self.symbols))
        self._truth = GroundTruth(self.symbols, retain_minutes)
        self._rest = RestApi(self)
        self._backfill_minutes = int(backfill_minutes)
        self._wall_locked = self.speed == 1.0 and start is None and not self._replay
        self._gen_ms: int | None = None
        self._prepared: collections.deque[_Minute] = collections.deque()
        self._lock = threading.Lock()
        self._rest_faults: collections.deque[tuple[int, int]] = collections.deque()
        self.rest_log: collections.deque[tuple[str, int]] = collections.deque(
            maxlen=REST_LOG_SIZE
        )
        self._stats: collections.Counter = collections.Counter()
        self._conns: set[_Conn] = set()
        self._mix_ins: dict[str, tuple[list, list]] = {}
        self._pending: set[_Conn] = set()
        self._sub_counts: dict[str, int] = dict.fromkeys(DATA_EVENTS, 0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._tasks: list[asyncio.Task] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop_event: asyncio.Event | None = None
        self._emit_lock: asyncio.Lock | None = None
        self._clock_anchor = (0.0, 0)
        self._next_first: int | None = None
        self._playing: _Minute | None = None
        self.finished = threading.Event()

    # ---------------------------------------------------------------- set-up

    def _make_market(self, symbols, replay, sectors, last_close, adv, etfs, scale):
        if replay is not None:
            syms = list(symbols) if isinstance(symbols, Sequence) and symbols else None
            return ReplayMarket(replay, seed=self.seed, symbols=syms)
        if isinstance(symbols, int):
            symbols = make_symbols(symbols)
        if not symbols:
            universe = default_universe()
            symbols = list(universe)
            sectors = {**universe, **(sectors or {})}
        start_day = et_datetime(self._first_minute_hint()).date()
        if self._daily is not None:
            last_close = {**self._daily.last_closes(start_day), **(last_close or {})}
            adv = {**self._daily.average_volume(start_day), **(adv or {})}
        return SyntheticMarket(
            list(symbols),
            seed=self.seed,
            sectors=sectors,
            last_close=last_close,
            adv=adv,
            etfs=etfs,
            volume_scale=scale,
        )

    def _first_minute_hint(self) -> int:
        if self._start_ms is not None:
            return self._start_ms
        return int(time.time() * 1000)

    def _initial_minute(self) -> int | None:
        """Return the first minute the clock will emit."""
        if self._replay:
            first = self._market.next_minute(None)
            if (
                self._start_ms is not None
                and first is not None
                and first < self._start_ms
            ):
                first = self._market.next_minute(self._start_ms - 1)
            return first
        if self._start_ms is not None:
            start = self._start_ms - self._start_ms % MS_PER_MINUTE
        elif self._wall_locked:
            now = int(time.time() * 1000)
            start = now - now % MS_PER_MINUTE
        else:
            start = CALENDAR.last_open_at_or_before(int(time.time() * 1000))
        return self._open_at_or_after(start)

    def _open_at_or_after(self, ms: int) -> int | None:
        for k in range(LOOKAHEAD_SCAN_MINUTES):
            m = ms + k * MS_PER_MINUTE
            if CALENDAR.is_open(m, self.hours):
                return m
        return None

    def _following_minute(self, after_ms: int | None) -> int | None:
        """Return the next minute to generate after `after_ms` (None: the first)."""
        if after_ms is None:
            return self._initial_minute()
        if self._replay:
            return self._market.next_minute(after_ms)
        return self._open_at_or_after(after_ms + MS_PER_MINUTE)

    def _backfill(self) -> None:
        """Silently generate `backfill_minutes` open minutes before the start."""
        if not self._backfill_minutes or self._replay or self._gen_ms is not None:
            return
        first = self._initial_minute()
        if first is None:
            return
        minutes: list[int] = []
        m = first - MS_PER_MINUTE
        while len(minutes) < self._backfill_minutes and first - m < 60 * 86_400_000:
            if CALENDAR.is_open(m, self.hours):
                minutes.append(m)
            m -= MS_PER_MINUTE
        for m in reversed(minutes):
            self._truth.add(self._generate(m))
        self._gen_ms = minutes[0] if minutes else None
        self._next_first = first

    def _generate(self, minute_ms: int, first_second: int = 0) -> _Minute:
        sb = self._market.generate(minute_ms)
        if first_second:
            sb = sb.keep_from(first_second)
        self._gen_ms = minute_ms
        regular = CALENDAR.is_regular(minute_ms)
        return build_minute(sb, self._day, self._encoder, regular)

    def _generate_next(self) -> _Minute | None:
        nxt = self._next_first
        if nxt is not None:
            self._next_first = None
        else:
            nxt = self._following_minute(self._gen_ms)
        return None if nxt is None else self._generate(nxt)

    # ------------------------------------------------------------- lifecycle

    @property
    def feed(self) -> str:
        """Return `host:port`, the `feed` argument of the official WebSocketClient."""
        return f"{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Return the WebSocket URL (`ws://host:port/stocks`)."""
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    @property
    def rest_url(self) -> str:
        """Return the REST base URL (`http://host:port`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def is_fast(self) -> bool:
        """Tell whether the clock only moves on `advance()`."""
        return self.speed is None

    def start(self, timeout: float = 30.0) -> int:
        """Serve from a background thread; return the bound port.

        After `stop()` it may be started again: same port, same market, the
        ground truth kept (a server that went away and came back).
        """
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(
            target=self._thread_main, name="massive-sim", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("simulator did not start")
        if self._startup_error is not None:
            raise RuntimeError("simulator failed to start") from self._startup_error
        return self.port

    def _thread_main(self) -> None:
        async def main() -> None:
            try:
                await self.astart()
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                self._startup_error = exc
                self._ready.set()
                return
            self._ready.set()
            await self.serve_forever()

        asyncio.run(main())

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection and the server; join the background thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive() and self._stop_event is not None:
            loop.call_soon_threadsafe(self._stop_event.set)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def astart(self) -> int:
        """Start serving on the running event loop; return the bound port."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._emit_lock = asyncio.Lock()
        # Load the exchange calendar now, not on the loop while clients connect.
        CALENDAR.is_regular(self._initial_minute() or int(time.time() * 1000))
        self._backfill()
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            compression=self.compression,
            max_size=2**20,
            write_limit=WRITE_LIMIT,
            close_timeout=CLOSE_TIMEOUT,
            logger=_quiet_logger(),
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if not self.is_fast:
            self._tasks.append(asyncio.create_task(self._run_clock()))
        log.info(
            "Massive simulator on ws://%s:%s%s and %s (%d symbols, speed %s)",
            self.host,
            self.port,
            WS_PATH,
            self.rest_url,
            len(self.symbols),
            self.speed or _FAST,
        )
        return self.port

    async def serve_forever(self) -> None:
        """Serve until `stop()` (or `astop()`), then shut down."""
        assert self._stop_event is not None
        await self._stop_event.wait()
        await self.astop()

    async def astop(self) -> None:
        """Stop the clock and close every connection (code 1001) and the server."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._playing is not None:
            # The market traded that minute even though the server went away.
            self._truth.add(self._playing)
            self._playing = None
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        if self._stop_event is not None:
            self._stop_event.set()

    def _call(self, coro, timeout: float | None = None):
        if self._loop is None:
            coro.close()
            raise RuntimeError("simulator not started")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(timeout)

    # ------------------------------------------------------------------ clock

    def _sim_now_ms(self) -> int:
        if self._wall_locked:
            return int(time.time() * 1000)
        wall0, sim0 = self._clock_anchor
        return sim0 + int((time.monotonic() - wall0) * 1000 * (self.speed or 1.0))

    def _anchor(self, sim_ms: int) -> None:
        self._clock_anchor = (time.monotonic(), sim_ms)

    def now(self) -> pd.Timestamp:
        """Return the simulated time (fast mode: the end of the last minute sent)."""
        if self.is_fast:
            last = self._truth.latest()
            ms = (
                (last + MS_PER_MINUTE)
                if last is not None
                else (self._initial_minute() or 0)
            )
            return pd.Timestamp(ms, unit="ms", tz="UTC")
        return pd.Timestamp(self._sim_now_ms(), unit="ms", tz="UTC")

    async def _run_clock(self) -> None:
        """Emit A each simulated second and AM after each simulated minute."""
        nxt = self._next_first or self._following_minute(self._gen_ms)
        self._next_first = None
        if nxt is not None and not self._wall_locked:
            self._anchor(nxt)
        first = True
        while True:
            if nxt is None:
                self.finished.set()
                await asyncio.sleep(0.5)
                continue
            now = self._sim_now_ms()
            if nxt > now:
                if self._wall_locked:
                    await asyncio.sleep(min((nxt - now) / 1000, 1.0))
                    continue
                self._anchor(nxt)
                now = nxt
            if self._wall_locked and now - nxt > MAX_CATCH_UP_MINUTES * MS_PER_MINUTE:
                nxt = self._open_at_or_after(now - now % MS_PER_MINUTE)
                continue
            if self._wall_locked and nxt + MS_PER_MINUTE <= now:
                # Minutes that passed while the server was down: record, don't send.
                self._truth.add(self._generate(nxt))
                nxt = self._following_minute(nxt)
                continue
            skip = (
                (now - nxt) // MS_PER_SECOND + 1 if first and self._wall_locked else 0
            )
            minute = self._generate(nxt, int(min(skip, SECONDS)))
            first = False
            await self._play_minute(minute)
            nxt = self._following_minute(minute.minute_ms)

    async def _play_minute(self, minute: _Minute) -> None:
        """Emit a minute's seconds as the clock reaches them, then its AM."""
        self._playing = minute
        while True:
            now = self._sim_now_ms()
            due = min(max((now - minute.minute_ms) // MS_PER_SECOND, 0), SECONDS)
            async with self._emit_lock:
                while minute.sent < due:
                    await self._emit_second(minute, minute.sent, block=False)
                    minute.sent += 1
                if due >= SECONDS:
                    await self._finish_minute(minute, block=False)
                    self._playing = None
                    return
            next_edge = minute.minute_ms + (minute.sent + 1) * MS_PER_SECOND
            wait = (next_edge - now) / 1000 / (1.0 if self._wall_locked else self.speed)
            await asyncio.sleep(max(wait, 0.0005))

    async def _emit_second(self, minute: _Minute, j: int, block: bool) -> None:
        rows = minute.second_rows(j)
        if rows.stop > rows.start:
            await self._deliver(
                "A", minute.a_sym[rows], lambda sel: minute.encode_a(j, sel), block
            )

    async def _finish_minute(self, minute: _Minute, block: bool) -> None:
        minute.sent = SECONDS
        self._truth.add(minute)
        self._stats["minutes"] += 1
        await self._deliver("AM", minute.bars.sym_idx, minute.encode_am, block)

    async def _deliver(
        self,
        ev: str,
        sym_idx: np.ndarray,
        encode: Callable[[np.ndarray | None], np.ndarray],
        block: bool,
    ) -> None:
        """Send events to every connection subscribed to them, in frames."""
        every: list[bytes] | None = None
        extra = self._mix_ins.pop(ev, None) if self._mix_ins else None
        for conn in list(self._conns):
            want = conn.want[ev]
            if want is None or conn.closed:
                continue
            if want is True:
                if every is None:
                    every = frames_from_pieces(encode(None), self.frame_events)
                frames, count = every, len(sym_idx)
            else:
                sel = np.flatnonzero(np.isin(sym_idx, want))
                if not len(sel):
                    continue
                frames, count = (
                    frames_from_pieces(encode(sel), self.frame_events),
                    len(sel),
                )
            if extra is not None:
                frames = mix_into_frames(frames, *extra)
            if await conn.push(frames, block):
                self._stats[f"events_{ev}"] += count
                self._stats["frames"] += len(frames)
            elif conn.slow:
                self._stats["slow_consumers"] += 1
                self._conns.discard(conn)
                self._count_subscribers()

    # -------------------------------------------------------- fast-mode API

    async def aadvance(self, minutes: int | None = None, until: Any = None) -> int:
        """Emit the next minutes now (fast mode); return how many were emitted.

        `minutes` caps the count, `until` (exclusive) the time; with neither,
        one minute. A replay runs out at the end of its file.
        """
        if not self.is_fast:
            raise RuntimeError("advance() needs speed='fast'")
        if minutes is None and until is None:
            minutes = 1
        end_ms = to_epoch_ms(until) if until is not None else None
        done = 0
        async with self._emit_lock:
            while minutes is None or done < minutes:
                minute = self._prepared.popleft() if self._prepared else None
                minute = minute or self._generate_next()
                if minute is None:
                    self.finished.set()  # the replay ran out
                    break
                if end_ms is not None and minute.minute_ms >= end_ms:
                    self._prepared.appendleft(minute)  # keep it for later
                    break
                for j in range(SECONDS):
                    await self._emit_second(minute, j, block=True)
                await self._finish_minute(minute, block=True)
                done += 1
                await asyncio.sleep(0)
        return done

    def advance(
        self,
        minutes: int | None = None,
        until: Any = None,
        timeout: float | None = None,
    ) -> int:
        """Emit the next `minutes` (or all before `until`) as fast as clients read."""
        return self._call(self.aadvance(minutes, until), timeout)

    async def aprepare(self, minutes: int) -> int:
        """Generate and serialise the next minutes ahead of `advance()`."""
        async with self._emit_lock:
            made = 0
            for _ in range(minutes):
                minute = self._generate_next()
                if minute is None:
                    break
                minute.preencode()
                self._prepared.append(minute)
                made += 1
            return made

    def prepare(self, minutes: int, timeout: float | None = None) -> int:
        """Pre-generate and pre-serialise minutes so `advance()` only sends."""
        return self._call(self.aprepare(minutes), timeout)

    def prepared_events(self) -> dict[str, int]:
        """Return the number of A and AM events waiting in prepared minutes."""
        return {
            "A": sum(m.a_events for m in self._prepared),
            "AM": sum(len(m.bars) for m in self._prepared),
        }

    async def adrain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued frame was written to its socket."""
        conns = [c for c in self._conns if not c.closed]
        if not conns:
            return True
        try:
            await asyncio.wait_for(
                asyncio.gather(*(c.queue.join() for c in conns)), timeout
            )
        except TimeoutError:
            return False
        return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Block until every queued frame was written (False on timeout)."""
        return self._call(self.adrain(timeout), timeout + 1)

    def wait_for_subscribers(
        self, count: int = 1, ev: str = "AM", timeout: float = 10.0
    ) -> bool:
        """Block until `count` connections subscribed to `ev` (A or AM)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._sub_counts.get(ev, 0) >= count:
                return True
            time.sleep(0.01)
        return False

    async def await_subscribers(
        self, count: int = 1, ev: str = "AM", timeout: float = 10.0
    ) -> bool:
        """Wait (async) until `count` connections subscribed to `ev`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._sub_counts.get(ev, 0) < count:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def connection_count(self) -> int:
        """Return the number of authenticated connections."""
        return len(self._conns)

    # -------------------------------------------------------- ground truth

    def ground_truth(
        self, start: Any = None, end: Any = None, symbols: Collection[str] | None = None
    ) -> pd.DataFrame:
        """Return every AM bar emitted: symbol, ts, OHLC, volume, vwap, trades."""
        return self._truth.frame(start, end, symbols)

    def stats(self) -> dict[str, int]:
        """Return counters: connections, minutes, events, frames, REST requests."""
        return {
            "connections": len(self._conns),
            "minutes": self._stats["minutes"],
            "events_A": self._stats["events_A"],
            "events_AM": self._stats["events_AM"],
            "frames": self._stats["frames"],
            "auth_failed": self._stats["auth_failed"],
            "rest_requests": self._stats["rest"],
            "corrections": self._stats["corrections"],
            "slow_consumers": self._stats["slow_consumers"],
            "drops": self._stats["drops"],
        }

    # ------------------------------------------------------------- faults

    def drop_connections(self, code: int | None = None, reason: str = "") -> int:
        """Drop every connection: abruptly (no close frame) or with a close code."""
        return self._call(self._adrop(code, reason), 15)

    async def _adrop(self, code: int | None, reason: str) -> int:
        conns = list(self._conns | self._pending)
        for conn in conns:
            conn.closed = True
            conn.discard_queue()
        self._conns.clear()
        self._pending.clear()
        self._count_subscribers()
        if code is None:
            for conn in conns:
                conn.ws.transport.abort()
        elif conns:
            tasks = [asyncio.create_task(c.ws.close(code, reason)) for c in conns]
            await asyncio.wait(tasks, timeout=5)
        self._stats["drops"] += len(conns)
        return len(conns)

    def send_malformed(
        self, kind: str, count: int = 1, oversized_bytes: int = DEFAULT_OVERSIZED_BYTES
    ) -> int:
        """Send a malformed frame of `kind` (see MALFORMED_KINDS) to every client."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {MALFORMED_KINDS}")
        frame, text = malformed_frame(kind, self.symbols[0], oversized_bytes)
        return self._call(self._abroadcast_raw([frame] * count, text), 30)

    async def _abroadcast_raw(self, frames: list[bytes], text: bool) -> int:
        sent = 0
        async with self._emit_lock:
            for conn in list(self._conns):
                if await conn.push(frames, block=True, text=text):
                    sent += 1
        return sent

    def mix_into_next(
        self, ev: str, before: Sequence[Any] = (), after: Sequence[Any] = ()
    ) -> None:
        """Put raw extra events into the next delivery of `ev` ("A"/"AM").

        `before` goes at the start of its first frame, `after` at the end of
        its last one, as given (any JSON value): hostile-feed tests mix poison
        events into frames of real bars this way.
        """
        if ev not in DATA_EVENTS:
            raise ValueError(f"ev must be one of {DATA_EVENTS}")
        self._mix_ins[ev] = (list(before), list(after))

    def send_events(self, events: Sequence[Any]) -> int:
        """Send one frame holding exactly `events` (raw JSON values) to every client."""
        return self._call(self._abroadcast_raw([orjson.dumps(list(events))], True), 30)

    @property
    def wall_clock(self) -> bool:
        """Tell whether simulated time is the wall clock (real time, no start)."""
        return self._wall_locked

    def send_corrections(
        self,
        n: int = 5,
        minute: Any = None,
        symbols: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Re-send corrected AM bars (same `s`) and update the ground truth."""
        return self._call(self._acorrect(n, minute, symbols), 30)

    async def _acorrect(self, n, minute, symbols) -> pd.DataFrame:
        async with self._emit_lock:
            key = to_epoch_ms(minute) if minute is not None else self._truth.latest()
            chunk = self._truth.get(key) if key is not None else None
            if chunk is None or not len(chunk.bars):
                return self.ground_truth().iloc[0:0]
            rows = self._correction_rows(chunk, n, symbols)
            if not len(rows):
                return self.ground_truth().iloc[0:0]
            self._apply_correction(chunk, rows)
            pieces = chunk.encoder.encode(
                "AM",
                chunk.bars.sym_idx[rows],
                {k: v[rows] for k, v in chunk.am_cols.items()},
                np.full(len(rows), chunk.minute_ms, dtype=np.int64),
            )
            chunk._am_cache = None
            await self._deliver(
                "AM",
                chunk.bars.sym_idx[rows],
                lambda sel: pieces if sel is None else pieces[sel],
                block=True,
            )
            self._stats["corrections"] += len(rows)
        names = set(self._sym_array[chunk.bars.sym_idx[rows]].tolist())
        ts = pd.Timestamp(chunk.minute_ms, unit="ms", tz="UTC")
        return self.ground_truth(ts, ts + pd.Timedelta(minutes=1), names)

    def _correction_rows(self, chunk: _Minute, n: int, symbols) -> np.ndarray:
        b = chunk.bars
        if symbols is not None:
            wanted = [self._index[s] for s in symbols if s in self._index]
            return np.flatnonzero(np.isin(b.sym_idx, wanted))
        rng = np.random.default_rng(
            [self.seed, 99, chunk.minute_ms, self._stats["corrections"]]
        )
        return np.sort(rng.choice(len(b), size=min(n, len(b)), replace=False))

    def _apply_correction(self, chunk: _Minute, rows: np.ndarray) -> None:
        b, cols = chunk.bars, chunk.am_cols
        delta = np.maximum(1, b.volume[rows] // 10)
        tick = np.where(b.close[rows] >= 1.0, 0.01, 0.0001)
        up = round_price(b.close[rows] + tick)
        down = round_price(b.close[rows] - tick)
        close = np.where(up <= b.high[rows], up, np.maximum(down, b.low[rows]))
        volume = b.volume[rows] + delta
        vwap = round4((b.vwap[rows] * b.volume[rows] + close * delta) / volume)
        vwap = np.clip(vwap, b.low[rows], b.high[rows])
        with self._truth._lock:
            b.close[rows], b.volume[rows], b.vwap[rows] = close, volume, vwap
            b.trades[rows] += 1
        cols["c"], cols["v"], cols["vw"] = b.close, b.volume, b.vwap
        cols["av"] = cols["av"].copy()
        cols["av"][rows] += delta
        cols["z"] = np.rint(b.volume / np.maximum(b.trades, 1)).astype(np.int64)
        self._day.cum_v[b.sym_idx[rows]] += delta

    def fail_rest(self, n: int = 1, status: int = 429, retry_after: int = 1) -> None:
        """Make the next `n` REST requests fail with `status` (429 adds Retry-After)."""
        with self._lock:
            self._rest_faults.extend([(int(status), int(retry_after))] * n)

    def _take_rest_fault(self) -> tuple[int, int] | None:
        with self._lock:
            return self._rest_faults.popleft() if self._rest_faults else None

    def set_api_keys(self, keys: Collection[str] | None) -> None:
        """Accept only these keys (None: any non-empty key) on WebSocket and REST."""
        self._api_keys = frozenset(keys) if keys is not None else None

    def key_ok(self, key: Any) -> bool:
        """Tell whether an API key is accepted."""
        return (
            isinstance(key, str)
            and bool(key)
            and (self._api_keys is None or key in self._api_keys)
        )

    def _log_rest(self, path: str, status: int) -> None:
        self._stats["rest"] += 1
        self.rest_log.append((path, status))

    # ------------------------------------------------------ REST data access

    def _range_bars(
        self, ticker: str, mult: int, span: str, lo_ms: int, hi_ms: int
    ) -> dict[str, np.ndarray]:
        if span == "day":
            return self._day_bars(ticker, mult, lo_ms, hi_ms)
        sym = self._index.get(ticker)
        if sym is None:
            return self._truth.arrays(0, -1)
        cols = self._truth.arrays(lo_ms, hi_ms, sym)
        cols.pop("sym")
        return _bucket(cols, SPAN_MS[span] * mult)

    def _day_bars(self, ticker: str, mult: int, lo_ms: int, hi_ms: int) -> dict:
        d0, d1 = et_datetime(lo_ms).date(), et_datetime(hi_ms).date()
        sym = self._index.get(ticker)
        rolled = (
            rollup_days(self._truth, self._sym_array, d0, d1, sym)
            if sym is not None
            else None
        )
        history = (
            self._daily.symbol_days(ticker, _ordinal(d0), _ordinal(d1))
            if self._daily is not None
            else None
        )
        df = _prefer_minutes(rolled, history, "day")
        if df is None:
            return self._truth.arrays(0, -1)
        return _day_columns(df.sort_values("day"), mult)

    def _grouped_day(self, day: date, include_otc: bool) -> pd.DataFrame:
        rolled = rollup_days(self._truth, self._sym_array, day, day, None)
        history = self._daily.on_day(_ordinal(day)) if self._daily is not None else None
        df = _prefer_minutes(rolled, history, "symbol")
        if df is None:
            return pd.DataFrame(columns=["symbol"])
        if "vwap" not in df or df["vwap"].isna().any():
            typical = pd.Series(
                round4((df["high"] + df["low"] + df["close"]) / 3), index=df.index
            )
            df["vwap"] = df["vwap"].fillna(typical) if "vwap" in df else typical
        if not include_otc:
            df = df[~df["symbol"].isin(self._otc)]
        return df.sort_values("symbol", ignore_index=True)

    # ------------------------------------------------------ WebSocket server

    def _process_request(self, connection: ServerConnection, request: Request):
        """Let WebSocket upgrades to /stocks through; answer anything else as REST."""
        upgrade = request.headers.get("Upgrade", "")
        if "websocket" in upgrade.lower():
            if urlsplit(request.path).path.rstrip("/") == WS_PATH:
                return None
            return json_response(
                404,
                {
                    "status": "NOT_FOUND",
                    "request_id": _request_id(),
                    "message": "Not Found",
                },
            )
        return self._rest.handle(request)

    async def _handle(self, ws: ServerConnection) -> None:
        conn = _Conn(ws, self.queue_frames)
        self._pending.add(conn)
        try:
            await ws.send(FRAME_CONNECTED, text=True)
            if not await self._authenticate(conn):
                return
            self._pending.discard(conn)
            self._conns.add(conn)
            conn.writer = asyncio.create_task(conn.write_loop())
            async for message in ws:
                await self._on_message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            conn.discard_queue()
            self._pending.discard(conn)
            self._conns.discard(conn)
            self._count_subscribers()
            if conn.writer is not None:
                conn.writer.cancel()

    async def _authenticate(self, conn: _Conn) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.auth_timeout
        while True:
            try:
                raw = await asyncio.wait_for(
                    conn.ws.recv(), max(deadline - loop.time(), 0)
                )
            except TimeoutError:
                await conn.ws.send(
                    status_frame("auth_timeout", MSG_AUTH_TIMEOUT), text=True
                )
                await conn.ws.close(ORDERLY_CLOSE, "auth timeout")
                return False
            msg = _parse_client_message(raw)
            if msg is None or msg.get("action") != "auth":
                await conn.ws.send(status_frame("error", MSG_NOT_AUTHED), text=True)
                continue
            if not self.key_ok(msg.get("params")):
                self._stats["auth_failed"] += 1
                await conn.ws.send(FRAME_AUTH_FAILED, text=True)
                await conn.ws.close(ORDERLY_CLOSE, "authentication failed")
                return False
            if (
                self.max_connections is not None
                and len(self._conns) >= self.max_connections
            ):
                await conn.ws.send(
                    status_frame("max_connections", MSG_MAX_CONNECTIONS), text=True
                )
                await conn.ws.close(ORDERLY_CLOSE, "max connections")
                return False
            await conn.ws.send(FRAME_AUTH_OK, text=True)
            return True

    async def _on_message(self, conn: _Conn, raw: str | bytes) -> None:
        msg = _parse_client_message(raw)
        if msg is None:
            await conn.push([status_frame("error", "invalid message")], block=True)
            return
        action, params = msg.get("action"), msg.get("params")
        if action in ("subscribe", "unsubscribe"):
            if not isinstance(params, str):
                await conn.push(
                    [status_frame("error", "params must be a string")], True
                )
                return
            frames = self._change_subscriptions(conn, action, params)
            await conn.push(frames, block=True)
        elif action == "auth":
            await conn.push(
                [status_frame("error", "already authenticated")], block=True
            )
        else:
            await conn.push([status_frame("error", f"unknown action: {action}")], True)

    def _change_subscriptions(
        self, conn: _Conn, action: str, params: str
    ) -> list[bytes]:
        frames = []
        adding = action == "subscribe"
        for channel in (c.strip() for c in params.split(",")):
            if not channel:
                continue
            ev, _, sym = channel.partition(".")
            if not sym or ev not in KNOWN_EVENTS:
                frames.append(status_frame("error", f"invalid channel: {channel}"))
                continue
            target = conn.subs[ev] if ev in conn.subs else conn.other_subs
            item = sym if ev in conn.subs else channel
            if adding:
                target.add(item)
                frames.append(status_frame("success", f"subscribed to: {channel}"))
            else:
                target.discard(item)
                frames.append(status_frame("success", f"unsubscribed to: {channel}"))
        conn.reindex(self._index)
        self._count_subscribers()
        return frames

    def _count_subscribers(self) -> None:
        self._sub_counts = {
            ev: sum(1 for c in self._conns if c.subs[ev] and not c.closed)
            for ev in DATA_EVENTS
        }


def _prefer_minutes(
    rolled: pd.DataFrame | None, history: pd.DataFrame | None, key: str
) -> pd.DataFrame | None:
    """Merge daily bars: days rolled up from emitted minutes win over history."""
    frames = [f for f in (rolled, history) if f is not None and len(f)]
    if len(frames) == 2:
        frames[1] = history[~history[key].isin(set(rolled[key]))]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def _day_columns(df: pd.DataFrame, mult: int) -> dict[str, np.ndarray]:
    """Return REST columns for daily bars (t = midnight ET), grouped by `mult` days."""
    days = df["day"].to_numpy(dtype=np.int64)
    t = np.array(
        [et_midnight_ms(date.fromordinal(int(d))) for d in days], dtype=np.int64
    )
    volume = df["volume"].to_numpy(dtype=np.float64)
    typical = round4((df["high"] + df["low"] + df["close"]).to_numpy() / 3)
    vwap = df["vwap"].to_numpy(dtype=np.float64) if "vwap" in df else typical
    vwap = np.where(np.isnan(vwap), typical, vwap)
    cols = {
        "t": t,
        "open": df["open"].to_numpy(dtype=np.float64),
        "high": df["high"].to_numpy(dtype=np.float64),
        "low": df["low"].to_numpy(dtype=np.float64),
        "close": df["close"].to_numpy(dtype=np.float64),
        "volume": np.rint(volume).astype(np.int64),
        "vwap": vwap,
    }
    if "trades" in df and df["trades"].notna().all():
        cols["trades"] = df["trades"].to_numpy().astype(np.int64)
    if mult > 1:
        keys = (days - days.min()) // mult
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        last = np.r_[first[1:], len(keys)] - 1
        vol = np.add.reduceat(cols["volume"], first)
        pv = np.add.reduceat(cols["vwap"] * cols["volume"], first)
        grouped = {
            "t": t[first],
            "open": cols["open"][first],
            "close": cols["close"][last],
            "high": np.maximum.reduceat(cols["high"], first),
            "low": np.minimum.reduceat(cols["low"], first),
            "volume": vol,
            "vwap": round4(pv / np.maximum(vol, 1)),
            "base": last - first + 1,
        }
        if "trades" in cols:
            grouped["trades"] = np.add.reduceat(cols["trades"], first)
        return grouped
    return cols


def _parse_client_message(raw: str | bytes) -> dict | None:
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return msg if isinstance(msg, dict) else None


def _quiet_logger() -> logging.Logger:
    """Return a logger for websockets that hides per-request INFO lines."""
    logger = logging.getLogger("ingest.simulator.websockets")
    logger.setLevel(logging.WARNING)
    return logger


def mix_into_frames(
    frames: list[bytes], before: Sequence[Any], after: Sequence[Any]
) -> list[bytes]:
    """Return frames with raw events added at the start and at the end."""
    if not frames:
        return [orjson.dumps([*before, *after])]
    out = list(frames)
    if before:
        out[0] = orjson.dumps(list(before))[:-1] + b"," + out[0][1:]
    if after:
        out[-1] = out[-1][:-1] + b"," + orjson.dumps(list(after))[1:]
    return out


def malformed_frame(kind: str, symbol: str, oversized_bytes: int) -> tuple[bytes, bool]:
    """Return (payload, is_text) of one malformed frame of the given kind."""
    sym = symbol.encode()
    bar = {
        "ev": "AM",
        "sym": symbol,
        "v": 100,
        "av": 1000,
        "op": 10.0,
        "vw": 10.01,
        "o": 10.0,
        "c": 10.02,
        "h": 10.03,
        "l": 9.99,
        "a": 10.0,
        "z": 50,
        "s": 1_600_000_000_000,
        "e": 1_600_000_060_000,
    }
    if kind == "not_json":
        return b"this is not JSON", True
    if kind == "truncated":
        return b'[{"ev":"AM","sym":"' + sym + b'","v":12', True
    if kind == "object":
        return orjson.dumps(bar), True
    if kind == "missing_fields":
        return orjson.dumps([{"ev": "AM", "sym": symbol, "v": 100}]), True
    if kind == "wrong_types":
        wrong = {
            "ev": "AM",
            "sym": symbol,
            "v": "100",
            "av": None,
            "op": "x",
            "vw": "10.01",
            "o": "abc",
            "c": [],
            "h": {},
            "l": True,
            "a": "",
            "z": "50",
            "s": "2020-09-13T12:26:40Z",
            "e": None,
        }
        return orjson.dumps([wrong]), True
    if kind == "unknown_event":
        return orjson.dumps([{"ev": "ZZ", "sym": symbol, "x": 1}]), True
    if kind == "empty_array":
        return b"[]", True
    if kind == "binary":
        return orjson.dumps(
            [{"ev": "status", "status": "info", "message": "binary"}]
        ), False
    item = b'{"ev":"ZZ","pad":"' + b"x" * 1000 + b'"}'
    count = oversized_bytes // (len(item) + 1) + 1
    return b"[" + b",".join([item] * count) + b"]", True


# ------------------------------------------------------------------------- CLI


def _symbols_arg(value: str | None) -> list[str] | int | None:
    """Parse --symbols: a comma list, @file (one per line), or a count N."""
    if not value or value == "default":
        return None
    if value.isdigit():
        return int(value)
    if value.startswith("@"):
        lines = Path(value[1:]).read_text().split()
        return [s.strip().upper() for s in lines if s.strip()]
    return [s.strip().upper() for s in value.split(",") if s.strip()]


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register `tickstock simulate` (sets func(settings, args) -> int)."""
    p = subparsers.add_parser(
        "simulate",
        help="run the Massive market-data simulator (WebSocket + REST on one port)",
        description="Serve the real Massive protocol on loopback from a synthetic "
        "market or a replayed minute-bar CSV.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument(
        "--symbols",
        default=None,
        help="comma list, @file, a count N of synthetic tickers, or "
        "'default' (S&P 500 + sector and index ETFs)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speed", default="1", help="1 = real time, N = N x, or 'fast'")
    p.add_argument("--start", default=None, help="simulated start (ISO, ET if naive)")
    p.add_argument(
        "--hours",
        choices=HOURS_MODES,
        default="all",
        help="which minutes trade (default all: a 24/7 demo)",
    )
    p.add_argument("--replay", default=None, help="minute-bar CSV to replay")
    p.add_argument("--daily", default=None, help="daily-bar CSV served over REST")
    p.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        default=None,
        help="accepted key (repeatable; default: any non-empty key)",
    )
    p.add_argument(
        "--minutes",
        type=int,
        default=None,
        help="fast mode: minutes to emit once a client subscribed",
    )
    p.add_argument(
        "--split",
        dest="splits",
        action="append",
        type=parse_split_arg,
        default=None,
        metavar="TICKER:YYYY-MM-DD:FROM:TO",
        help="a split in the script (repeatable); e.g. AAPL:2026-11-18:1:4",
    )
    p.set_defaults(func=_cli_command)
    return p


def _cli_command(settings: Any, args: argparse.Namespace) -> int:
    return run_cli(args)


def simulator_from_args(args: argparse.Namespace) -> Simulator:
    """Build a Simulator from parsed `tickstock simulate` arguments."""
    daily = pd.read_csv(args.daily) if args.daily else None
    return Simulator(
        _symbols_arg(args.symbols),
        seed=args.seed,
        speed=args.speed,
        start=args.start,
        hours=args.hours,
        replay=args.replay,
        daily=daily,
        api_keys=args.api_keys,
        host=args.host,
        port=args.port,
        splits=getattr(args, "splits", None),
    )


def run_cli(args: argparse.Namespace) -> int:
    """Run the simulator in the foreground until SIGINT/SIGTERM."""
    sim = simulator_from_args(args)
    asyncio.run(_serve_cli(sim, args.minutes))
    return 0


async def _serve_cli(sim: Simulator, minutes: int | None) -> None:
    await sim.astart()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, sim._stop_event.set)
    print(
        f"Massive simulator: feed {sim.feed} (ws {sim.ws_url}), REST {sim.rest_url}, "
        f"{len(sim.symbols)} symbols, speed {sim.speed or _FAST}",
        flush=True,
    )
    if sim.is_fast:
        asyncio.create_task(_fast_cli(sim, minutes))
    await sim.serve_forever()


async def _fast_cli(sim: Simulator, minutes: int | None) -> None:
    await sim.await_subscribers(1, "AM", timeout=float("inf"))
    if minutes is None and not sim._replay:
        minutes = CLI_FAST_MINUTES
    sent = await sim.aadvance(minutes)
    print(f"emitted {sent} minutes", flush=True)


__all__ = [
    "MALFORMED_KINDS",
    "EventEncoder",
    "GroundTruth",
    "Simulator",
    "add_cli",
    "run_cli",
    "simulator_from_args",
    "status_frame",
]

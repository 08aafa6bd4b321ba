"""The Massive REST endpoints: aggregates, grouped daily, splits, paging."""

from __future__ import annotations

import base64
import email.utils
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np
import orjson
import pandas as pd
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ingest.simulator.aggregates import SPAN_MS
from ingest.simulator.splits import SPLITS_PATH, SplitQueryError, splits_page
from ingest.synthetic import MS_PER_MINUTE, et_midnight_ms

log = logging.getLogger("ingest.simulator")

DEFAULT_LIMIT = 5000
MAX_LIMIT = 50_000
MSG_NO_KEY = "API Key was not provided"
MSG_BAD_KEY = "Unknown API Key"
MSG_RATE_LIMIT = (
    "You've exceeded the maximum requests per minute, please wait or upgrade "
    "your subscription to continue. https://massive.com/pricing"
)


class RestError(Exception):
    """A REST error answered with a Massive-style JSON body."""

    def __init__(self, status: int, body: dict, headers: Sequence = ()) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, list(headers)


def request_id() -> str:
    """Return a fresh request id for a response body."""
    return uuid.uuid4().hex


def _error(status: int, message: str, *, key: str = "error", kind: str = "ERROR"):
    return RestError(status, {"status": kind, "request_id": request_id(), key: message})


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


class SimulatorBackend(Protocol):
    """What the REST endpoints need from the Simulator facade."""

    host: str
    port: int
    splits: list[dict]

    def key_ok(self, key: Any) -> bool: ...

    def _take_rest_fault(self) -> tuple[int, int] | None: ...

    def _log_rest(self, path: str, status: int) -> None: ...

    def _range_bars(
        self, ticker: str, mult: int, span: str, lo_ms: int, hi_ms: int
    ) -> dict[str, np.ndarray]: ...

    def _grouped_day(self, day: date, include_otc: bool) -> pd.DataFrame: ...


class RestApi:
    """The Massive REST endpoints the simulator serves."""

    def __init__(self, sim: SimulatorBackend) -> None:
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
        body.update(status="OK", request_id=request_id(), count=len(page))
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
        body["request_id"] = request_id()
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
        body.update(status="OK", request_id=request_id(), count=len(rows))
        return body

"""REST API: a Flask blueprint on `app.server` under /api.

JSON by default (orjson), `?format=csv` on tabular endpoints; every parameter is
validated against its declaration (`dashapp.api.spec`), which also generates the
OpenAPI document. Errors are `{"error": code, "message": text, "details": {}}`.
Data responses carry an `ETag` derived from the store's data version and answer
`304` to a matching `If-None-Match`.

`/api/ticks/recent` serves stored minute bars only (`ohlcv_1min`); the
in-progress live bar of the current minute is not included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson
import pandas as pd
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException, InternalServerError

from dashapp import auth
from dashapp.api.spec import (
    REGISTRY,
    ApiError,
    Endpoint,
    Param,
    parse_body,
    parse_params,
)
from dashapp.market.asof import live_cap
from dashapp.market.context import current_store, extension
from dashapp.market.counts import counted_meta, rotation_missing
from dashapp.ops.failsoft import note_db_error
from dashapp.store import StoreError
from dashapp.store.origin_sql import fake_origins

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

MAX_TICKS = 1_000
MAX_BARS = 10_000
MAX_ROWS = 1_000
MAX_SINCE = 4_102_444_800  # 2100-01-01
DEFAULT_UNIVERSE = "sp500"
CACHE_CONTROL = "private, max-age=0, must-revalidate"
BODY_CACHE_ENTRIES = 512
VERSION_TTL_S = 0.25
NO_STORE = "no-store"
JSON_MIME = "application/json"
CSV_MIME = "text/csv"
RANKING_SORTS = (
    "rs_rating",
    "rs_score",
    "ret_1d",
    "ret_5d",
    "ret_21d",
    "ret_63d",
    "ret_126d",
    "ret_252d",
    "ret_ytd",
    "symbol",
    "sector",
    "stage",
)
TICK_FIELDS = ("open", "high", "low", "close", "volume")
SECTOR_PATTERN = r"^[A-Za-z &,.\-]{1,64}$"

# ------------------------------------------------------------ shared params
P_FORMAT = Param(
    "format", "enum", "Response format.", default="json", choices=("json", "csv")
)
P_UNIVERSE = Param(
    "universe",
    "universe",
    "Universe name (case-insensitive; `a+b` = union).",
    default=DEFAULT_UNIVERSE,
)
P_AS_OF = Param(
    "as_of",
    "as_of",
    "`now`, a session `YYYY-MM-DD`, or a minute `YYYY-MM-DDTHH:MM` (New York time "
    "unless an offset such as `Z` or `-04:00` follows).",
    default="now",
)
P_LIMIT_ROWS = Param(
    "limit", "integer", "Maximum rows.", default=MAX_ROWS, minimum=1, maximum=MAX_ROWS
)
P_STAGE = Param(
    "stage", "integer", "Only this Weinstein stage (1-4).", minimum=1, maximum=4
)

# ------------------------------------------------------------ JSON schemas
NUM = {"type": "number", "nullable": True}
STR = {"type": "string", "nullable": True}
INT = {"type": "integer", "nullable": True}
ROW = {"type": "object", "additionalProperties": True}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "details"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}


def _table_schema(row: dict[str, Any] = ROW, **extra: Any) -> dict[str, Any]:
    props = {"count": {"type": "integer"}, "rows": {"type": "array", "items": row}}
    props.update(extra)
    return {"type": "object", "required": ["count", "rows"], "properties": props}


STATE_META = {
    "universe": {"type": "string"},
    "as_of": {"type": "string"},
    "session": STR,
    "data_version": {"type": "string"},
    "demo_data": {"type": "boolean"},
    "session_closed": {"type": "boolean"},
    "excluded": {"type": "integer"},
    "rs_universe": {"type": "object"},
    "members": {"type": "object"},
}
TICK = {
    "type": "object",
    "required": ["symbol", "timestamp", "open", "high", "low", "close", "volume"],
    "properties": {
        "symbol": {"type": "string"},
        "timestamp": {"type": "number"},
        "open": {"type": "number"},
        "high": {"type": "number"},
        "low": {"type": "number"},
        "close": {"type": "number"},
        "volume": {"type": "number"},
    },
}
BAR = {
    "type": "object",
    "required": ["time", "open", "high", "low", "close", "volume"],
    "properties": {
        "time": {"type": "string"},
        "open": {"type": "number"},
        "high": {"type": "number"},
        "low": {"type": "number"},
        "close": {"type": "number"},
        "volume": {"type": "number"},
    },
}
USER = {
    "type": "object",
    "required": ["id", "username", "role", "disabled"],
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "role": {"type": "string", "enum": ["admin", "user"]},
        "disabled": {"type": "boolean"},
        "failed_logins": {"type": "integer"},
        "locked_until": STR,
        "created_at": STR,
    },
}
TOKEN = {
    "type": "object",
    "required": ["id", "name", "user"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "user": {"type": "string"},
        "created_at": STR,
        "last_used_at": STR,
        "revoked_at": STR,
    },
}
JOB = {
    "type": "object",
    "required": ["id", "kind", "status"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string"},
        "status": {"type": "string"},
        "progress": NUM,
        "message": STR,
        "result": {},
        "error": STR,
    },
}


# ------------------------------------------------------------ registration
def endpoint(
    rule: str,
    summary: str,
    *,
    methods: tuple[str, ...] = ("GET",),
    params: tuple[Param, ...] = (),
    body: tuple[Param, ...] = (),
    response: dict[str, Any] | None = None,
    tabular: bool = False,
    admin: bool = False,
    cached: bool = False,
    statuses: tuple[int, ...] = (),
    tag: str = "data",
) -> Callable:
    """Register a view on the blueprint and describe it for OpenAPI."""
    method = methods[0]
    if tabular:
        params = (*params, P_FORMAT)
    spec = Endpoint(
        path="/api" + rule.replace("<", "{").replace(">", "}").replace("int:", ""),
        method=method.lower(),
        summary=summary,
        params=params,
        body=body,
        response=response or {"type": "object"},
        tabular=tabular,
        admin=admin,
        cached=cached,
        statuses=statuses,
        tag=tag,
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        spec.operation_id = view.__name__

        def handler(**path_args: Any) -> Response:
            return _run(spec, view, path_args)

        handler.__name__ = view.__name__
        handler.__doc__ = view.__doc__
        bp.add_url_rule(rule, view.__name__, handler, methods=list(methods))
        REGISTRY.append(spec)
        return view

    return decorate


def _run(
    spec: Endpoint, view: Callable[..., Any], path_args: dict[str, Any]
) -> Response:
    principal = auth.current_principal()
    if principal is None:
        raise ApiError(401, "unauthorized", "log in or send a bearer token")
    if spec.admin and not principal.is_admin:
        raise ApiError(403, "forbidden", "this endpoint needs the admin role")
    path_args = {k: str(v) for k, v in path_args.items()}
    kwargs = parse_params(spec.params, path_args, "path")
    kwargs.update(parse_params(spec.params, request.args, "query"))
    if spec.body:
        kwargs.update(parse_body(spec.body, _json_body()))
    if not spec.cached:
        response = _respond(view(**kwargs))
        response.headers["Cache-Control"] = NO_STORE
        return response
    etag = _etag()
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        cache = _body_cache()
        hit = cache.get(etag)
        if hit is None:
            response = _respond(view(**kwargs))
            if response.status_code == 200:
                cache.put(etag, response)
        else:
            response = hit
    _cache_headers(response, etag)
    return response


def _respond(result: Any) -> Response:
    return result if isinstance(result, Response) else json_response(result)


class BodyCache:
    """Finished 200 responses keyed by ETag (which includes the data version)."""

    def __init__(self, max_entries: int = BODY_CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[bytes, str, list]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Response | None:
        """Return a fresh copy of the cached response, or None."""
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
        if entry is None:
            return None
        body, mimetype, headers = entry
        return Response(body, mimetype=mimetype, headers=headers)

    def put(self, key: str, response: Response) -> None:
        """Remember a response body and its content headers."""
        keep = [
            (k, v) for k, v in response.headers.items() if k == "Content-Disposition"
        ]
        entry = (response.get_data(), response.mimetype, keep)
        with self._lock:
            self._data[key] = entry
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)


def _body_cache() -> BodyCache:
    cache = current_app.extensions.get("tickstock_api_bodies")
    if cache is None:
        cache = current_app.extensions.setdefault("tickstock_api_bodies", BodyCache())
    return cache


def _json_body() -> Any:
    if request.mimetype != JSON_MIME:
        raise ApiError(
            415, "unsupported_media_type", "send the body as application/json"
        )
    try:
        return orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not valid JSON: {exc}"
        ) from None


def data_version_key() -> str:
    """Return the store's data version key, re-read at most every VERSION_TTL_S.

    Every cached endpoint needs the version for its ETag; reading it costs three
    queries, more than serving a cached body. Bars arrive once a minute, so a
    worker may answer from a version up to VERSION_TTL_S old
    (`TICKSTOCK_API_VERSION_TTL` in the Flask config; 0 reads it every time).
    """
    ttl = current_app.config.get("TICKSTOCK_API_VERSION_TTL", VERSION_TTL_S)
    holder = current_app.extensions.setdefault("tickstock_api_version", [0.0, ""])
    now = time.monotonic()
    if ttl <= 0 or now - holder[0] >= ttl:
        holder[1] = current_store().data_version().key
        holder[0] = now
    return holder[1]


def _etag() -> str:
    version = data_version_key()
    live = extension("livebars")
    if live is not None:
        version += f"-live{live.version}"
    args = sorted(request.args.items(multi=True))
    # "now" moves to the next session at the open, with no new data.
    cap, open_now = live_cap()
    raw = orjson.dumps([version, request.path, args, str(cap), open_now])
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:32]


def _cache_headers(response: Response, etag: str) -> None:
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.add("Authorization")
    response.vary.add("Cookie")


def json_response(body: Any, status: int = 200) -> Response:
    """Return an orjson-encoded JSON response."""
    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    data = orjson.dumps(body, option=options, default=_default)
    return Response(data, status=status, mimetype=JSON_MIME)


def _default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return None if value is pd.NaT else value.isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return frame rows as JSON-ready dicts (NaN/NaT -> null, times -> ISO)."""
    if frame is None or frame.empty:
        return []
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_datetime64_any_dtype(series):
            out[col] = series.map(lambda t: None if pd.isna(t) else t.isoformat())
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def csv_response(frame: pd.DataFrame, name: str) -> Response:
    """Return a frame as a CSV download."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    response = Response(buffer.getvalue(), mimetype=CSV_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# ------------------------------------------------------------ errors
@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return auth.json_error(exc.status, exc.code, exc.message, **exc.details)


def api_http_error(exc: HTTPException) -> Response | HTTPException:
    """Answer HTTP errors under /api in the JSON error shape."""
    if not request.path.startswith("/api"):
        return exc
    code = (exc.name or "error").lower().replace(" ", "_")
    response = auth.json_error(exc.code or 500, code, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def api_unexpected_error(exc: Exception) -> Response | HTTPException:
    """Log an unexpected error; answer JSON 500 under /api, plain 500 elsewhere."""
    if isinstance(exc, HTTPException):
        return api_http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    if not request.path.startswith("/api"):
        return InternalServerError(original_exception=exc)
    return auth.json_error(500, "internal_error", "unexpected server error")


@bp.route("/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(_rest: str) -> Response:
    """Answer unknown /api paths with JSON 404, or 405 when only the method is wrong."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            name, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if name != "api.not_found":
            allowed.append(method)
    if allowed:
        response = auth.json_error(
            405, "method_not_allowed", f"use {', '.join(allowed)}", allowed=allowed
        )
        response.headers["Allow"] = ", ".join([*allowed, "HEAD", "OPTIONS"])
        return response
    return auth.json_error(404, "not_found", "no such API endpoint")


# ------------------------------------------------------------ market data
def _state(universe: str, as_of: str):
    from dashapp.market import AsOfOutOfRange, BadRequest, market_state

    try:
        return market_state(universe, None if as_of == "now" else as_of)
    except AsOfOutOfRange as exc:
        first, last = (d.isoformat() if d else None for d in (exc.first, exc.last))
        raise ApiError(
            422, exc.code, str(exc), parameter="as_of", first=first, last=last
        ) from None
    except BadRequest as exc:
        message = str(exc)
        if message.startswith("unknown universe"):
            raise ApiError(
                404, "unknown_universe", message, universe=universe
            ) from None
        raise ApiError(400, "invalid_parameter", message, parameter="as_of") from None
    except Exception as exc:  # the analytics may be incomplete; never answer 500
        if note_db_error(exc):
            raise  # answered 503 database_unavailable by dashapp.ops.failsoft
        log.exception("market state failed for %s at %s", universe, as_of)
        raise ApiError(
            503, "analytics_unavailable", "the market state could not be computed"
        ) from None


def _state_meta(state) -> dict[str, Any]:
    return {
        "universe": state.universe,
        "as_of": state.as_of,
        "session": state.session.isoformat() if state.session else None,
        "data_version": state.version,
        "demo_data": bool(state.demo),
        "session_closed": bool(getattr(state, "closed", True)),
        "excluded": int(len(state.excluded)),
        **counted_meta(state),
    }


def _table(state, kind: str) -> tuple[pd.DataFrame, list[str]]:
    """Return (contract columns + extra columns, the contract column names)."""
    from dashapp.api.export import EXPORT_COLUMNS, export_frame

    contract = export_frame(state, kind)
    frame = getattr(state, kind)
    frame = pd.DataFrame() if frame is None else frame
    key = "date" if kind == "breadth" else "symbol"
    if key not in frame.columns and len(frame):
        frame = frame.rename_axis(frame.index.name or key).reset_index()
    extras = frame[[c for c in frame.columns if c not in EXPORT_COLUMNS[kind]]]
    if len(extras) == len(contract) and len(extras.columns):
        contract = pd.concat([contract, extras.reset_index(drop=True)], axis=1)
    return contract, list(EXPORT_COLUMNS[kind])


def _tabular(
    frame: pd.DataFrame, contract: list[str], fmt: str, name: str, meta: dict[str, Any]
) -> Response | dict[str, Any]:
    if fmt == "csv":
        return csv_response(frame.reindex(columns=contract), name)
    return {**meta, "count": len(frame), "rows": records(frame)}


@endpoint(
    "/ticks/recent",
    "Recent stored minute bars of one symbol, newest first.",
    params=(
        Param("symbol", "symbol", "Ticker, e.g. AAPL.", required=True),
        Param(
            "since",
            "integer",
            "Only bars starting after this Unix time (s).",
            minimum=0,
            maximum=MAX_SINCE,
        ),
        Param(
            "limit",
            "integer",
            "Maximum bars.",
            default=100,
            minimum=1,
            maximum=MAX_TICKS,
        ),
    ),
    response={
        "type": "object",
        "required": ["symbol", "count", "ticks"],
        "properties": {
            "symbol": {"type": "string"},
            "count": {"type": "integer"},
            "demo_data": {"type": "boolean"},
            "ticks": {"type": "array", "items": TICK},
        },
    },
    tabular=True,
    cached=True,
)
def ticks_recent(symbol: str, since: int | None, limit: int, format: str):  # noqa: A002
    """Return the newest stored minute bars (not the in-progress live bar)."""
    start = None if since is None else dt.datetime.fromtimestamp(since, dt.UTC)
    rows = current_store().recent_minute_bars(symbol, since=start, limit=limit)
    if format == "csv":
        frame = pd.DataFrame(rows, columns=["timestamp", *TICK_FIELDS])
        frame.insert(0, "symbol", symbol)
        return csv_response(frame, f"ticks_{symbol}")
    ticks = [
        {"symbol": symbol, "timestamp": ts, "open": o, "high": h, "low": lo,
         "close": c, "volume": v}
        for ts, o, h, lo, c, v in rows
    ]  # fmt: skip
    return {
        "symbol": symbol,
        "count": len(ticks),
        "demo_data": _demo_data(),
        "ticks": ticks,
    }


def _demo_data() -> bool:
    """Tell whether demo or simulated bars are stored (what answers derive from)."""
    return bool(fake_origins(current_store()))


def _weekly(daily: pd.DataFrame) -> pd.DataFrame:
    """Roll daily bars to weeks (last session of each ISO week)."""
    if daily.empty:
        return daily
    frame = daily.set_index("date")
    try:
        from analytics import weekly_bars
    except ImportError:
        weekly_bars = None
    if weekly_bars is not None:
        panels = {c: frame[[c]] for c in ("open", "high", "low", "close", "volume")}
        weeks = weekly_bars(panels)
        out = pd.DataFrame({c: weeks[c].iloc[:, 0] for c in weeks}).dropna(
            subset=["close"]
        )
        return out.rename_axis("date").reset_index()
    iso = frame.index.isocalendar()
    groups = frame.groupby([iso["year"], iso["week"]], sort=True)
    out = groups.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    out["date"] = groups.apply(lambda w: w.index.max(), include_groups=False).to_numpy()
    return out.reset_index(drop=True)


@endpoint(
    "/bars/<symbol>",
    "OHLCV bars of one symbol: minute, daily or weekly.",
    params=(
        Param("symbol", "symbol", "Ticker, e.g. AAPL.", required=True, location="path"),
        Param(
            "timeframe", "enum", "Bar size.", default="1d", choices=("1min", "1d", "1w")
        ),
        Param("start", "datetime", "First bar (date or UTC time)."),
        Param("end", "datetime", "Last bar (date or UTC time)."),
        Param(
            "limit",
            "integer",
            "Newest bars kept.",
            default=1_000,
            minimum=1,
            maximum=MAX_BARS,
        ),
    ),
    response={
        "type": "object",
        "required": ["symbol", "timeframe", "count", "bars"],
        "properties": {
            "symbol": {"type": "string"},
            "timeframe": {"type": "string"},
            "count": {"type": "integer"},
            "demo_data": {"type": "boolean"},
            "bars": {"type": "array", "items": BAR},
        },
    },
    tabular=True,
    cached=True,
    statuses=(404,),
)
def bars(symbol: str, timeframe: str, start, end, limit: int, format: str):  # noqa: A002
    """Return the newest `limit` bars in [start, end], oldest first."""
    store = current_store()
    if store.symbols_frame([symbol]).empty:
        raise ApiError(404, "unknown_symbol", f"no symbol {symbol}", symbol=symbol)
    if timeframe == "1min":
        frame = store.read_minute(
            [symbol], start=start, end=end, limit=limit, newest_first=True
        )
        frame = frame.iloc[::-1]
        times = frame["ts"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    else:
        frame = store.read_daily(
            [symbol],
            start=None if start is None else start.date(),
            end=None if end is None else end.date(),
        )
        if timeframe == "1w":
            frame = _weekly(frame)
        frame = frame.tail(limit)
        times = frame["date"].map(lambda d: pd.Timestamp(d).strftime("%Y-%m-%d"))
    out = pd.DataFrame({"time": times.to_numpy() if len(frame) else []})
    for col in ("open", "high", "low", "close", "volume"):
        out[col] = frame[col].astype(float).to_numpy() if len(frame) else []
    if format == "csv":
        return csv_response(out, f"bars_{symbol}_{timeframe}")
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "count": len(out),
        "demo_data": _demo_data(),
        "bars": records(out),
    }


def _members(universe: str | None) -> list[str] | None:
    if universe is None:
        return None
    try:
        return current_store().universe_symbols(universe)
    except KeyError as exc:
        raise ApiError(
            404, "unknown_universe", str(exc.args[0]), universe=universe
        ) from None


@endpoint(
    "/symbols",
    "Search symbols by ticker prefix or name, optionally within a universe.",
    params=(
        Param(
            "search",
            "string",
            "Ticker prefix or part of the name.",
            max_length=64,
            pattern=r"^[A-Za-z0-9 &,.'\-]*$",
        ),
        Param("universe", "universe", "Only members of this universe."),
        Param(
            "limit",
            "integer",
            "Maximum rows.",
            default=100,
            minimum=1,
            maximum=MAX_ROWS,
        ),
    ),
    response=_table_schema(),
    tabular=True,
    cached=True,
    statuses=(404,),
)
def symbols(search: str | None, universe: str | None, limit: int, format: str):  # noqa: A002
    """Return matching symbols with name, kind and GICS sector."""
    frame = current_store().search_symbols(search, _members(universe), limit)
    if format == "csv":
        return csv_response(frame, "symbols")
    return {"count": len(frame), "rows": records(frame)}


@endpoint(
    "/universes",
    "Universes with member counts and how many members have daily data.",
    response=_table_schema(),
    tabular=True,
    cached=True,
)
def universes(format: str):  # noqa: A002
    """Return every universe."""
    frame = current_store().list_universes()
    if len(frame):
        frame["builtin"] = frame["builtin"].astype(bool)
    if format == "csv":
        return csv_response(frame, "universes")
    return {"count": len(frame), "rows": records(frame)}


@endpoint(
    "/market-state",
    "Headline market state of a universe (breadth, stage counts, exclusions).",
    params=(P_UNIVERSE, P_AS_OF),
    response={"type": "object", "properties": STATE_META, "required": ["universe"]},
    cached=True,
    statuses=(404, 422, 503),
)
def market_state_summary(universe: str, as_of: str):
    """Return the summary of the market state."""
    state = _state(universe, as_of)
    summary = {**state.summary(), **counted_meta(state)}
    summary["excluded_symbols"] = records(state.excluded)
    return summary


@endpoint(
    "/rankings",
    "RS rankings (IBD-style rating 1-99) with returns and stage.",
    params=(
        P_UNIVERSE,
        P_AS_OF,
        Param(
            "sector",
            "string",
            "Only this GICS sector.",
            max_length=64,
            pattern=SECTOR_PATTERN,
        ),
        P_STAGE,
        Param(
            "sort", "enum", "Sort column.", default="rs_rating", choices=RANKING_SORTS
        ),
        Param("order", "enum", "Sort order.", default="desc", choices=("asc", "desc")),
        Param(
            "limit",
            "integer",
            "Maximum rows.",
            default=100,
            minimum=1,
            maximum=MAX_ROWS,
        ),
    ),
    response=_table_schema(**STATE_META, total={"type": "integer"}),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def rankings(universe, as_of, sector, stage, sort, order, limit, format):  # noqa: A002
    """Return the ranking table, filtered and sorted."""
    state = _state(universe, as_of)
    frame, contract = _table(state, "rankings")
    if sector is not None:
        known = (
            {s.lower(): s for s in frame["sector"].dropna().unique()}
            if len(frame)
            else {}
        )
        from dashapp.store.reference import sp500

        known.update({s.lower(): s for s in sp500()["sector"].unique()})
        if sector.lower() not in known:
            raise ApiError(
                404,
                "unknown_sector",
                f"no GICS sector {sector!r}",
                allowed=sorted(known.values()),
            )
        frame = frame[frame["sector"].str.lower() == sector.lower()]
    if stage is not None:
        frame = frame[frame["stage"] == stage]
    total = len(frame)
    if sort in frame.columns and len(frame):
        frame = frame.sort_values(
            sort, ascending=order == "asc", na_position="last", kind="stable"
        )
    frame = frame.head(limit)
    return _tabular(
        frame, contract, format, "rankings", {**_state_meta(state), "total": total}
    )


@endpoint(
    "/sectors/rotation",
    "Relative rotation (RRG) of the 11 sector ETFs vs SPY, with tails.",
    params=(
        Param(
            "period",
            "enum",
            "Bar period.",
            default="weekly",
            choices=("weekly", "daily"),
        ),
        Param(
            "tail",
            "integer",
            "Points per symbol (newest).",
            default=8,
            minimum=1,
            maximum=52,
        ),
        P_AS_OF,
    ),
    response=_table_schema(
        **STATE_META,
        period={"type": "string"},
        missing={"type": "array", "items": {"type": "object"}},
    ),
    tabular=True,
    cached=True,
    statuses=(422, 503),
)
def rotation(period: str, tail: int, as_of: str, format: str):  # noqa: A002
    """Return RRG points (rs_ratio, rs_momentum, quadrant) per sector ETF."""
    state = _state(DEFAULT_UNIVERSE, as_of)
    frame, contract = _table(state, "rotation")
    if period == "daily":
        frame = _daily_rotation(state)
    if len(frame) and "date" in frame.columns:
        frame = frame.sort_values(["symbol", "date"]).groupby("symbol").tail(tail)
    meta = {**_state_meta(state), "period": period}
    meta["missing"] = rotation_missing(current_store(), frame, state.session, period)
    return _tabular(frame.reset_index(drop=True), contract, format, "rotation", meta)


def _daily_rotation(state) -> pd.DataFrame:
    """Compute the daily RRG of the sector ETFs with the shared analytics."""
    from analytics.rrg import rrg
    from dashapp.store.reference import BENCHMARK, sector_etfs

    etfs = list(sector_etfs()["symbol"])
    end = state.session
    start = None if end is None else end - dt.timedelta(days=200)
    bars = current_store().read_daily([*etfs, BENCHMARK], start=start, end=end)
    if bars.empty:
        return pd.DataFrame(
            columns=["symbol", "date", "rs_ratio", "rs_momentum", "quadrant"]
        )
    close = bars.pivot(index="date", columns="symbol", values="close").sort_index()
    if BENCHMARK not in close.columns:
        return pd.DataFrame(
            columns=["symbol", "date", "rs_ratio", "rs_momentum", "quadrant"]
        )
    bench = close.pop(BENCHMARK)
    frame = rrg(close, bench, period="daily", tail=None)
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return frame


@endpoint(
    "/stages",
    "Weinstein stage per symbol with weeks in stage, MA30, slope, Mansfield RS.",
    params=(P_UNIVERSE, P_AS_OF, P_STAGE, P_LIMIT_ROWS),
    response=_table_schema(**STATE_META),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def stages(universe: str, as_of: str, stage: int | None, limit: int, format: str):  # noqa: A002
    """Return the stage table of a universe."""
    state = _state(universe, as_of)
    frame, contract = _table(state, "stages")
    if stage is not None and len(frame):
        frame = frame[frame["stage"] == stage]
    return _tabular(frame.head(limit), contract, format, "stages", _state_meta(state))


@endpoint(
    "/breadth",
    "Market breadth series of a universe (A/D, % above SMAs, highs/lows, McClellan).",
    params=(
        P_UNIVERSE,
        P_AS_OF,
        Param(
            "days",
            "integer",
            "Newest sessions kept.",
            default=252,
            minimum=1,
            maximum=5_000,
        ),
    ),
    response=_table_schema(**STATE_META, panel={"type": "array", "items": ROW}),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def breadth(universe: str, as_of: str, days: int, format: str):  # noqa: A002
    """Return the breadth series and the 11-row breadth panel."""
    state = _state(universe, as_of)
    frame, contract = _table(state, "breadth")
    frame = frame.tail(days).reset_index(drop=True)
    if format == "csv":
        return csv_response(frame.reindex(columns=contract), "breadth")
    panel = state.breadth_panel
    panel = panel.reset_index() if panel is not None and len(panel) else pd.DataFrame()
    return {
        **_state_meta(state),
        "count": len(frame),
        "rows": records(frame),
        "panel": records(panel),
    }


# ------------------------------------------------------------ admin
def _user_json(user: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in user.items() if k != "password_hash"}
    for key in ("locked_until", "created_at"):
        value = out.get(key)
        out[key] = value.isoformat() if value is not None else None
    return out


def _token_json(token: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in token.items()
    }


def _auth_call(func: Callable[..., Any], *args: Any) -> Any:
    try:
        return func(*args)
    except auth.PasswordRejected as exc:
        raise ApiError(422, "weak_password", str(exc)) from None
    except auth.AuthError as exc:
        message = str(exc)
        if message.startswith("no user"):
            raise ApiError(404, "unknown_user", message) from None
        if "already exists" in message:
            raise ApiError(409, "conflict", message) from None
        raise ApiError(422, "rejected", message) from None


def _actor() -> str:
    principal = auth.current_principal()
    return principal.username if principal else "?"


P_USERNAME = Param(
    "username",
    "string",
    "User name.",
    required=True,
    max_length=64,
    pattern=auth.USERNAME_RE.pattern,
)


@endpoint(
    "/admin/users",
    "List users.",
    admin=True,
    tag="admin",
    response={
        "type": "object",
        "properties": {"users": {"type": "array", "items": USER}},
    },
)
def admin_users():
    """Return every user (no password hashes)."""
    return {"users": [_user_json(u) for u in current_store().list_users()]}


@endpoint(
    "/admin/users",
    "Create a user.",
    methods=("POST",),
    admin=True,
    tag="admin",
    body=(
        P_USERNAME,
        Param(
            "password",
            "string",
            "At least 12 characters, not a common password.",
            required=True,
            max_length=auth.MAX_PASSWORD_LENGTH,
        ),
        Param("role", "enum", "Role.", default="user", choices=("admin", "user")),
    ),
    response=USER,
    statuses=(201, 409, 415, 422),
)
def admin_create_user(username: str, password: str, role: str):
    """Create a user with a checked password."""
    store = current_store()
    _auth_call(auth.create_user, store, username, password, role)
    log.info("audit: %s created user %s", _actor(), username)
    return json_response(_user_json(store.get_user(username=username)), status=201)


@endpoint(
    "/admin/users/<username>",
    "Change a user's role, disable/enable, reset password.",
    methods=("PATCH",),
    admin=True,
    tag="admin",
    params=(
        Param(
            "username",
            "string",
            "User name.",
            required=True,
            max_length=64,
            pattern=auth.USERNAME_RE.pattern,
            location="path",
        ),
    ),
    body=(
        Param("role", "enum", "New role.", choices=("admin", "user")),
        Param("disabled", "boolean", "Disable (true) or enable (false)."),
        Param(
            "password", "string", "New password.", max_length=auth.MAX_PASSWORD_LENGTH
        ),
    ),
    response=USER,
    statuses=(404, 415, 422),
)
def admin_update_user(username: str, role, disabled, password):
    """Apply the given changes to one user."""
    store = current_store()
    _auth_call(auth.require_user, store, username)
    if password is not None:
        _auth_call(auth.set_password, store, username, password)
    if role is not None:
        _auth_call(auth.set_role, store, username, role)
    if disabled is not None:
        _auth_call(auth.set_disabled, store, username, disabled)
    log.info("audit: %s updated user %s", _actor(), username)
    return _user_json(store.get_user(username=username))


@endpoint(
    "/admin/tokens",
    "List API tokens (never the tokens themselves).",
    admin=True,
    tag="admin",
    response={
        "type": "object",
        "properties": {"tokens": {"type": "array", "items": TOKEN}},
    },
)
def admin_tokens():
    """Return every API token's metadata."""
    return {"tokens": [_token_json(t) for t in current_store().list_tokens()]}


@endpoint(
    "/admin/tokens",
    "Issue an API token (shown once).",
    methods=("POST",),
    admin=True,
    tag="admin",
    body=(
        Param(
            "name",
            "string",
            "Label.",
            required=True,
            max_length=64,
            pattern=auth.TOKEN_NAME_RE.pattern,
        ),
        Param(
            "user",
            "string",
            "Owner (default: you).",
            max_length=64,
            pattern=auth.USERNAME_RE.pattern,
        ),
    ),
    response={
        "type": "object",
        "required": ["id", "token"],
        "properties": {"id": {"type": "integer"}, "token": {"type": "string"}},
    },
    statuses=(201, 404, 415, 422),
)
def admin_issue_token(name: str, user: str | None):
    """Create a token for a user; the response is the only time it is shown."""
    owner = user or _actor()
    token_id, token = _auth_call(auth.issue_token, current_store(), owner, name)
    log.info("audit: %s issued token #%s for %s", _actor(), token_id, owner)
    return json_response({"id": token_id, "token": token, "user": owner}, status=201)


@endpoint(
    "/admin/tokens/<int:token_id>",
    "Revoke an API token.",
    methods=("DELETE",),
    admin=True,
    tag="admin",
    params=(
        Param(
            "token_id",
            "integer",
            "Token id.",
            required=True,
            minimum=1,
            maximum=2**31 - 1,
            location="path",
        ),
    ),
    response={"type": "object", "properties": {"revoked": {"type": "integer"}}},
    statuses=(404,),
)
def admin_revoke_token(token_id: int):
    """Revoke a token by id."""
    if not auth.revoke_token(current_store(), token_id):
        raise ApiError(404, "unknown_token", f"no token #{token_id}")
    log.info("audit: %s revoked token #%s", _actor(), token_id)
    return {"revoked": token_id}


@endpoint(
    "/admin/universes/<name>",
    "Create or replace a user-defined universe.",
    methods=("PUT",),
    admin=True,
    tag="admin",
    params=(
        Param(
            "name",
            "string",
            "Universe name.",
            required=True,
            max_length=64,
            pattern=r"^[A-Za-z0-9_\-]{1,64}$",
            location="path",
        ),
    ),
    body=(
        Param("symbols", "string_list", "Member tickers.", required=True),
        Param("label", "string", "Description.", max_length=200, pattern=r"^[^\x00]*$"),
    ),
    response={
        "type": "object",
        "properties": {"name": {"type": "string"}, "members": {"type": "integer"}},
    },
    statuses=(409, 415),
)
def admin_put_universe(name: str, symbols: list[str], label: str | None):
    """Create or replace a universe with exactly these members."""
    store = current_store()
    key = name.lower()
    existing = store.list_universes()
    builtin = existing[(existing["name"] == key) & existing["builtin"].astype(bool)]
    if len(builtin):
        raise ApiError(409, "builtin_universe", f"universe {key!r} is built in")
    count = store.set_universe(key, symbols, label=label)
    log.info("audit: %s set universe %s (%s members)", _actor(), key, count)
    return {"name": key, "members": count}


@endpoint(
    "/admin/universes/<name>",
    "Delete a user-defined universe.",
    methods=("DELETE",),
    admin=True,
    tag="admin",
    params=(
        Param(
            "name",
            "string",
            "Universe name.",
            required=True,
            max_length=64,
            pattern=r"^[A-Za-z0-9_\-]{1,64}$",
            location="path",
        ),
    ),
    response={"type": "object", "properties": {"deleted": {"type": "string"}}},
    statuses=(404, 409),
)
def admin_delete_universe(name: str):
    """Delete a universe that is not built in."""
    try:
        found = current_store().delete_universe(name)
    except StoreError as exc:
        raise ApiError(409, "builtin_universe", str(exc)) from None
    if not found:
        raise ApiError(404, "unknown_universe", f"no universe {name.lower()!r}")
    log.info("audit: %s deleted universe %s", _actor(), name.lower())
    return {"deleted": name.lower()}


@endpoint(
    "/admin/jobs",
    "History jobs (backfill, file import) and their progress.",
    admin=True,
    tag="admin",
    response={
        "type": "object",
        "properties": {"jobs": {"type": "array", "items": JOB}},
    },
)
def admin_jobs():
    """Return recent jobs, newest first."""
    from dashapp.ops.jobs import list_jobs

    return {"jobs": list_jobs(current_store())}


@endpoint(
    "/admin/jobs",
    "Start a history job.",
    methods=("POST",),
    admin=True,
    tag="admin",
    body=(
        Param(
            "kind", "enum", "Job kind.", required=True, choices=("backfill", "import")
        ),
        Param("days", "integer", "Backfill: sessions back.", minimum=1, maximum=5_000),
        Param("universe", "universe", "Backfill: universe."),
        Param("minute", "boolean", "Backfill minute bars instead of daily."),
        Param(
            "path",
            "string",
            "Import: file path on the server.",
            max_length=1024,
            pattern=r"^[^\x00]+$",
        ),
        Param(
            "timeframe",
            "enum",
            "Import: file holds daily or minute bars.",
            choices=("daily", "minute"),
        ),
    ),
    response=JOB,
    statuses=(202, 415, 422),
)
def admin_start_job(kind, days, universe, minute, path, timeframe):
    """Queue a backfill or import job in a background thread."""
    from dashapp.ops.jobs import JobError, start_job

    params = {
        "days": days,
        "universe": universe,
        "minute": minute,
        "path": path,
        "timeframe": timeframe,
    }
    try:
        job = start_job(
            current_app,
            kind,
            {k: v for k, v in params.items() if v is not None},
            user=_actor(),
        )
    except JobError as exc:
        raise ApiError(422, "invalid_job", str(exc)) from None
    return json_response(job, status=202)


@endpoint(
    "/admin/jobs/<job_id>",
    "One job's status.",
    admin=True,
    tag="admin",
    params=(
        Param(
            "job_id",
            "string",
            "Job id.",
            required=True,
            max_length=32,
            pattern=r"^[a-f0-9]{1,32}$",
            location="path",
        ),
    ),
    response=JOB,
    statuses=(404,),
)
def admin_job(job_id: str):
    """Return one job."""
    from dashapp.ops.jobs import get_job

    job = get_job(current_store(), job_id)
    if job is None:
        raise ApiError(404, "unknown_job", f"no job {job_id}")
    return job


@endpoint(
    "/admin/ingest",
    "Live ingest status (connection, subscriptions, rates).",
    admin=True,
    tag="admin",
    response={
        "type": "object",
        "required": ["available"],
        "properties": {"available": {"type": "boolean"}},
    },
)
def admin_ingest():
    """Return the ingest service's health, when ingest runs in this process."""
    service = extension("ingest")
    if service is None or not hasattr(service, "health"):
        return {"available": False}
    try:
        health = service.health()
    except Exception as exc:  # a broken ingest must not break the admin API
        return {"available": True, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "available": True,
        **(health if isinstance(health, dict) else {"status": health}),
    }


@endpoint(
    "/admin/data-health",
    "Daily-data health per symbol: sources, missing sessions, rescalings, "
    "moves over 35 % that look like unadjusted splits, stale symbols.",
    admin=True,
    tag="admin",
    tabular=True,
    response=_table_schema(
        newest_session=STR,
        summary={"type": "object"},
        adjustments={"type": "array", "items": ROW},
        suspect_moves={"type": "array", "items": ROW},
    ),
)
def admin_data_health(format: str):  # noqa: A002
    """Return the data-health report (dashapp.store.datahealth)."""
    from dashapp.store.datahealth import data_health, health_frame

    report = data_health(current_store())
    if format == "csv":
        return csv_response(health_frame(report), "data_health")
    return report


@endpoint(
    "/me",
    "Who you are (user, role, authentication method).",
    tag="auth",
    response={
        "type": "object",
        "required": ["username", "role", "via"],
        "properties": {
            "username": {"type": "string"},
            "role": {"type": "string"},
            "via": {"type": "string"},
        },
    },
)
def me():
    """Return the authenticated principal."""
    principal = auth.current_principal()
    return {
        "username": principal.username,
        "role": principal.role,
        "via": principal.via,
    }


def install_api(server) -> None:
    """Register the API blueprint and its JSON error handlers on a Flask server."""
    server.register_blueprint(bp)
    server.register_error_handler(HTTPException, api_http_error)
    server.register_error_handler(Exception, api_unexpected_error)

"""Read-side queries for pages and the REST API (no SQL here: it calls the store).

Everything heavier than a primary-key lookup is cached per data version through
the app cache (`cached`), so N browser tabs polling the same view cost one
computation per new bar, not one per tab.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import analytics
from analytics.constants import MANSFIELD_WEEKS, RS_LINE_SCALE, STAGE_MA_WEEKS
from analytics.stage_history import week_ids, weekly_close_from_rows
from dashapp.market import MARKET_TZ, parse_as_of
from dashapp.market.asof import live_cap, session_on_or_before
from dashapp.market.asof import now as asof_now
from dashapp.market.context import current_store, extension
from dashapp.market.stage_cache import stage_history_table
from dashapp.store.origin_sql import fake_origins
from dashapp.store.reference import BENCHMARK, sector_etfs

TABLE_LABELS = {
    "ohlcv_1min": "Minute bars",
    "ohlcv_daily": "Daily bars",
    "symbols": "Symbols",
    "universes": "Universes",
    "users": "Users",
    "error_log": "Logged errors",
}
INDEX_SYMBOLS = ("SPY", "QQQ", "IWM", "DIA")
BARS = ("open", "high", "low", "close", "volume")
INTERVALS = ("1m", "D", "W")
DAILY_MA_WINDOWS = (50, 150, 200)
WEEKLY_MA_WINDOWS = (10, STAGE_MA_WEEKS)
CHART_DAILY_SESSIONS = 260  # about one year of candles on the daily chart
CHART_WEEKS = 156  # three years of candles on the weekly chart
HISTORY_DAYS = {"D": 800, "W": 5 * 365 + 120}  # enough for SMA200 / MA30 + Mansfield
SPARK_SESSIONS = 30
SPARK_POINTS = 120  # an intraday sparkline needs no more points than pixels
DOLLAR_VOLUME_SESSIONS = 21
DOLLAR_VOLUME_DAYS = 40
SESSIONS_LOOKBACK_DAYS = 3 * 365
STAGE_HISTORY_WEEKS = 80  # shown on the Stages page; warm-up is the whole history
SECTOR_HISTORY_DAYS = 460  # 252 sessions + YTD base; RRG needs 60 weeks at most
RRG_COLUMNS = ["symbol", "date", "rs_ratio", "rs_momentum", "quadrant", "heading"]
FEED_FRESH_SECONDS = 180
VERSION_TTL_S = 0.25
_VERSION_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CLOCK_MEMO: dict[int, dict[str, Any]] = {}
CLOCK_MEMO_SIZE = 8
PRE_OPEN = dt.time(4, 0)
POST_CLOSE = dt.time(20, 0)


# ------------------------------------------------------------------ caching
def _data_version():
    """Return the store's data version, re-read at most every VERSION_TTL_S.

    Every poll of every tab asks for it; a short memo turns N polls per second
    into a few queries per second, and a new bar still shows on the next poll.
    """
    store = current_store()
    now = time.monotonic()
    hit = _VERSION_MEMO.get(store)
    if hit is not None and now - hit[0] < VERSION_TTL_S:
        return hit[1]
    version = store.data_version()
    _VERSION_MEMO[store] = (now, version)
    return version


def data_version_key(as_of: Any = None) -> str:
    """Return the data version the market state for `as_of` is keyed by."""
    key = _data_version().key
    live = extension("livebars")
    label, _ts, _minute = parse_as_of(as_of)
    if label == "now" and live is not None:
        key += f"-live{live.version}"
    if label == "now":
        cap, open_now = live_cap()  # "now" moves at the open and the close
        key += f"-{cap}{'o' if open_now else 'c'}"
    return key


def cached(key: str, compute: Callable[[], Any]) -> Any:
    """Return `compute()` through the app cache (shared by every session)."""
    cache = extension("cache")
    if cache is None:
        return compute()
    return cache.get_or_compute(key, compute)


# ----------------------------------------------------------------- overview
def database_overview() -> pd.DataFrame:
    """Return what the database holds: rows, symbols, newest bar, per table."""
    stats = current_store().table_stats()
    stats["label"] = stats["table"].map(TABLE_LABELS)
    stats["newest"] = stats["newest"].map(lambda v: "" if pd.isna(v) else str(v)[:19])
    return stats[["label", "table", "rows", "symbols", "newest"]]


def universes_overview() -> pd.DataFrame:
    """Return universes with member counts and members that have daily data."""
    return current_store().list_universes()


def database_overview_cached() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (database_overview, universes_overview), computed once per version."""
    version = _data_version().key
    return cached(
        f"q:overview:{version}", lambda: (database_overview(), universes_overview())
    )


def _members_label(row: Any) -> str:
    """Return "with data / total" members of a universe row (total alone if unknown)."""
    with_data = getattr(row, "with_data", None)
    if with_data is None or pd.isna(with_data):
        return f"{int(row.members)}"
    return f"{int(with_data)}/{int(row.members)} with data"


def universe_options() -> list[dict[str, str]]:
    """Return dropdown options for every universe ("sp500 · 503")."""

    def compute() -> list[dict[str, str]]:
        frame = current_store().list_universes()
        return [
            {"label": f"{r.name} · {_members_label(r)}", "value": r.name}
            for r in frame.itertuples()
        ]

    return cached(f"q:universes:{_data_version().key}", compute)


def stored_sessions(limit: int = 400) -> list[str]:
    """Return stored sessions (dates with a SPY or sector ETF bar), newest first."""

    def compute() -> list[str]:
        newest = _data_version().newest_daily
        if newest is None:
            return []
        start = newest - dt.timedelta(days=SESSIONS_LOOKBACK_DAYS)
        probe = [BENCHMARK, *sector_etfs()["symbol"]]
        bars = current_store().read_daily(probe, start=start, end=newest)
        dates = pd.DatetimeIndex(bars["date"].unique()).sort_values(ascending=False)
        return [d.date().isoformat() for d in dates[:limit]]

    return cached(f"q:sessions:{_data_version().key}", compute)


def is_demo() -> bool:
    """Return True when what is shown derives from demo or simulated bars."""
    return bool(data_origins())


def data_origins() -> list[str]:
    """Return the generated origins stored ("demo", "simulated"), if any."""
    return fake_origins(current_store())


def session_stored(day: str) -> bool:
    """Tell whether any daily bar is stored for a date (however far back)."""
    try:
        when = dt.date.fromisoformat(str(day))
    except ValueError:
        return False
    return not current_store().read_daily(None, start=when, end=when).empty


# ------------------------------------------------------------ clock/freshness
def _calendar():
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS")


def market_clock(now: pd.Timestamp | None = None) -> dict[str, Any]:
    """Return the US equity session now (pre/regular/post/closed) and the next open."""
    if now is None:
        minute = int(asof_now().timestamp() // 60)  # tests may pin the clock
    else:
        now = pd.Timestamp(now)
        now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
        minute = int(now.timestamp() // 60)
    # Sessions change on minute boundaries: compute once per minute, not per poll.
    hit = _CLOCK_MEMO.get(minute)
    if hit is None:
        if len(_CLOCK_MEMO) > CLOCK_MEMO_SIZE:
            _CLOCK_MEMO.clear()
        hit = _CLOCK_MEMO[minute] = _clock(
            pd.Timestamp(minute * 60, unit="s", tz="UTC")
        )
    return hit


def _clock(now: pd.Timestamp) -> dict[str, Any]:
    local = now.tz_convert(MARKET_TZ)
    try:
        cal = _calendar()
        day = pd.Timestamp(local.date())
        if cal.is_session(day):
            open_, close = cal.session_open(day), cal.session_close(day)
        else:
            open_ = close = None
        nxt = cal.next_open(now) if open_ is None or now >= open_ else open_
    except Exception:  # calendar unavailable or out of range: fall back to clock
        open_, close, nxt = None, None, None
    session = "closed"
    if open_ is not None:
        pre = pd.Timestamp.combine(local.date(), PRE_OPEN).tz_localize(MARKET_TZ)
        post = pd.Timestamp.combine(local.date(), POST_CLOSE).tz_localize(MARKET_TZ)
        if pre <= now < open_:
            session = "pre"
        elif open_ <= now < close:
            session = "regular"
        elif close <= now < post:
            session = "post"
    return {
        "session": session,
        "next_open": None if nxt is None else pd.Timestamp(nxt).tz_convert(MARKET_TZ),
        "now": local,
    }


def feed_status(detail: bool = False) -> dict[str, Any]:
    """Return whether live ingest runs in this process and is connected.

    Cheap by default (every poll asks); `detail=True` also asks the service
    for its source and a one-line detail (once per render).
    """
    svc = extension("ingest")
    if svc is None or getattr(svc, "no_feed", None):
        error = extension("ingest_error") if svc is None else None
        note = (
            f"live feed failed to start: {error}" if error else "live feed not running"
        )
        if svc is not None:
            note = f"no live feed: {svc.no_feed}"
        return {
            "running": False,
            "connected": False,
            "failed": bool(error),
            "detail": note,
        }
    out = {"running": True, "connected": bool(getattr(svc, "connected", False))}
    status = getattr(svc, "status", None)
    if detail and callable(status):
        info = status()
        if isinstance(info, dict):
            out.update(source=info.get("source"), detail=info.get("detail"))
    return out


def freshness(now: pd.Timestamp | None = None) -> dict[str, Any]:
    """Return the newest stored/live bar times, their age, feed state and demo flag."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    version = _data_version()
    newest = version.newest_minute
    live = extension("livebars")
    live_ms = live.newest_ts() if live is not None and len(live) else None
    if live_ms is not None:
        live_ts = pd.Timestamp(live_ms, unit="ms", tz="UTC")
        newest = live_ts if newest is None or live_ts > newest else newest
    age = None if newest is None else (now - newest).total_seconds()
    return {
        "newest_minute": newest,
        "newest_daily": version.newest_daily,
        "age_seconds": age,
        "fresh": age is not None and age <= FEED_FRESH_SECONDS,
        "feed": feed_status(detail=True),
        "demo": is_demo(),
        "origins": data_origins(),
    }


# ------------------------------------------------------------- bar helpers
def _session_of(ts: pd.Timestamp) -> dt.date:
    return ts.tz_convert(MARKET_TZ).date()


def session_minutes(
    symbols: Sequence[str],
    session: dt.date,
    until: pd.Timestamp | None = None,
    live: bool = True,
) -> pd.DataFrame:
    """Return one session's minute bars (plus live in-progress bars when `live`)."""
    start = pd.Timestamp(session).tz_localize(MARKET_TZ).tz_convert("UTC")
    end = start + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if until is not None:
        end = min(end, until.tz_convert("UTC"))
    bars = current_store().read_minute(list(symbols), start=start, end=end)
    store = extension("livebars") if live and until is None else None
    if store is not None and len(store):
        extra = store.snapshot(list(symbols))
        extra = extra[(extra["ts"] >= start) & (extra["ts"] <= end)]
        if len(extra):
            extra = extra[list(bars.columns)]
            frames = [f for f in (bars, extra) if len(f)]
            bars = pd.concat(frames, ignore_index=True)
            bars = bars.drop_duplicates(["symbol", "ts"], keep="last")
    return bars.sort_values(["symbol", "ts"], ignore_index=True)


def _minute_session(as_of: Any) -> tuple[dt.date | None, pd.Timestamp | None]:
    """Return the session whose minute bars `as_of` looks at, and the cut-off."""
    label, ts, is_minute = parse_as_of(as_of)
    if is_minute:
        return ts.date(), ts
    if label != "now":
        return session_on_or_before(ts.date()), None
    newest = _data_version().newest_minute
    live = extension("livebars")
    live_ms = live.newest_ts() if live is not None and len(live) else None
    if live_ms is not None:
        live_ts = pd.Timestamp(live_ms, unit="ms", tz="UTC")
        newest = live_ts if newest is None or live_ts > newest else newest
    if newest is None:
        return None, None
    # Before the open (pre-market bars) "now" is still the last complete session.
    return min(_session_of(newest), live_cap()[0]), None


def _today_bars(
    symbols: Sequence[str], session: dt.date, until: pd.Timestamp | None
) -> pd.DataFrame:
    """Return the session's running bar per symbol (minutes rolled up in SQL + live)."""
    start = pd.Timestamp(session).tz_localize(MARKET_TZ).tz_convert("UTC")
    end = start + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if until is not None:
        end = min(end, until.tz_convert("UTC"))
    rows = current_store().intraday_bars(list(symbols), start, end)
    rows = rows.set_index("symbol") if len(rows) else pd.DataFrame(columns=BARS)
    live = extension("livebars") if until is None else None
    if live is not None and len(live):
        rows = _fold_live(rows, live.bars(list(symbols)), start, end)
    if rows.empty:
        return pd.DataFrame(columns=["symbol", "date", *BARS])
    out = rows[list(BARS)].astype(float).reset_index(names="symbol")
    out["date"] = pd.Timestamp(session)
    return out


def _fold_live(rows: pd.DataFrame, bars: dict, start, end) -> pd.DataFrame:
    """Fold in-progress live bars newer than the stored minutes into `rows`."""
    lo, hi = start.value // 1_000_000, end.value // 1_000_000
    rows = rows.copy()
    for sym, bar in bars.items():
        if not lo <= bar.ts <= hi:
            continue
        if sym in rows.index:
            last = rows.at[sym, "last_ts"] if "last_ts" in rows else None
            if last is not None and bar.ts <= pd.Timestamp(last).value // 1_000_000:
                continue  # already stored: the database copy wins
            rows.at[sym, "high"] = max(rows.at[sym, "high"], bar.high)
            rows.at[sym, "low"] = min(rows.at[sym, "low"], bar.low)
            rows.at[sym, "close"] = bar.close
            rows.at[sym, "volume"] = rows.at[sym, "volume"] + bar.volume
        else:
            rows.loc[sym, list(BARS)] = [
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
            ]
    return rows


def settled_daily(symbols: Sequence[str], end: dt.date, days: int) -> pd.DataFrame:
    """Return daily bars in (end - days, end], cached per daily-data version.

    Minute bars do not move the daily version, so a new minute re-reads nothing.
    """
    symbols = sorted(set(symbols))
    digest = hashlib.sha1(",".join(symbols).encode()).hexdigest()[:16]
    key = f"q:daily:{digest}:{end}:{days}:d{_data_version().daily_seq}"
    start = end - dt.timedelta(days=days)
    return cached(
        key, lambda: current_store().read_daily(symbols, start=start, end=end)
    )


def daily_with_today(symbols: Sequence[str], as_of: Any, days: int) -> pd.DataFrame:
    """Return daily bars up to `as_of`, plus the running bar of an intraday session.

    Same rule as the market-state snapshot: "now" adds the newest minute session
    when it is newer than the newest daily bar; a minute as-of uses the daily
    history before that session plus the minutes up to that minute.
    """
    label, ts, is_minute = parse_as_of(as_of)
    session = None
    if is_minute:
        session = ts.date()
        end = session - dt.timedelta(days=1)
    elif label == "now":
        end = _data_version().newest_daily or dt.date.today()
        minute_session, _ = _minute_session(None)
        if minute_session is not None and minute_session > end:
            session = minute_session
    else:
        end = ts.date()
    history = settled_daily(symbols, end, days)
    if session is None:
        return history
    today = _today_bars(symbols, session, ts if is_minute else None)
    if today.empty:
        return history
    cols = [c for c in history.columns if c in today.columns]
    return pd.concat([history, today[cols]], ignore_index=True)


def _close_panel(bars: pd.DataFrame) -> pd.DataFrame:
    return analytics.panel_from_bars(bars, "close")


# ------------------------------------------------------------ market page
@dataclass
class IndexQuote:
    """One index card: last price, change vs the previous close, sparkline."""

    symbol: str
    last: float | None = None
    change: float | None = None
    pct: float | None = None
    spark: list[float] = field(default_factory=list)
    spark_kind: str = "daily"


def index_quotes(
    as_of: Any = None, symbols: Sequence[str] = INDEX_SYMBOLS
) -> list[IndexQuote]:
    """Return index cards (SPY, QQQ, IWM, DIA) at `as_of`."""
    bars = daily_with_today(symbols, as_of, days=SPARK_SESSIONS * 2)
    daily = {sym: g.sort_values("date") for sym, g in bars.groupby("symbol")}
    session, until = _minute_session(as_of)
    minutes = {}
    if session is not None:
        frame = session_minutes(symbols, session, until)
        minutes = {
            sym: g["close"].to_numpy(float) for sym, g in frame.groupby("symbol")
        }
    out = []
    for sym in symbols:
        quote = IndexQuote(sym)
        rows = daily.get(sym)
        if rows is not None and len(rows):
            closes = rows["close"].to_numpy(dtype=float)
            quote.last = float(closes[-1])
            if len(closes) > 1:
                quote.change = float(closes[-1] - closes[-2])
                quote.pct = float(closes[-1] / closes[-2] - 1)
            quote.spark = closes[-SPARK_SESSIONS:].tolist()
            intraday = minutes.get(sym)
            if intraday is not None and len(intraday) > 1:
                if session == rows["date"].iloc[-1].date():
                    keep = np.arange(
                        0, len(intraday), max(1, len(intraday) // SPARK_POINTS)
                    )
                    keep = np.union1d(keep, [len(intraday) - 1])
                    quote.spark = intraday[keep].tolist()
                    quote.spark_kind = "intraday"
        out.append(quote)
    return out


def settled_end(as_of: Any = None) -> dt.date | None:
    """Return the last session whose daily bars are settled as of `as_of`."""
    label, ts, is_minute = parse_as_of(as_of)
    if is_minute:
        return ts.date() - dt.timedelta(days=1)
    if label == "now":
        return _data_version().newest_daily
    return ts.date()


def dollar_volume(symbols: Sequence[str], as_of: Any = None) -> pd.Series:
    """Return the mean daily dollar volume of the last 21 settled sessions."""
    end = settled_end(as_of)
    if end is None:
        return pd.Series(dtype=float)
    symbols = sorted(set(symbols))
    digest = hashlib.sha1(",".join(symbols).encode()).hexdigest()[:16]

    def compute() -> pd.Series:
        bars = settled_daily(symbols, end, DOLLAR_VOLUME_DAYS)
        if bars.empty:
            return pd.Series(dtype=float)
        bars = bars.sort_values("date").groupby("symbol").tail(DOLLAR_VOLUME_SESSIONS)
        dv = bars["close"].astype(float) * bars["volume"].astype(float)
        return dv.groupby(bars["symbol"]).mean()

    version = _data_version().daily_seq
    return cached(f"q:dollar-volume:{digest}:{end}:d{version}", compute)


# ----------------------------------------------------------- sectors page
def _sector_closes(as_of: Any) -> pd.DataFrame:
    """Return the close panel of the sector ETFs and SPY at `as_of`.

    The settled part is pivoted once per daily-data version; a new minute only
    appends the running session's row.
    """
    symbols = [*sector_etfs()["symbol"], BENCHMARK]
    end = settled_end(as_of)
    if end is None:
        return pd.DataFrame()
    version = _data_version().daily_seq
    settled = cached(
        f"q:sector-panel:{end}:d{version}",
        lambda: _close_panel(settled_daily(symbols, end, SECTOR_HISTORY_DAYS)),
    )
    bars = daily_with_today(symbols, as_of, 0)
    today = bars[bars["date"] > pd.Timestamp(end)]
    if today.empty:
        return settled
    row = today.set_index("symbol")["close"].astype(float)
    row = row.reindex(settled.columns).to_frame(pd.Timestamp(today["date"].iloc[0])).T
    return pd.concat([settled, row])


def sector_rotation(
    period: str = "weekly", tail: int = 10, as_of: Any = None
) -> pd.DataFrame:
    """Return RRG points of the 11 sector ETFs vs SPY (weekly or daily)."""
    close = _sector_closes(as_of)
    if close.empty or BENCHMARK not in close:
        return pd.DataFrame(columns=RRG_COLUMNS)
    present = [s for s in sector_etfs()["symbol"] if s in close]
    return analytics.rrg(close[present], close[BENCHMARK], period=period, tail=tail)


def sector_returns(as_of: Any = None) -> pd.DataFrame:
    """Return returns over every window of the 11 sector ETFs (index = ETF)."""
    close = _sector_closes(as_of)
    present = [s for s in sector_etfs()["symbol"] if s in close]
    if close.empty or not present:
        return pd.DataFrame()
    return analytics.returns(close[present]).dropna(how="all")


def stage_history(universe: str = "sp500", as_of: Any = None) -> pd.DataFrame:
    """Return the weeks x symbols stage history of a universe over settled sessions.

    Computed once per daily-data version: the week in progress comes from the
    snapshot (see `pages.stages`).
    """
    end = settled_end(as_of)
    if end is None:
        return pd.DataFrame()
    version = _data_version().daily_seq

    def compute() -> pd.DataFrame:
        # The whole-history run the market state continues from (same cache entry).
        store = current_store()
        dv = store.data_version()
        members = store.universe_symbols(universe)
        key = f"{dv.daily_seq}-{dv.newest_daily}"
        return stage_history_table(store, members, key, end, STAGE_HISTORY_WEEKS)

    return cached(f"q:stage-history:{universe}:{end}:d{version}", compute)


# ----------------------------------------------------------- symbol page
def symbol_info(symbol: str) -> dict[str, Any] | None:
    """Return the symbols-table row of `symbol` (None when unknown)."""
    frame = current_store().symbols_frame([symbol])
    if frame.empty:
        return None
    return {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].to_dict().items()}


@dataclass
class SymbolChart:
    """Everything the symbol chart draws, already aligned and trimmed."""

    symbol: str
    interval: str
    bars: pd.DataFrame
    mas: dict[str, pd.Series] = field(default_factory=dict)
    stage_runs: list[tuple[pd.Timestamp, pd.Timestamp, int]] = field(
        default_factory=list
    )
    rs: pd.Series | None = None
    mansfield: pd.Series | None = None
    session: dt.date | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def _stage_runs(history: pd.Series) -> list[tuple[pd.Timestamp, pd.Timestamp, int]]:
    """Return (first week end, last week end, stage) for each run of one stage."""
    values = pd.to_numeric(history, errors="coerce")
    runs = []
    start = prev = None
    current = None
    for when, stage in values.items():
        stage = None if pd.isna(stage) else int(stage)
        if stage != current:
            if current is not None:
                runs.append((start, prev, current))
            start, current = when, stage
        prev = when
    if current is not None:
        runs.append((start, prev, current))
    return runs


def mansfield_series(close_w: pd.Series, bench_w: pd.Series) -> pd.Series:
    """Return Mansfield RS 100 * (RP / SMA52(RP) - 1) with RP = 100 * C / SPY."""
    rp = RS_LINE_SCALE * close_w / bench_w.reindex(close_w.index)
    sma = rp.rolling(MANSFIELD_WEEKS, min_periods=MANSFIELD_WEEKS).mean()
    return 100.0 * (rp / sma - 1.0)


def _figures(symbol: str, weekly: dict, bench_w: pd.Series | None) -> dict[str, Any]:
    close_w = weekly["close"][symbol]
    bench_frame = None if bench_w is None else bench_w
    current, history = analytics.weinstein_stages(
        weekly["close"][[symbol]], weekly["volume"][[symbol]], bench_frame
    )
    row = current.iloc[0].to_dict() if len(current) else {}
    figs = {k: row.get(k) for k in ("stage", "weeks_in_stage", "pv", "slope")}
    figs["mansfield_rs"] = row.get("mansfield_rs")
    figs["volume_ratio"] = row.get("volume_ratio")
    figs["ma30"] = row.get("ma30")
    figs["history"] = history[symbol] if symbol in history else pd.Series(dtype=float)
    figs["weekly_close"] = close_w
    return figs


def symbol_chart(symbol: str, interval: str = "D", as_of: Any = None) -> SymbolChart:
    """Return bars, moving averages, stage runs and RS lines for one symbol."""
    interval = interval if interval in INTERVALS else "D"
    if interval == "1m":
        return _intraday_chart(symbol, as_of)
    bars = daily_with_today([symbol, BENCHMARK], as_of, HISTORY_DAYS[interval])
    # Same settled bars and same running bar: same chart (a new minute of another
    # symbol, or a minute bar of a settled session, changes nothing here).
    end = settled_end(as_of)
    today = bars[bars["date"] > pd.Timestamp(end)] if end is not None else bars
    running = hashlib.sha1(today[list(BARS)].to_numpy().tobytes()).hexdigest()[:16]
    seq = _data_version().daily_seq
    key = f"q:symbol-chart:{symbol}:{interval}:{end}:d{seq}:{running}"
    return cached(key, lambda: _daily_chart(symbol, interval, bars))


def _daily_chart(symbol: str, interval: str, bars: pd.DataFrame) -> SymbolChart:
    """Compute the daily or weekly chart data of one symbol from its bars."""
    panels = analytics.panels_from_bars(bars)
    close = panels["close"]
    if close.empty or symbol not in close or close[symbol].isna().all():
        return SymbolChart(symbol, interval, pd.DataFrame())
    weekly = analytics.weekly_bars(panels)
    bench_w = weekly["close"][BENCHMARK] if BENCHMARK in weekly["close"] else None
    full = _with_older_weeks(symbol, weekly, bars)
    full_bench = full["close"][BENCHMARK] if BENCHMARK in full["close"] else None
    figs = _figures(symbol, full, full_bench)
    if interval == "W":
        src = {k: v[symbol] for k, v in weekly.items()}
        windows, prefix, keep = WEEKLY_MA_WINDOWS, "MA {}w", CHART_WEEKS
        bench = bench_w
    else:
        src = {k: v[symbol] for k, v in panels.items()}
        windows, prefix, keep = DAILY_MA_WINDOWS, "SMA {}", CHART_DAILY_SESSIONS
        bench = close[BENCHMARK] if BENCHMARK in close else None
    frame = pd.DataFrame(src).dropna(subset=["close"])
    frame.index.name = "x"
    mas = {
        prefix.format(n): frame["close"].rolling(n, min_periods=n).mean().tail(keep)
        for n in windows
    }
    rs = None
    if bench is not None:
        rs = (RS_LINE_SCALE * frame["close"] / bench.reindex(frame.index)).tail(keep)
    mansfield = None
    if bench_w is not None:
        mansfield = mansfield_series(weekly["close"][symbol].dropna(), bench_w)
    shown = frame.tail(keep)
    first = shown.index[0] if len(shown) else None
    runs = [
        r for r in _stage_runs(figs.pop("history")) if first is None or r[1] >= first
    ]
    figs.update(_price_figures(frame, panels, symbol))
    chart = SymbolChart(symbol, interval, shown.reset_index(), mas, runs, rs, None)
    if mansfield is not None and first is not None:
        chart.mansfield = mansfield[mansfield.index >= first - pd.Timedelta(days=7)]
    chart.figures = figs
    return chart


def _with_older_weeks(symbol: str, weekly: dict, bars: pd.DataFrame) -> dict:
    """Prepend every older stored weekly close, so stages count the whole run."""
    recent = weekly["close"]
    if recent.empty:
        return weekly
    end = pd.Timestamp(bars["date"].max()).date()
    rows = current_store().read_weekly_closes([symbol, BENCHMARK], end=end)
    full = weekly_close_from_rows(rows)
    older = full[week_ids(full.index) < week_ids(recent.index).min()]
    if older.empty:
        return weekly
    close = pd.concat([older.reindex(columns=recent.columns), recent])
    return {"close": close, "volume": weekly["volume"].reindex(close.index)}


def _price_figures(frame: pd.DataFrame, panels: dict, symbol: str) -> dict[str, Any]:
    daily = panels["close"][symbol].dropna()
    out: dict[str, Any] = {"last": None, "change": None, "pct": None}
    if len(daily):
        out["last"] = float(daily.iloc[-1])
        out["date"] = daily.index[-1].date()
    if len(daily) > 1:
        out["change"] = float(daily.iloc[-1] - daily.iloc[-2])
        out["pct"] = float(daily.iloc[-1] / daily.iloc[-2] - 1)
    year = daily.tail(252)
    highs = panels["high"][symbol].dropna().tail(252)
    lows = panels["low"][symbol].dropna().tail(252)
    if len(year):
        out["high_52w"] = float(highs.max()) if len(highs) else None
        out["low_52w"] = float(lows.min()) if len(lows) else None
        if out["high_52w"]:
            out["from_high"] = out["last"] / out["high_52w"] - 1
    return out


def _intraday_chart(symbol: str, as_of: Any) -> SymbolChart:
    session, until = _minute_session(as_of)
    if session is None:
        return SymbolChart(symbol, "1m", pd.DataFrame())
    bars = session_minutes([symbol], session, until)
    return SymbolChart(symbol, "1m", intraday_frame(bars), session=session)


def intraday_frame(bars: pd.DataFrame) -> pd.DataFrame:
    """Return minute bars with `x` = bar start as New York wall-clock text."""
    if bars.empty:
        return pd.DataFrame(columns=["x", "open", "high", "low", "close", "volume"])
    local = pd.to_datetime(bars["ts"], utc=True).dt.tz_convert(MARKET_TZ)
    frame = bars[["open", "high", "low", "close", "volume"]].astype(float)
    frame.insert(0, "x", local.dt.strftime("%Y-%m-%d %H:%M"))
    return frame.reset_index(drop=True)


def intraday_since(symbol: str, session: dt.date, since_x: str | None) -> pd.DataFrame:
    """Return the session's minute bars from the bar at `since_x` (inclusive) on."""
    start = None
    if since_x:
        start = pd.Timestamp(since_x).tz_localize(MARKET_TZ).tz_convert("UTC")
    bars = session_minutes([symbol], session)
    if start is not None and len(bars):
        bars = bars[bars["ts"] >= start]
    return intraday_frame(bars)


def intraday_session(as_of: Any = None) -> dt.date | None:
    """Return the session the 1-minute chart shows for `as_of`."""
    return _minute_session(as_of)[0]


__all__ = [
    "INDEX_SYMBOLS",
    "INTERVALS",
    "IndexQuote",
    "SymbolChart",
    "cached",
    "data_version_key",
    "database_overview",
    "database_overview_cached",
    "dollar_volume",
    "feed_status",
    "freshness",
    "index_quotes",
    "intraday_frame",
    "intraday_session",
    "intraday_since",
    "data_origins",
    "is_demo",
    "session_stored",
    "market_clock",
    "mansfield_series",
    "sector_returns",
    "sector_rotation",
    "session_minutes",
    "stage_history",
    "stored_sessions",
    "symbol_chart",
    "symbol_info",
    "universe_options",
    "universes_overview",
]

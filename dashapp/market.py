"""Market-state snapshot: daily history + today's live price -> every analytic.

`market_state(universe, as_of)` is what every view, the REST API, the CLI
export and notebooks read. It is computed once per (universe, as_of, data
version) and shared through the cache.

`as_of` makes the app a time machine:
- `None` / "now": the newest stored session, plus today's minute bars and the
  in-progress live bars when the newest minute is newer than the newest daily bar;
- "YYYY-MM-DD": the close of that session (daily bars only);
- "YYYY-MM-DDTHH:MM" (America/New_York when no offset is given): that session's
  daily history up to the previous session plus an intraday bar built from the
  minute bars up to and including that minute.

Symbols without a price in the as-of session are stale: they are excluded and
listed in `excluded` with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import analytics
from dashapp.context import current_store, extension
from dashapp.reference import BENCHMARK, sector_etfs
from dashapp.store import DEMO_KEY, Store

log = logging.getLogger(__name__)

MARKET_TZ = "America/New_York"
HISTORY_CALENDAR_DAYS = 640  # ~440 sessions: 253 for RS + 52 weeks for Mansfield
SNAPSHOT_FRAMES = (
    "rankings",
    "stages",
    "stage_history",
    "rotation",
    "breadth",
    "breadth_panel",
    "sectors",
    "industries",
)


class BadRequest(ValueError):
    """A caller passed a universe or as_of that cannot be served."""


@dataclass
class MarketState:
    """Everything the views show for one universe at one point in time."""

    universe: str
    as_of: str
    session: dt.date | None
    intraday: bool
    version: str
    demo: bool
    symbols: int
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __getattr__(self, name: str) -> Any:
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(name)

    def summary(self) -> dict[str, Any]:
        """Return the headline numbers (used by /api/market-state and the UI)."""
        breadth = self.frames.get("breadth", pd.DataFrame())
        last = breadth.iloc[-1].to_dict() if len(breadth) else {}
        stages = self.frames.get("stages", pd.DataFrame())
        counts = (
            stages["stage"].value_counts().to_dict()
            if "stage" in stages and len(stages)
            else {}
        )
        return {
            "universe": self.universe,
            "as_of": self.as_of,
            "session": self.session.isoformat() if self.session else None,
            "intraday": self.intraday,
            "data_version": self.version,
            "demo_data": self.demo,
            "symbols": self.symbols,
            "excluded": len(self.excluded),
            "breadth": {k: _plain(v) for k, v in last.items()},
            "stage_counts": {str(int(k)): int(v) for k, v in counts.items()},
        }


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if pd.isna(value) if not isinstance(value, (list, dict)) else False:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def parse_as_of(as_of: Any) -> tuple[str, pd.Timestamp | None, bool]:
    """Return (normalised label, timestamp or None for now, is_minute)."""
    if as_of is None or (
        isinstance(as_of, str) and as_of.strip().lower() in ("", "now")
    ):
        return "now", None, False
    text = str(as_of).strip()
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise BadRequest(
            f"as_of={text!r} is not a date (YYYY-MM-DD) or minute (YYYY-MM-DDTHH:MM)"
        ) from exc
    if ts is pd.NaT or ts.year < 1990 or ts.year > 2100:
        raise BadRequest(f"as_of={text!r} is out of range")
    is_minute = len(text) > 10
    if not is_minute:
        return ts.date().isoformat(), ts.normalize(), False
    ts = ts.tz_localize(MARKET_TZ) if ts.tzinfo is None else ts.tz_convert(MARKET_TZ)
    ts = ts.floor("min")
    return ts.strftime("%Y-%m-%dT%H:%M"), ts, True


def market_state(
    universe: str = "sp500",
    as_of: Any = None,
    *,
    store: Store | None = None,
    cache: Any = None,
    live: Any = None,
) -> MarketState:
    """Return the market state for a universe at `as_of` (cached per data version)."""
    store = store or current_store()
    cache = cache if cache is not None else extension("cache")
    live = live if live is not None else extension("livebars")
    universe = (universe or "sp500").strip().lower()
    label, ts, is_minute = parse_as_of(as_of)
    try:
        members = store.universe_symbols(universe)
    except KeyError as exc:
        raise BadRequest(str(exc.args[0])) from exc
    version = store.data_version().key
    if label == "now" and live is not None:
        version += f"-live{live.version}"
    key = f"market:{universe}:{label}:{version}"

    def compute() -> MarketState:
        return _compute(store, universe, members, label, ts, is_minute, version, live)

    if cache is None:
        return compute()
    return cache.get_or_compute(key, compute)


def _load_history(
    store: Store, symbols: list[str], end: pd.Timestamp | None
) -> pd.DataFrame:
    end_date = None if end is None else end.date()
    if end_date is None:
        newest = store.data_version().newest_daily
        end_date = newest or dt.date.today()
    start = end_date - dt.timedelta(days=HISTORY_CALENDAR_DAYS)
    return store.read_daily(symbols, start=start, end=end_date)


def _intraday_bars(
    store: Store,
    symbols: list[str],
    session: dt.date,
    until: pd.Timestamp | None,
    live: Any,
) -> pd.DataFrame:
    """Build one daily-shaped bar per symbol from minute bars (+ live bars)."""
    day_start = pd.Timestamp(session).tz_localize(MARKET_TZ).tz_convert("UTC")
    day_end = day_start + pd.Timedelta(days=1)
    end = day_end if until is None else until.tz_convert("UTC")
    minutes = store.read_minute(symbols, start=day_start, end=end)
    if live is not None and until is None:
        extra = live.snapshot(symbols)
        if extra is not None and len(extra):
            minutes = pd.concat([minutes, extra[minutes.columns]], ignore_index=True)
            minutes = minutes.drop_duplicates(["symbol", "ts"], keep="last")
    if minutes.empty:
        return minutes
    minutes = minutes.sort_values(["symbol", "ts"])
    grouped = minutes.groupby("symbol", sort=False)
    bars = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    ).reset_index()
    bars["date"] = pd.Timestamp(session)
    return bars


def _compute(
    store: Store,
    universe: str,
    members: list[str],
    label: str,
    ts: pd.Timestamp | None,
    is_minute: bool,
    version: str,
    live: Any,
) -> MarketState:
    etfs = sector_etfs()
    needed = sorted(set(members) | {BENCHMARK} | set(etfs["symbol"]))
    if is_minute:
        session = ts.date()
        history = _load_history(
            store, needed, pd.Timestamp(session) - pd.Timedelta(days=1)
        )
        today = _intraday_bars(store, needed, session, ts, None)
        intraday = True
    else:
        history = _load_history(store, needed, ts)
        newest_daily = history["date"].max() if len(history) else None
        today = pd.DataFrame()
        intraday = False
        if ts is None:
            newest_min = store.data_version().newest_minute
            if newest_min is not None:
                min_session = newest_min.tz_convert(MARKET_TZ).date()
                if newest_daily is None or min_session > newest_daily.date():
                    today = _intraday_bars(store, needed, min_session, None, live)
                    intraday = len(today) > 0
    bars = history
    if len(today):
        history = history[history["date"] < today["date"].iloc[0]]
        bars = pd.concat([history, today[history.columns.intersection(today.columns)]])
    panels = analytics.panels_from_bars(bars) if len(bars) else {}
    close = panels.get("close")
    session = None if close is None or close.empty else close.index[-1].date()
    excluded = _stale(close, members)
    usable = [s for s in members if s not in set(excluded["symbol"])]
    meta = store.symbols_frame(needed)
    frames = _analytics(panels, meta, usable, etfs)
    return MarketState(
        universe=universe,
        as_of=label,
        session=session,
        intraday=intraday,
        version=version,
        demo=store.get_meta(DEMO_KEY) == "1",
        symbols=len(usable),
        frames=frames,
        excluded=excluded,
    )


def _stale(close: pd.DataFrame | None, members: list[str]) -> pd.DataFrame:
    """List members with no price in the as-of session, with the reason."""
    rows = []
    if close is None or close.empty:
        rows = [{"symbol": s, "reason": "no data"} for s in members]
    else:
        last = close.iloc[-1]
        for sym in members:
            if sym not in close.columns or close[sym].isna().all():
                rows.append({"symbol": sym, "reason": "no data"})
            elif pd.isna(last.get(sym)):
                seen = close[sym].last_valid_index()
                rows.append({"symbol": sym, "reason": f"stale: last bar {seen.date()}"})
    return pd.DataFrame(rows, columns=["symbol", "reason"])


def _analytics(
    panels: dict[str, pd.DataFrame],
    meta: pd.DataFrame,
    usable: list[str],
    etfs: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    if not panels:
        return {name: pd.DataFrame() for name in SNAPSHOT_FRAMES}
    extra = [s for s in [BENCHMARK, *etfs["symbol"]] if s in panels["close"].columns]
    keep = list(dict.fromkeys([*usable, *extra]))
    sub = {k: v.reindex(columns=keep) for k, v in panels.items()}
    result = analytics.market_snapshot(
        sub,
        meta,
        bench_symbol=BENCHMARK,
        sector_etfs=dict(zip(etfs["symbol"], etfs["sector"], strict=True)),
        universe=usable,
    )
    return {name: result.get(name, pd.DataFrame()) for name in SNAPSHOT_FRAMES}

"""Market-state snapshot: daily history + today's live price -> every analytic.

`market_state(universe, as_of)` is what every view, the REST API, the CLI
export and notebooks read. It is computed once per (universe, as_of, data
version) and shared through the cache.

`as_of` makes the app a time machine:
- `None` / "now": the newest stored session, plus today's minute bars and the
  in-progress live bars when the newest minute is newer than the newest daily bar;
  before the open, on weekends and holidays at most the last complete session
  (XNYS calendar, `dashapp.market.asof`);
- "YYYY-MM-DD": the close of that session (daily bars only); a date that is not a
  session means the session before it, and a date outside the stored range
  raises `AsOfOutOfRange` (422 through the REST API);
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
import analytics.constants
from dashapp.market import asof as asof_calendar
from dashapp.market.asof import AsOfOutOfRange, BadRequest, parse_as_of
from dashapp.market.cache import LocalCache
from dashapp.market.counts import stock_meta
from dashapp.market.session_bars import resolve_request, session_row
from dashapp.market.stage_cache import stage_history
from dashapp.market.universe import has_watchlist, scoped_universe
from dashapp.store import DataVersion, Store
from dashapp.store.origin import fake_origins
from dashapp.store.reference import BENCHMARK, sector_etfs

log = logging.getLogger(__name__)

HISTORY_CALENDAR_DAYS = 640  # ~440 sessions: 253 for RS + 52 weeks for Mansfield
# Loaded before the shown window so SMA200 / 52-week highs are warm on its first day.
BREADTH_WARMUP_CALENDAR_DAYS = 380
ENGINE_CACHE_ENTRIES = 8
SNAPSHOT_FRAMES = analytics.SNAPSHOT_KEYS


__all__ = [
    "AsOfOutOfRange",
    "BadRequest",
    "MarketState",
    "market_state",
    "parse_as_of",
]


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
    closed: bool = True  # the session has closed (False only while it trades)
    origins: list[str] = field(default_factory=list)  # "demo" / "simulated"

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
            "data_origins": list(self.origins),
            "session_closed": self.closed,
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


# Settled-history engines are per process (large numpy state, cheap to reuse):
# one per (universe, session, daily data version); a new minute only calls
# `engine.update` with the session's running bar.
_engines = LocalCache(max_entries=ENGINE_CACHE_ENTRIES)


def market_state(
    universe: str = "sp500",
    as_of: Any = None,
    *,
    store: Store | None = None,
    cache: Any = None,
    live: Any = None,
) -> MarketState:
    """Return the market state for a universe at `as_of` (cached per data version)."""
    req = resolve_request(as_of, store, cache, live)
    store, cache, label, live = req.store, req.cache, req.label, req.live
    dv, res, version = req.dv, req.res, req.version
    universe = (universe or "sp500").strip().lower()
    scope, members = "", None
    if has_watchlist(universe):  # the caller's own list: resolved now, scoped key
        try:
            scope, members = scoped_universe(store, universe)
        except KeyError as exc:
            raise BadRequest(str(exc.args[0])) from exc
    key = f"market:{universe}{scope}:{label}:{res.session}:{res.closed}:{version}"

    def compute() -> MarketState:
        try:
            names = store.universe_symbols(universe) if members is None else members
        except KeyError as exc:
            raise BadRequest(str(exc.args[0])) from exc
        # A watchlist state is named with its scope (user + members digest), so
        # every cache keyed by `state.universe` stays per user and per edit.
        return _compute(store, universe + scope, names, label, res, dv, version, live)

    if cache is None:
        return compute()
    return cache.get_or_compute(key, compute)


def _compute(
    store: Store,
    universe: str,
    members: list[str],
    label: str,
    res: asof_calendar.Resolved,
    dv: DataVersion,
    version: str,
    live: Any,
) -> MarketState:
    etfs = sector_etfs()
    needed = sorted(set(members) | {BENCHMARK} | set(etfs["symbol"]))
    meta = stock_meta(store.symbols_frame(members))
    session, row, intraday = session_row(
        store, needed, dv, res.ts, res.is_minute, live, res.session
    )
    if session is None:
        frames = _empty_frames(meta, etfs)
    else:
        engine = _engines.get_or_compute(
            f"{universe}:{session}:{dv.daily_seq}",
            lambda: _build_engine(store, needed, meta, etfs, session, dv),
        )
        frames = engine.update(pd.Timestamp(session), row)
        frames["breadth"] = _shown_breadth(frames.get("breadth"), session)
    frames = {name: frames.get(name, pd.DataFrame()) for name in SNAPSHOT_FRAMES}
    excluded = _excluded(frames["rankings"])
    origins = fake_origins(store)
    return MarketState(
        universe=universe,
        as_of=label,
        session=session,
        intraday=intraday,
        version=version,
        demo=bool(origins),
        symbols=len(members) - len(excluded),
        frames=frames,
        excluded=excluded,
        closed=res.closed,
        origins=origins,
    )


def _build_engine(
    store: Store,
    symbols: list[str],
    meta: pd.DataFrame,
    etfs: pd.DataFrame,
    session: dt.date,
    dv: DataVersion | None = None,
) -> analytics.SnapshotEngine:
    """Load settled daily history before `session` and precompute on it.

    Stages continue the whole-history run (`stage_cache`); the rest reads the
    shown window plus its warm-up.
    """
    end = session - dt.timedelta(days=1)
    days = HISTORY_CALENDAR_DAYS + BREADTH_WARMUP_CALENDAR_DAYS
    history = store.read_daily(symbols, start=session - dt.timedelta(days), end=end)
    panels = analytics.panels_from_bars(history) if len(history) else {}
    return analytics.SnapshotEngine(
        panels,
        meta,
        bench_symbol=BENCHMARK,
        sector_etfs=_etf_map(etfs),
        stage_history=stage_history(
            store, symbols, f"{dv.daily_seq}-{dv.newest_daily}" if dv else ""
        ),
    )


def _shown_breadth(breadth: pd.DataFrame | None, session: dt.date) -> pd.DataFrame:
    """Drop the warm-up sessions loaded before the shown breadth window."""
    if breadth is None or breadth.empty:
        return breadth if breadth is not None else pd.DataFrame()
    start = pd.Timestamp(session - dt.timedelta(days=HISTORY_CALENDAR_DAYS))
    return breadth.loc[breadth.index >= start]


def _etf_map(etfs: pd.DataFrame) -> dict[str, str]:
    return dict(zip(etfs["symbol"], etfs["sector"], strict=True))


def _empty_frames(meta: pd.DataFrame, etfs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return analytics.market_snapshot(
        {}, meta, bench_symbol=BENCHMARK, sector_etfs=_etf_map(etfs)
    )


STALE_REASONS = (analytics.constants.REASON_STALE, analytics.constants.REASON_NO_DATA)


def _excluded(rankings: pd.DataFrame) -> pd.DataFrame:
    """List members left out for having no price in the as-of session."""
    if rankings.empty or "excluded_reason" not in rankings:
        return pd.DataFrame(columns=["symbol", "reason"])
    mask = rankings["excluded_reason"].isin(STALE_REASONS)
    out = rankings.loc[mask, ["symbol", "excluded_reason"]]
    return out.rename(columns={"excluded_reason": "reason"}).reset_index(drop=True)

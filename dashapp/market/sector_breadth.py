"""Breadth per GICS sector of a universe, as of a session.

The same breadth as the market state (`analytics.breadth`) restricted to the
members of one sector: the settled daily history of the universe's stocks plus the
as-of session's row (daily or running bar), over the same shown window and warm-up
as the market state. Computed for every sector at once, once per (universe, as_of,
data version), through the app cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics.sector_breadth import (
    breadth_by_group,
    group_breadth_table,
    panel_by_group,
)
from dashapp.market.asof import BadRequest
from dashapp.market.counts import stock_meta
from dashapp.market.regime import session_panels
from dashapp.market.session_bars import resolve_request
from dashapp.market.state import BREADTH_WARMUP_CALENDAR_DAYS, HISTORY_CALENDAR_DAYS
from dashapp.market.universe import has_watchlist, scoped_universe
from dashapp.store import Store


class UnknownSector(BadRequest):
    """A sector that no stock of the universe belongs to."""

    def __init__(self, sector: str, allowed: list[str]):
        super().__init__(f"no GICS sector {sector!r} in this universe")
        self.sector, self.allowed = sector, allowed


@dataclass
class SectorBreadth:
    """Breadth series per sector and the sector x breadth table of one session."""

    universe: str
    as_of: str
    session: dt.date | None
    version: str
    series: dict[str, pd.DataFrame] = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    panels: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def sectors(self) -> list[str]:
        """Return the sectors of the universe's stocks, sorted."""
        return sorted(self.series)

    def resolve(self, sector: str) -> str:
        """Return the sector's exact name (case-insensitive), or raise UnknownSector."""
        known = {s.lower(): s for s in self.series}
        name = known.get(str(sector).strip().lower())
        if name is None:
            raise UnknownSector(sector, self.sectors)
        return name

    def breadth(self, sector: str) -> pd.DataFrame:
        """Return the breadth series of one sector's members."""
        return self.series[self.resolve(sector)]


def sector_breadth(
    universe: str = "sp500",
    as_of: Any = None,
    *,
    store: Store | None = None,
    cache: Any = None,
    live: Any = None,
) -> SectorBreadth:
    """Return the breadth of every sector of a universe at `as_of`."""
    req = resolve_request(as_of, store, cache, live)
    store, cache = req.store, req.cache
    universe = (universe or "sp500").strip().lower()
    scope, listed = "", None
    if has_watchlist(universe):  # the caller's own list: resolved now, scoped key
        try:
            scope, listed = scoped_universe(store, universe)
        except KeyError as exc:
            raise BadRequest(str(exc.args[0])) from exc
    key = (
        f"sector-breadth:{universe}{scope}:{req.label}:{req.res.session}:{req.version}"
    )

    def compute() -> SectorBreadth:
        try:
            members = store.universe_symbols(universe) if listed is None else listed
        except KeyError as exc:
            raise BadRequest(str(exc.args[0])) from exc
        meta = stock_meta(store.symbols_frame(members))
        if meta is None or meta.empty:
            groups = pd.Series(dtype=object)
        else:
            groups = meta.set_index("symbol")["sector"]
        days = HISTORY_CALENDAR_DAYS + BREADTH_WARMUP_CALENDAR_DAYS
        session, panels = req.res.session, {}
        if len(groups):
            session, panels, _ = session_panels(store, list(groups.index), req, days)
        series = breadth_by_group(panels, groups)
        if session is not None:
            start = pd.Timestamp(session - dt.timedelta(days=HISTORY_CALENDAR_DAYS))
            series = {k: v.loc[v.index >= start] for k, v in series.items()}
        table = group_breadth_table(series, groups, panels.get("close"))
        shown = panel_by_group(panels, groups) if panels else {}
        return SectorBreadth(
            universe, req.label, session, req.version, series, table, shown
        )

    if cache is None:
        return compute()
    return cache.get_or_compute(key, compute)

"""Group ranks (sector / GICS sub-industry) of a universe, and their drill-down.

The current RS scores come from the market state's rankings; the scores 5 and 21
sessions earlier are computed from the settled daily close panel (the sessions
before the as-of session, with the same symbols the snapshot engine loads, so
"k sessions earlier" is the k-th last settled row), cached per daily-data
version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import analytics
from analytics.group_ranks import (
    GROUP_COLUMNS,
    SESSIONS_BACK,
    group_ranks,
    rs_scores_at,
)
from dashapp.market.asof import BadRequest
from dashapp.market.context import current_store, extension
from dashapp.market.counts import NO_DATA_REASONS
from dashapp.market.rotation import sector_rotation
from dashapp.market.state import MarketState, market_state
from dashapp.store import Store
from dashapp.store.reference import BENCHMARK, sector_etfs, sector_to_etf

# 21 + 252 sessions of closes before the session, with room for holidays.
PRIOR_CALENDAR_DAYS = 430
GROUP_BY = tuple(GROUP_COLUMNS)


@dataclass
class GroupView:
    """Group ranks of one universe at one as-of, with what they were computed from."""

    state: MarketState
    by: str
    table: pd.DataFrame
    prior_sessions: dict[str, str | None] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """Return the counts and sessions the ranks were computed from."""
        table = self.table
        return {
            "by": self.by,
            "group_column": GROUP_COLUMNS[self.by],
            "groups": int(len(table)),
            "ranked": int(table["rank"].notna().sum()) if len(table) else 0,
            "scored_members": int(table["scored"].sum()) if len(table) else 0,
            "sessions_back": dict(SESSIONS_BACK),
            "prior_sessions": dict(self.prior_sessions),
        }


def check_by(by: str) -> str:
    """Return `by` if it is a known grouping, else raise BadRequest."""
    if by not in GROUP_COLUMNS:
        raise BadRequest(f"by={by!r}: use {' or '.join(GROUP_BY)}")
    return by


def _prior_scores(
    store: Store, state: MarketState, cache: Any
) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Return (RS scores 5 and 21 sessions back per symbol, the sessions used)."""
    session = state.session
    rankings = state.rankings
    members = rankings["symbol"].tolist() if len(rankings) else []
    daily_seq = store.data_version().daily_seq
    digest = hashlib.sha1(",".join(members).encode()).hexdigest()[:16]
    key = f"groups:prior:{state.universe}:{digest}:{session}:d{daily_seq}"

    def compute() -> tuple[pd.DataFrame, dict[str, str | None]]:
        needed = sorted({*members, BENCHMARK, *sector_etfs()["symbol"]})
        start = session - dt.timedelta(days=PRIOR_CALENDAR_DAYS)
        end = session - dt.timedelta(days=1)
        bars = store.read_daily(needed, start=start, end=end)
        close = analytics.panel_from_bars(bars, "close") if len(bars) else None
        if close is None:
            close = pd.DataFrame(index=pd.DatetimeIndex([]), columns=members)
        close = close.reindex(columns=members)
        scores, dates = {}, {}
        for name, back in SESSIONS_BACK.items():
            scores[f"rs_score_{name}"] = rs_scores_at(close, -back)
            ok = len(close.index) >= back
            dates[name] = close.index[-back].date().isoformat() if ok else None
        return pd.DataFrame(scores, index=pd.Index(members, name="symbol")), dates

    if session is None or not members:
        empty = pd.DataFrame(
            {f"rs_score_{k}": [] for k in SESSIONS_BACK}, index=pd.Index([])
        )
        return empty, dict.fromkeys(SESSIONS_BACK)
    return compute() if cache is None else cache.get_or_compute(key, compute)


def member_frame(state: MarketState, by: str, prior: pd.DataFrame) -> pd.DataFrame:
    """Return the per-symbol input of `group_ranks` from the rankings."""
    rankings = state.rankings
    if rankings is None or rankings.empty:
        return pd.DataFrame(columns=["symbol", "group"])
    frame = pd.DataFrame(
        {
            "symbol": rankings["symbol"].to_numpy(dtype=object),
            "group": rankings[GROUP_COLUMNS[by]].to_numpy(dtype=object),
            "rs_score": rankings["rs_score"].to_numpy(dtype=float),
            "has_data": ~rankings["excluded_reason"].isin(NO_DATA_REASONS).to_numpy(),
            "stage": rankings["stage"]
            .astype("Float64")
            .to_numpy(float, na_value=np.nan),
            "ret_21d": rankings["ret_21d"].to_numpy(dtype=float),
        }
    )
    prior = prior.reindex(frame["symbol"])
    for col in prior.columns:
        frame[col] = prior[col].to_numpy(dtype=float)
    return frame


def group_view(
    universe: str,
    as_of: Any = None,
    by: str = "sector",
    *,
    store: Store | None = None,
    cache: Any = None,
    live: Any = None,
) -> GroupView:
    """Return the group ranks of a universe at `as_of` (see analytics.group_ranks)."""
    check_by(by)
    store = store or current_store()
    cache = cache if cache is not None else extension("cache")
    state = market_state(universe, as_of, store=store, cache=cache, live=live)
    return rank_groups(state, by, store=store, cache=cache)


def rank_groups(
    state: MarketState, by: str, *, store: Store | None = None, cache: Any = None
) -> GroupView:
    """Return the group ranks of an already computed market state."""
    check_by(by)
    store = store or current_store()
    cache = cache if cache is not None else extension("cache")
    prior, sessions = _prior_scores(store, state, cache)
    table = group_ranks(member_frame(state, by, prior))
    return GroupView(state=state, by=by, table=table, prior_sessions=sessions)


def group_members(state: MarketState, by: str, group: str) -> pd.DataFrame:
    """Return the rankings rows of one group's members with data (rating order)."""
    check_by(by)
    rankings = state.rankings
    if rankings is None or rankings.empty or not group:
        return pd.DataFrame(columns=[] if rankings is None else rankings.columns)
    rows = rankings[rankings[GROUP_COLUMNS[by]] == group]
    return rows[~rows["excluded_reason"].isin(NO_DATA_REASONS)].reset_index(drop=True)


def group_etf(state: MarketState, by: str, group: str) -> str | None:
    """Return the sector ETF of a group (an industry's: its members' sector's)."""
    etf_of = sector_to_etf()
    if by == "sector":
        return etf_of.get(group)
    rows = group_members(state, by, group)
    sectors = rows["sector"].dropna() if "sector" in rows else pd.Series(dtype=object)
    if sectors.empty:
        return None
    return etf_of.get(str(sectors.mode().iloc[0]))


def group_rotation(
    state: MarketState, by: str, group: str, as_of: Any = None, tail: int = 8
) -> tuple[pd.DataFrame, str | None]:
    """Return (weekly RRG points of the group's stocks vs its sector ETF, the ETF)."""
    etf = group_etf(state, by, group)
    symbols = group_members(state, by, group)["symbol"].tolist()
    if etf is None or not symbols:
        return analytics.rrg(pd.DataFrame(), None, tail=tail), etf
    points = sector_rotation("weekly", tail, as_of, symbols=symbols, benchmark=etf)
    return points, etf

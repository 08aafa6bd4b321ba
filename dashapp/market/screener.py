"""The screener's field table and the saved screens of the logged-in user.

`screener(universe, as_of)` answers (market state, field table): the rankings
of the shared market state (returns, RS, stage) joined with the price fields of
`analytics.screener`, computed on the same as-of session row the state used
(`session_bars.session_row`, live bars included for "now"). The table is cached
per (universe, as-of, data version) like the state itself.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from analytics.screener import price_fields, screener_table
from dashapp import auth
from dashapp.market.cache import LocalCache
from dashapp.market.screen_query import ScreenerError, parse_condition
from dashapp.market.session_bars import resolve_request, session_row
from dashapp.market.state import MarketState, _engines, market_state
from dashapp.store import Store, StoreError
from dashapp.store.reference import sp500

# Calendar days of settled history read before the session when the snapshot
# engine is not at hand: 252 sessions need ~366 days; the rest leaves room for
# symbols with a few missing sessions.
PRICE_HISTORY_CALENDAR_DAYS = 440
PRICE_PANEL_FIELDS = ("close", "high", "low", "volume")
# Settled sessions kept (the same from the engine or the store): 252 + slack.
SETTLED_SESSIONS = 300
SETTLED_CACHE_ENTRIES = 4
_settled = LocalCache(max_entries=SETTLED_CACHE_ENTRIES)
MAX_SCREENS_PER_USER = 100
SCREEN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 &,.'/()\-_]{0,63}$"


class ScreenLimitError(ValueError):
    """The user already has the most saved screens allowed."""


def screener(
    universe: str = "sp500",
    as_of: Any = None,
    *,
    store: Store | None = None,
    cache: Any = None,
    live: Any = None,
) -> tuple[MarketState, pd.DataFrame]:
    """Return the market state and the screener field table (one row per symbol)."""
    state = market_state(universe, as_of, store=store, cache=cache, live=live)
    req = resolve_request(as_of, store, cache, live)
    key = (
        f"screener:{state.universe}:{state.as_of}:{state.session}:"
        f"{state.closed}:{state.version}"
    )

    def compute() -> pd.DataFrame:
        return _table(req, state)

    if req.cache is None:
        return state, compute()
    return state, req.cache.get_or_compute(key, compute)


def _table(req: Any, state: MarketState) -> pd.DataFrame:
    rankings = state.rankings
    if state.session is None or rankings is None or rankings.empty:
        return screener_table(pd.DataFrame(), pd.DataFrame())
    stale = _stale(state)
    symbols = [s for s in rankings["symbol"].tolist() if s not in stale]
    store, res = req.store, req.res
    _session, row, _intraday = session_row(
        store, symbols, req.dv, res.ts, res.is_minute, req.live, res.session
    )
    index, columns, history = settled_history(req, state, symbols)
    panels = _with_row(index, columns, history, row, state.session)
    meta = store.symbols_frame(symbols)
    names = meta.set_index("symbol")["name"] if len(meta) else None
    return screener_table(rankings, price_fields(panels), names)


def settled_history(
    req: Any, state: MarketState, symbols: list[str]
) -> tuple[pd.DatetimeIndex, pd.Index, dict[str, np.ndarray]]:
    """Return the settled sessions before the as-of one: (dates, symbols, arrays).

    The market state's snapshot engine already holds them (read once per daily
    data version); without it in this process (evicted, or the state came from
    Redis) they are read from the store once per daily data version.
    """
    key = f"{state.universe}:{state.session}:{req.dv.daily_seq}"
    engine = _engines.get(key)
    if engine is not None:
        rows = slice(-SETTLED_SESSIONS, None)
        arrays = {f: engine.arr[f][rows, engine.usel] for f in PRICE_PANEL_FIELDS}
        return engine.index[rows], pd.Index(engine.symbols), arrays
    return _settled.get_or_compute(
        f"{key}:{','.join(symbols)}", lambda: _read_history(req.store, state, symbols)
    )


def _read_history(
    store: Store, state: MarketState, symbols: list[str]
) -> tuple[pd.DatetimeIndex, pd.Index, dict[str, np.ndarray]]:
    start = state.session - dt.timedelta(days=PRICE_HISTORY_CALENDAR_DAYS)
    end = state.session - dt.timedelta(days=1)
    bars = store.read_daily(symbols, start=start, end=end)
    columns = pd.Index(symbols, name="symbol")
    index = pd.DatetimeIndex(sorted(bars["date"].unique()) if len(bars) else [])
    rows = index.get_indexer(pd.DatetimeIndex(bars["date"])) if len(bars) else []
    cols = columns.get_indexer(bars["symbol"]) if len(bars) else []
    arrays = {}
    for f in PRICE_PANEL_FIELDS:
        values = np.full((len(index), len(columns)), np.nan)
        if len(bars):
            values[rows, cols] = bars[f].to_numpy(dtype=np.float64)
        arrays[f] = values
    rows = slice(-SETTLED_SESSIONS, None)
    return index[rows].rename("date"), columns, {f: a[rows] for f, a in arrays.items()}


def _with_row(
    index: pd.DatetimeIndex,
    columns: pd.Index,
    history: dict[str, np.ndarray],
    row: pd.DataFrame,
    session: dt.date,
) -> dict[str, pd.DataFrame]:
    """Append the as-of session's row to the settled arrays, as date x symbol frames."""
    dates = index.append(pd.DatetimeIndex([pd.Timestamp(session)])).rename("date")
    panels = {}
    for f in PRICE_PANEL_FIELDS:
        today = (
            row[f].reindex(columns).to_numpy(dtype=np.float64)
            if row is not None and f in row
            else np.full(len(columns), np.nan)
        )
        values = np.vstack([history[f], today[None, :]])
        panels[f] = pd.DataFrame(values, index=dates, columns=columns)
    return panels


def sector_names() -> list[str]:
    """Return the GICS sectors of the reference data, sorted."""
    return sorted(sp500()["sector"].dropna().unique())


def _stale(state: MarketState) -> set[str]:
    excluded = state.excluded
    if excluded is None or excluded.empty:
        return set()
    return set(excluded["symbol"])


# ------------------------------------------------------------ page inputs
def conditions_from_inputs(
    fields: list[str], mins: list, maxs: list, sector: Any, stage: Any, extra: list
) -> tuple[list[str], list[str]]:
    """Return (conditions, problems) from the range inputs, sector and stage."""
    out, problems = [], []
    if sector:
        out.append(f"sector={sector}")
    if stage:
        out.append(f"stage={int(stage)}")
    for field, low, high in zip(fields, mins, maxs, strict=True):
        for op, value in ((">=", low), ("<=", high)):
            if value is not None and value != "":
                out.append(f"{field}{op}{value:.15g}")
    out += [c for c in extra or [] if c not in out]
    valid = []
    for text in out:
        try:
            valid.append(parse_condition(text).text())
        except ScreenerError as exc:
            problems.append(str(exc))
    return valid, problems


def inputs_from_conditions(
    conditions: list[str], fields: list[str]
) -> tuple[list, list, Any, Any, list[str]]:
    """Return (mins, maxs, sector, stage, the rest) for a list of conditions."""
    mins: dict[str, float] = {}
    maxs: dict[str, float] = {}
    sector = stage = None
    rest = []
    for text in conditions:
        cond = parse_condition(text)
        if cond.field == "sector" and cond.op == "=":
            sector = cond.value
        elif cond.field == "stage" and cond.op == "=" and cond.value in (1, 2, 3, 4):
            stage = int(cond.value)
        elif cond.field in fields and cond.op in (">=", "<="):
            (mins if cond.op == ">=" else maxs)[cond.field] = cond.value
        else:
            rest.append(cond.text())
    return (
        [mins.get(f) for f in fields],
        [maxs.get(f) for f in fields],
        sector,
        stage,
        rest,
    )


def api_query(universe: str, as_of: str, where: list[str], **extra: str) -> str:
    """Return the `/api/screener` URL of these conditions."""
    params = [("universe", universe), ("as_of", as_of)]
    params += [("where", w) for w in where] + list(extra.items())
    return "/api/screener?" + urlencode(params)


# ------------------------------------------------------------ saved screens
def _user_id() -> int:
    principal = auth.current_principal()
    if principal is None:
        raise PermissionError("log in to use saved screens")
    return principal.user_id


def my_screens(store: Store) -> list[dict[str, Any]]:
    """Return the calling user's saved screens (definition decoded), by name."""
    return [_decoded(s) for s in store.list_screens(_user_id())]


def save_my_screen(
    store: Store, name: str, definition: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Create or replace a screen of the calling user; return (screen, replaced)."""
    user_id = _user_id()
    text = json.dumps(definition, sort_keys=True)
    try:
        screen, replaced = store.save_screen(user_id, name, text, MAX_SCREENS_PER_USER)
    except StoreError as exc:
        raise ScreenLimitError(str(exc)) from None
    return _decoded(screen), replaced


def delete_my_screen(store: Store, screen_id: int) -> bool:
    """Delete one of the calling user's screens; False when it is not theirs."""
    return store.delete_screen(_user_id(), screen_id)


def _decoded(screen: dict[str, Any]) -> dict[str, Any]:
    out = dict(screen)
    try:
        out["definition"] = json.loads(out.get("definition") or "{}")
    except ValueError:
        out["definition"] = {}
    created = out.get("created_at")
    if isinstance(created, dt.datetime):
        out["created_at"] = created.isoformat()
    return out

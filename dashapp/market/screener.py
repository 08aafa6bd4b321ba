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

import pandas as pd

import analytics
from analytics.screener import (
    ScreenerError,
    parse_condition,
    price_fields,
    screener_table,
)
from dashapp import auth
from dashapp.market.session_bars import resolve_request, session_row
from dashapp.market.state import MarketState, market_state
from dashapp.store import Store, StoreError
from dashapp.store.reference import sp500

# Calendar days of settled history read before the session: 252 sessions need
# ~366 days; the rest leaves room for symbols with a few missing sessions.
PRICE_HISTORY_CALENDAR_DAYS = 440
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
    symbols = [s for s in rankings["symbol"].tolist() if s not in _stale(state)]
    store, res = req.store, req.res
    session, row, _intraday = session_row(
        store, symbols, req.dv, res.ts, res.is_minute, req.live, res.session
    )
    start = state.session - dt.timedelta(days=PRICE_HISTORY_CALENDAR_DAYS)
    end = state.session - dt.timedelta(days=1)
    history = store.read_daily(symbols, start=start, end=end)
    today = _row_bars(row, state.session)
    bars = pd.concat([history, today], ignore_index=True) if len(today) else history
    panels = analytics.panels_from_bars(bars)
    prices = price_fields(panels)
    meta = store.symbols_frame(symbols)
    names = meta.set_index("symbol")["name"] if len(meta) else None
    return screener_table(rankings, prices, names)


def sector_names() -> list[str]:
    """Return the GICS sectors of the reference data, sorted."""
    return sorted(sp500()["sector"].dropna().unique())


def _stale(state: MarketState) -> set[str]:
    excluded = state.excluded
    if excluded is None or excluded.empty:
        return set()
    return set(excluded["symbol"])


def _row_bars(row: pd.DataFrame, session: dt.date) -> pd.DataFrame:
    """Return the as-of session's row per symbol as long bars dated `session`."""
    if row is None or row.empty:
        return pd.DataFrame()
    bars = row.rename_axis("symbol").reset_index()
    bars["date"] = pd.Timestamp(session)
    return bars


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

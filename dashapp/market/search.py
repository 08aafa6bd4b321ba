"""Symbol search suggestions by ticker and company name (navbar, compare picker)."""

from __future__ import annotations

import re
from typing import Any

from dashapp.market.context import current_store

SUGGESTIONS = 10
CANDIDATES = 200  # rows read before ranking: ticker matches may sort late
TICKER_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,11}$")


def _rank(query: str, symbol: str, name: str) -> tuple[int, str]:
    """Return a sort key: exact ticker, ticker prefix, name prefix, name contains."""
    lowered = name.lower()
    if symbol == query.upper():
        tier = 0
    elif symbol.startswith(query.upper()):
        tier = 1
    elif lowered.startswith(query.lower()):
        tier = 2
    else:
        tier = 3
    return tier, symbol


def symbol_suggestions(text: Any, limit: int = SUGGESTIONS) -> list[dict[str, str]]:
    """Return dropdown options {label, value} for symbols matching `text`.

    A ticker matches by prefix, a company by any part of its name; a typed
    ticker that is not in the symbols table is still offered (it may have bars).
    """
    query = str(text or "").strip()[:64]
    if not query:
        return []
    found = current_store().search_symbols(query, limit=CANDIDATES)
    rows = [
        (str(r.symbol), "" if r.name is None else str(r.name))
        for r in found.itertuples(index=False)
    ]
    rows.sort(key=lambda r: _rank(query, *r))
    options = [
        {"label": f"{sym} · {name}" if name else sym, "value": sym}
        for sym, name in rows[:limit]
    ]
    typed = query.upper()
    if TICKER_RE.match(typed) and typed not in {o["value"] for o in options}:
        options.append({"label": f"{typed} (go to)", "value": typed})
    return options

"""The simulator's splits script and its `/v3/reference/splits` endpoint.

A script is a list of splits (`ticker, execution_date, split_from, split_to`,
optional `id`). The simulator serves them like Massive (filters
`ticker`, `execution_date[.gte|.gt|.lte|.lt]`, `limit`, `next_url` paging) and
serves the daily history it was given on the OLD basis before each execution
date inside that history (prices times `split_to / split_from`, volumes divided
by it), as a feed without adjustment would, so a client's split adjustment is
visible. Splits after the history's end are listed but change nothing served.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pandas as pd

SPLITS_PATH = "/v3/reference/splits"
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
DATE_FILTERS = {
    "execution_date": lambda d, v: d == v,
    "execution_date.gte": lambda d, v: d >= v,
    "execution_date.gt": lambda d, v: d > v,
    "execution_date.lte": lambda d, v: d <= v,
    "execution_date.lt": lambda d, v: d < v,
}
PRICE_COLUMNS = ("open", "high", "low", "close", "vwap")


class SplitQueryError(ValueError):
    """A splits request has an invalid parameter."""


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def normalise_script(script: Iterable[Mapping[str, Any]] | None) -> list[dict]:
    """Return the splits as Massive result dicts (with ids), oldest first."""
    out = []
    for item in script or ():
        day = date.fromisoformat(str(item["execution_date"])[:10])
        ticker = str(item["ticker"]).upper()
        sfrom, sto = (_number(item[k]) for k in ("split_from", "split_to"))
        if not (float(sfrom) > 0 and float(sto) > 0):
            raise ValueError(f"split {ticker} {day}: split_from/split_to must be > 0")
        key = f"{ticker}|{day}|{sfrom}|{sto}".encode()
        split_id = item.get("id") or "E" + hashlib.sha256(key).hexdigest()[:31]
        out.append(
            {
                "id": str(split_id),
                "execution_date": day.isoformat(),
                "split_from": sfrom,
                "split_to": sto,
                "ticker": ticker,
            }
        )
    return sorted(out, key=lambda s: (s["execution_date"], s["ticker"]))


def parse_split_arg(text: str) -> dict:
    """Parse `TICKER:YYYY-MM-DD:FROM:TO` (the `--split` option) into a script item."""
    parts = text.split(":")
    try:
        ticker, day, sfrom, sto = parts
        item = {
            "ticker": ticker.strip().upper(),
            "execution_date": date.fromisoformat(day.strip()).isoformat(),
            "split_from": float(sfrom),
            "split_to": float(sto),
        }
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected TICKER:YYYY-MM-DD:FROM:TO, e.g. AAPL:2026-11-18:1:4"
        ) from None
    if not item["ticker"] or item["split_from"] <= 0 or item["split_to"] <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: ticker and ratios > 0 needed")
    return item


def unadjust_daily(daily: pd.DataFrame, splits: list[dict]) -> pd.DataFrame:
    """Return daily bars with each split's earlier rows on the pre-split basis."""
    if not splits:
        return daily
    df = daily.copy()
    sym = df["symbol"].astype(str)
    days = pd.to_datetime(df["date"])
    for split in splits:
        if pd.Timestamp(split["execution_date"]) > days.max():
            continue  # announced, not executed within the history
        ratio = float(split["split_to"]) / float(split["split_from"])
        rows = (sym == split["ticker"]) & (days < pd.Timestamp(split["execution_date"]))
        for col in PRICE_COLUMNS:
            if col in df:
                df.loc[rows, col] = (df.loc[rows, col] * ratio).round(4)
        df.loc[rows, "volume"] = (df.loc[rows, "volume"] / ratio).round()
    return df


def _cursor(params: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(urlencode(params).encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> dict[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise SplitQueryError("Invalid cursor") from exc
    return dict(parse_qsl(raw))


def splits_page(splits: list[dict], query: Mapping[str, str], host: str) -> dict:
    """Answer one `/v3/reference/splits` request (results and next_url)."""
    opts = dict(query)
    opts.pop("apiKey", None)
    if "cursor" in opts:
        opts.update(_uncursor(opts.pop("cursor")))
    rows = splits
    if opts.get("ticker"):
        rows = [s for s in rows if s["ticker"] == opts["ticker"].upper()]
    for name, keep in DATE_FILTERS.items():
        if name in opts:
            try:
                bound = date.fromisoformat(opts[name]).isoformat()
            except ValueError as exc:
                raise SplitQueryError(f"Invalid date for {name}") from exc
            rows = [s for s in rows if keep(s["execution_date"], bound)]
    if opts.get("order") == "desc":
        rows = rows[::-1]
    raw_limit = str(opts.get("limit", DEFAULT_LIMIT))
    limit = min(max(int(raw_limit), 1), MAX_LIMIT) if raw_limit.isdigit() else 10
    offset = int(opts.get("offset", "0") or 0)
    page = rows[offset : offset + limit]
    body: dict[str, Any] = {"results": page, "status": "OK"}
    if offset + limit < len(rows):
        nxt = {k: v for k, v in opts.items() if k != "offset"}
        nxt.update(offset=str(offset + limit), limit=str(limit))
        body["next_url"] = f"http://{host}{SPLITS_PATH}?cursor={_cursor(nxt)}"
    return body

"""Corporate actions: stock splits from Massive's reference endpoint.

`/v3/reference/splits` lists splits as `id, execution_date, split_from,
split_to, ticker` (a 1-for-4 forward split is `split_from 1, split_to 4`).
For each split of a stored symbol that has executed, the stored daily and
minute bars before the execution date are divided by `split_to / split_from`
(volumes multiplied by it), table by table only where the stored prices still
jump at the execution date (or no bar after it is stored yet), so history a
vendor already adjusted is never adjusted twice. The split id is recorded with
the adjustment in one transaction, so a split is applied at most once; the
factor is also recorded in `data_adjustments` (kind `split`) for
`tickstock data-health`.

Runs after `tickstock backfill`, from the nightly end-of-day scheduler and as
`tickstock splits` (`dashapp.cli.splits`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dashapp.store import Store
from ingest.massive_rest import rest_client
from ingest.sessions import MARKET_TZ, market_date

log = logging.getLogger(__name__)

SPLIT_KIND = "split"
PAGE_LIMIT = 1000
# Per-ticker requests up to this many symbols, one market-wide listing above.
PER_TICKER_MAX = 20
NIGHTLY_LOOKBACK_DAYS = 30


@dataclass(frozen=True)
class Split:
    """One split as Massive lists it."""

    id: str
    symbol: str
    execution_date: dt.date
    split_from: float
    split_to: float

    @property
    def ratio(self) -> float:
        """Return split_to / split_from (prices before the split divide by it)."""
        return self.split_to / self.split_from


@dataclass
class SplitReport:
    """What one splits run did."""

    fetched: int = 0
    applied: list[tuple[Split, int, int]] = field(default_factory=list)
    already: int = 0
    pending: int = 0

    def lines(self) -> list[str]:
        """Return printable lines, one per applied split."""
        out = [
            f"split {s.symbol} {s.execution_date} {s.split_from:g}-for-"
            f"{s.split_to:g}: prices / {s.ratio:g} before it "
            f"({daily:,} daily, {minute:,} minute bars)"
            for s, daily, minute in self.applied
        ]
        out.append(
            f"splits: {self.fetched} listed, {len(self.applied)} applied, "
            f"{self.already} already applied, {self.pending} not yet executed"
        )
        return out


def parse_split(item: Any) -> Split | None:
    """Turn one client result (object or dict) into a Split; None if incomplete."""
    get = item.get if isinstance(item, dict) else lambda k: getattr(item, k, None)
    ticker, when = get("ticker"), get("execution_date")
    sfrom, sto = get("split_from"), get("split_to")
    if not ticker or not when or not sfrom or not sto:
        return None
    if float(sfrom) <= 0 or float(sto) <= 0:
        return None
    day = dt.date.fromisoformat(str(when)[:10])
    split_id = get("id") or f"{ticker}-{day}-{sfrom}-{sto}"
    return Split(str(split_id), str(ticker).upper(), day, float(sfrom), float(sto))


def fetch_splits(
    client: Any,
    since: dt.date,
    symbols: Collection[str] | None = None,
    call: Callable[..., Any] | None = None,
) -> list[Split]:
    """List splits executed on or after `since` (for `symbols`, or all)."""
    call = call or (lambda fn, *a, **k: fn(*a, **k))

    def listing(**kwargs: Any) -> list[Any]:
        return call(
            lambda: list(
                client.list_splits(
                    execution_date_gte=since.isoformat(), limit=PAGE_LIMIT, **kwargs
                )
            )
        )

    if symbols is not None and len(symbols) <= PER_TICKER_MAX:
        raw = [item for sym in sorted(symbols) for item in listing(ticker=sym)]
    else:
        raw = listing()
    wanted = None if symbols is None else {s.upper() for s in symbols}
    found = {}
    for item in raw:
        split = parse_split(item)
        if split and (wanted is None or split.symbol in wanted):
            found[split.id] = split
    return sorted(found.values(), key=lambda s: (s.execution_date, s.symbol))


def minute_cutoff(day: dt.date) -> dt.datetime:
    """Return the UTC instant the execution date starts on the exchange clock."""
    local = pd.Timestamp(day).tz_localize(MARKET_TZ)
    return local.tz_convert("UTC").to_pydatetime()


def unadjusted_tables(
    closes: dict[str, tuple[float | None, float | None]], ratio: float
) -> list[str]:
    """Return the bar tables whose stored prices still jump at the split.

    `closes` maps a table to (last close before, first close on/after the
    execution date). A table is adjusted when it holds bars before the split
    and either none after it yet (stored while the split was pending) or a
    jump nearer the split ratio than no jump: files adjusted by their vendor
    are never adjusted twice.
    """
    out = []
    for table, (before, after) in closes.items():
        if not before:
            continue
        if not after:
            out.append(table)
            continue
        jump = math.log(before / after)
        if abs(jump - math.log(ratio)) < abs(jump):
            out.append(table)
    return out


def apply_splits(
    store: Store, splits: Iterable[Split], today: dt.date | None = None
) -> SplitReport:
    """Adjust stored history for executed splits not applied yet; record each."""
    today = today or _market_today()
    splits = list(splits)
    report = SplitReport(fetched=len(splits))
    done = store.applied_split_ids()
    coverage = store.daily_coverage(sorted({s.symbol for s in splits}) or [])
    first = dict(zip(coverage["symbol"], coverage["first"], strict=True))
    for split in splits:
        if split.id in done:
            report.already += 1
            continue
        if split.execution_date > today:
            report.pending += 1  # applied once it has executed
            continue
        cutoff = minute_cutoff(split.execution_date)
        closes = store.closes_around(split.symbol, split.execution_date, cutoff)
        rows = store.apply_split(
            split.id,
            split.symbol,
            split.execution_date,
            split.split_from,
            split.split_to,
            cutoff,
            tables=unadjusted_tables(closes, split.ratio),
        )
        if rows is None:
            report.already += 1
            continue
        report.applied.append((split, *rows))
        if not any(rows):
            continue  # nothing before it, or stored already on the new basis
        start = first.get(split.symbol)
        store.record_adjustments(
            [
                {
                    "symbol": split.symbol,
                    "kind": SPLIT_KIND,
                    "factor": 1.0 / split.ratio,
                    "applied_to_start": None if start is None else start.date(),
                    "applied_to_end": split.execution_date - dt.timedelta(days=1),
                    "sessions": rows[0],
                    "reason": (
                        f"split {split.split_from:g}-for-{split.split_to:g} "
                        f"executed {split.execution_date} (id {split.id}); "
                        f"{rows[0]} daily and {rows[1]} minute bars adjusted"
                    ),
                }
            ]
        )
        log.info("applied split %s %s ratio %g", split.symbol, split.id, split.ratio)
    return report


def stored_symbols(store: Store) -> list[str]:
    """Return every symbol with daily history."""
    return store.daily_coverage()["symbol"].tolist()


def sync_splits(
    store: Store,
    client: Any,
    since: dt.date,
    symbols: Collection[str] | None = None,
    call: Callable[..., Any] | None = None,
) -> SplitReport:
    """Fetch splits since a date for stored symbols and apply the new ones."""
    names = stored_symbols(store) if symbols is None else list(symbols)
    if not names:
        return SplitReport()
    splits = fetch_splits(client, since, names, call)
    return apply_splits(store, splits)


def _market_today() -> dt.date:
    return market_date(pd.Timestamp.now(tz="UTC"))


def _rest_client(settings: Any) -> Any:
    """Return the official RESTClient with our retries (its own are off)."""
    return rest_client(
        settings.massive_api_key,
        settings.massive_rest_url,
        connect_timeout=10.0,
        read_timeout=60.0,
    )


def nightly_hook(
    settings: Any, store: Store, today: Callable[[], dt.date] = _market_today
) -> Callable[[], None]:
    """Return the callback the EOD scheduler runs after a session's roll-up."""

    def run() -> None:
        if not getattr(settings, "massive_api_key", None):
            return
        since = today() - dt.timedelta(days=NIGHTLY_LOOKBACK_DAYS)
        report = sync_splits(store, _rest_client(settings), since)
        for line in report.lines() if report.applied else ():
            log.info("%s", line)

    return run

"""Daily and minute history from the Massive REST API (`tickstock backfill`).

Daily bars come from grouped daily (one request per XNYS session for the whole
market, kept for the requested symbols); minute bars from per-symbol
aggregates (`list_aggs`, which follows `next_url`), fetched for runs of
consecutive missing sessions, extended hours included. Both use the official
`massive` RESTClient pointed at `settings.massive_rest_url`.

Resumable: a session is skipped when every requested symbol already has a
non-demo daily bar that day, or when an earlier grouped response for that day
lacked the still-missing symbols (recorded in app_meta, so unlisted symbols do
not cause refetches); a symbol-day of minutes is skipped when stored bars
already span the regular session. Rate limits: the client's own retries are
off; every request is retried with exponential backoff and jitter on 429 and
server errors.
Loading real daily bars replaces demo history.

Live gaps after a stream reconnect are `ingest/backfill.py`'s job (the live
ingest service); this module is the operator's bulk history loader (the
command is in `dashapp.cli.history`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dashapp.store import Store
from ingest.backoff import backoff_delay
from ingest.eod import last_closed_session, sessions_back
from ingest.history import replace_demo
from ingest.massive_rest import FATAL_STATUS, is_fatal, is_rate_limited, rest_client
from ingest.progress import progress_task
from ingest.retry_after import retry_wait
from ingest.sessions import session_bounds

log = logging.getLogger(__name__)

BACKFILL_SOURCE = "backfill"
GROUPED_META_KEY = "backfill_grouped_absent"
DEFAULT_ATTEMPTS = 6
BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 60.0
PAGE_LIMIT = 50_000
# A stored symbol-day counts as complete when it spans the regular session
# within this slack (thin names may not trade in the very first minutes).
SPAN_SLACK = pd.Timedelta(minutes=15)
FATAL = (*FATAL_STATUS, "API Key was not")
MS = 1000


class BackfillError(RuntimeError):
    """The backfill cannot run (no key, unknown universe) or a request kept failing."""


@dataclass
class BackfillReport:
    """What one backfill run did."""

    sessions: list[dt.date] = field(default_factory=list)
    daily_fetched: int = 0
    daily_skipped: int = 0
    daily_rows: int = 0
    minute_symbol_days: int = 0
    minute_skipped: int = 0
    minute_rows: int = 0
    retries: int = 0
    rate_limited: int = 0
    failed: list[str] = field(default_factory=list)
    demo_replaced: int = 0
    splits: Any = None  # ingest.splits.SplitReport


# ----------------------------------------------------------------- requests
class Retrying:
    """Call REST functions with exponential backoff and jitter on failures."""

    def __init__(
        self,
        report: BackfillReport,
        attempts: int = DEFAULT_ATTEMPTS,
        first_delay: float = BACKOFF_FIRST_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.report = report
        self.attempts = max(1, attempts)
        self.first_delay = first_delay
        self.sleep = sleep

    def delay(self, failures: int) -> float:
        """Return the wait before retry number `failures` (half fixed, half random)."""
        return backoff_delay(failures - 1, self.first_delay, BACKOFF_CAP_S)

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Return fn(*args, **kwargs), retrying transient failures."""
        for failures in range(1, self.attempts + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if is_fatal(exc, FATAL) or failures == self.attempts:
                    raise BackfillError(
                        f"{getattr(fn, '__name__', fn)}: {exc}"
                    ) from exc
                self.report.retries += 1
                if is_rate_limited(exc):
                    self.report.rate_limited += 1
                log.warning("REST request failed (%s); retrying", str(exc)[:200])
                self.sleep(retry_wait(self.delay(failures)))
        raise AssertionError("unreachable")


def make_client(settings: Any) -> Any:
    """Return the official Massive RESTClient for the configured base URL and key."""
    if not settings.massive_api_key:
        raise BackfillError(
            "MASSIVE_API_KEY is not set: the backfill needs a Massive API key "
            "(any non-empty key for the built-in simulator)"
        )
    # Retries are ours (backoff with jitter, counted in the report).
    return rest_client(
        settings.massive_api_key,
        settings.massive_rest_url,
        connect_timeout=10.0,
        read_timeout=60.0,
    )


# ------------------------------------------------------------------ targets
def resolve_targets(
    store: Store,
    symbols: str | None = None,
    universe: str | None = None,
    default: str = "sp500+sectors+index",
) -> list[str] | None:
    """Return the symbols to backfill (None = every symbol in the responses)."""
    if symbols:
        return sorted({s.strip().upper() for s in symbols.split(",") if s.strip()})
    spec = (universe or default).strip()
    if spec == "*":
        return None
    try:
        return store.universe_symbols(spec)
    except KeyError:
        if universe:
            raise BackfillError(f"unknown universe: {universe}") from None
    # INGEST_UNIVERSE may also be a comma list of symbols.
    return sorted({s.strip().upper() for s in spec.split(",") if s.strip()})


# -------------------------------------------------------------------- daily
def _absent_record(store: Store) -> dict[str, list[str]]:
    try:
        return json.loads(store.get_meta(GROUPED_META_KEY) or "{}")
    except ValueError:
        return {}


def daily_todo(
    store: Store, sessions: Sequence[dt.date], targets: list[str] | None
) -> list[dt.date]:
    """Return the sessions whose grouped daily bars are still needed."""
    if not sessions:
        return []
    stored = store.read_daily(targets, start=sessions[0], end=sessions[-1])
    stored = stored[stored["source"] != "demo"]
    have = stored.groupby(stored["date"].dt.date)["symbol"].agg(set).to_dict()
    absent = _absent_record(store)
    todo = []
    for day in sessions:
        key = day.isoformat()
        if targets is None:
            if key not in absent:
                todo.append(day)
            continue
        missing = set(targets) - have.get(day, set())
        if missing and not (key in absent and missing <= set(absent[key])):
            todo.append(day)
    return todo


def grouped_frame(results: Sequence[Any], day: dt.date) -> pd.DataFrame:
    """Turn grouped-daily results into daily bars for `day` (complete rows only)."""
    rows = [
        (r.ticker, r.open, r.high, r.low, r.close, r.volume or 0.0)
        for r in results
        if r.ticker and None not in (r.open, r.high, r.low, r.close)
    ]
    frame = pd.DataFrame(
        rows, columns=["symbol", "open", "high", "low", "close", "volume"]
    )
    frame["date"] = pd.Timestamp(day)
    return frame


def backfill_daily(
    store: Store,
    client: Any,
    sessions: Sequence[dt.date],
    targets: list[str] | None,
    call: Retrying,
    tick: Callable[[int], None],
) -> None:
    """Fetch grouped daily bars for each missing session and store them."""
    report = call.report
    todo = daily_todo(store, sessions, targets)
    report.daily_skipped = len(sessions) - len(todo)
    tick(report.daily_skipped)
    absent = _absent_record(store)
    for day in todo:
        results = call(client.get_grouped_daily_aggs, day.isoformat(), adjusted=True)
        frame = grouped_frame(results, day)
        if targets is not None:
            frame = frame[frame["symbol"].isin(targets)]
            absent[day.isoformat()] = sorted(set(targets) - set(frame["symbol"]))
        else:
            absent[day.isoformat()] = []
        if len(frame):
            store.ensure_symbols(frame["symbol"].tolist())
            report.daily_rows += store.upsert_daily_bars(frame, source=BACKFILL_SOURCE)
        store.set_meta(GROUPED_META_KEY, json.dumps(absent, separators=(",", ":")))
        report.daily_fetched += 1
        tick(1)


# ------------------------------------------------------------------- minute
def minute_todo(
    store: Store, sessions: Sequence[dt.date], targets: list[str]
) -> dict[str, list[dt.date]]:
    """Return, per symbol, the sessions whose minute bars are not yet stored."""
    bounds = {day: session_bounds(day) for day in sessions}
    spans = store.minute_day_spans(
        targets, bounds[sessions[0]].pre_open, bounds[sessions[-1]].post_close
    )
    complete: set[tuple[str, str]] = set()
    for row in spans.itertuples():
        b = bounds.get(dt.date.fromisoformat(row.day))
        if b is None:
            continue
        if row.first_ts <= b.open + SPAN_SLACK and row.last_ts >= b.close - SPAN_SLACK:
            complete.add((row.symbol, row.day))
    return {
        sym: [d for d in sessions if (sym, d.isoformat()) not in complete]
        for sym in targets
    }


def runs(days: Sequence[dt.date], sessions: Sequence[dt.date]) -> list[list[dt.date]]:
    """Split days into runs of consecutive sessions."""
    position = {d: i for i, d in enumerate(sessions)}
    out: list[list[dt.date]] = []
    for day in days:
        if out and position[day] == position[out[-1][-1]] + 1:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def backfill_minutes(
    store: Store,
    client: Any,
    sessions: Sequence[dt.date],
    targets: list[str],
    call: Retrying,
    tick: Callable[[int], None],
    page_limit: int = PAGE_LIMIT,
) -> None:
    """Fetch minute aggregates for each symbol's missing sessions and store them."""
    report = call.report
    todo = minute_todo(store, sessions, targets)
    for sym in targets:
        days = todo[sym]
        report.minute_skipped += len(sessions) - len(days)
        for run in runs(days, sessions):
            first, last = session_bounds(run[0]), session_bounds(run[-1])
            start_ms = int(first.pre_open.value // 1_000_000)
            end_ms = int(last.post_close.value // 1_000_000) - 1
            try:
                bars = call(_fetch_minutes, client, sym, start_ms, end_ms, page_limit)
            except BackfillError as exc:
                report.failed.append(sym)
                log.error("minute backfill of %s failed: %s", sym, exc)
                continue
            if len(bars):
                report.minute_rows += store.upsert_minute_bars(bars)
            report.minute_symbol_days += len(run)
        tick(1)


def _fetch_minutes(
    client: Any, symbol: str, start_ms: int, end_ms: int, page_limit: int
) -> pd.DataFrame:
    """Return one symbol's minute bars with start in [start_ms, end_ms]."""
    rows = []
    for agg in client.list_aggs(
        symbol, 1, "minute", start_ms, end_ms, adjusted=True, sort="asc",
        limit=page_limit,
    ):  # fmt: skip
        t = agg.timestamp
        if t is None or None in (agg.open, agg.high, agg.low, agg.close):
            continue
        if start_ms <= t <= end_ms and t % 60_000 == 0:
            rows.append(
                (symbol, int(t), agg.open, agg.high, agg.low, agg.close,
                 agg.volume or 0.0, agg.vwap, agg.transactions)
            )  # fmt: skip
    cols = ["symbol", "ts", "open", "high", "low", "close", "volume", "vwap", "trades"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------- run
def backfill(
    store: Store,
    settings: Any,
    days: int,
    *,
    symbols: str | None = None,
    universe: str | None = None,
    minute: bool = False,
    end: dt.date | None = None,
    client: Any = None,
    progress: Any = None,
    attempts: int = DEFAULT_ATTEMPTS,
    first_delay: float = BACKOFF_FIRST_S,
    page_limit: int = PAGE_LIMIT,
) -> BackfillReport:
    """Backfill `days` sessions ending at `end` (default: the last closed session)."""
    if days < 1:
        raise BackfillError("--days must be at least 1")
    default = getattr(settings, "ingest_universe", "sp500+sectors+index")
    targets = resolve_targets(store, symbols, universe, default)
    if minute and targets is None:
        raise BackfillError("minute backfill needs --symbols or --universe (not '*')")
    client = client or make_client(settings)
    sessions = sessions_back(end or last_closed_session(), days)
    report = BackfillReport(sessions=list(sessions))
    call = Retrying(report, attempts=attempts, first_delay=first_delay)
    tick = progress_task(progress, "daily (grouped)", len(sessions))
    backfill_daily(store, client, sessions, targets, call, tick)
    if minute:
        tick = progress_task(progress, "minute (per symbol)", len(targets))
        backfill_minutes(store, client, sessions, targets, call, tick, page_limit)
    if report.daily_rows or report.minute_rows:
        report.demo_replaced = replace_demo(store)
    _apply_splits(store, client, sessions, targets, call)
    return report


def _apply_splits(store, client, sessions, targets, call: Retrying) -> None:
    """Adjust stored history for splits executed in the backfilled sessions."""
    from ingest.splits import sync_splits

    try:
        call.report.splits = sync_splits(store, client, sessions[0], targets, call)
    except BackfillError as exc:
        call.report.failed.append(f"splits ({exc})")

"""Fill gaps in live minute bars from the Massive REST aggregates endpoint.

After a reconnect the stream client knows which minutes it may have missed;
`GapBackfiller` fetches them per symbol with the official `massive`
`RESTClient.list_aggs` (which follows `next_url`), backs off with jitter on
429 and server errors, and hands the bars to the writer like any `AM` bar.
Jobs run one at a time on a background thread so the socket reader never waits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ingest.backoff import backoff_delay
from ingest.massive_rest import is_fatal, is_rate_limited, rest_client
from ingest.retry_after import retry_wait

log = logging.getLogger(__name__)

MS_PER_MINUTE = 60_000
MAX_LIMIT = 50_000
DEFAULT_WORKERS = 4
DEFAULT_ATTEMPTS = 8
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0
SUBMIT_ROWS = 5_000


class BackfillError(RuntimeError):
    """A symbol's bars could not be fetched after every retry."""


@dataclass
class GapJob:
    """Minutes [start_ms, end_ms] (bar starts, inclusive) to fetch for symbols."""

    symbols: Sequence[str]
    start_ms: int
    end_ms: int
    reason: str = "reconnect"
    done: threading.Event = field(default_factory=threading.Event)
    rows: int = 0
    failed: list[str] = field(default_factory=list)


class GapBackfiller:
    """Fetch missed minute bars over REST and submit them to the writer."""

    def __init__(
        self,
        api_key: str,
        rest_url: str,
        submit: Callable[[list[tuple]], Any],
        *,
        workers: int = DEFAULT_WORKERS,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_first_s: float = BACKOFF_FIRST_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
        page_limit: int = MAX_LIMIT,
        client: Any = None,
    ) -> None:
        self.api_key = api_key
        self.rest_url = rest_url.rstrip("/")
        self.submit = submit
        self.workers = max(1, int(workers))
        self.attempts = max(1, int(attempts))
        self.backoff_first_s = float(backoff_first_s)
        self.backoff_cap_s = float(backoff_cap_s)
        self.page_limit = max(1, min(int(page_limit), MAX_LIMIT))
        self._client = client
        self._jobs: queue.Queue[GapJob | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.running: GapJob | None = None
        self.stats = {
            "jobs": 0,
            "rows": 0,
            "requests_retried": 0,
            "rate_limited": 0,
            "failed_symbols": 0,
        }
        self.last_job: dict[str, Any] | None = None

    @property
    def client(self) -> Any:
        """Return the official REST client (created on first use)."""
        if self._client is None:
            # Retries are ours (with jitter, and resuming where a page failed).
            self._client = rest_client(
                self.api_key,
                self.rest_url,
                connect_timeout=5.0,
                read_timeout=30.0,
                maxsize=self.workers,
            )
        return self._client

    # ------------------------------------------------------------ thread
    def start(self) -> GapBackfiller:
        """Start the background job thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="tickstock-backfill", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after the current request; pending jobs are dropped."""
        self._stop.set()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def schedule(
        self, symbols: Sequence[str], start_ms: int, end_ms: int, reason: str = "gap"
    ) -> GapJob | None:
        """Queue a gap to fill; return the job (None when there is nothing to do)."""
        start_ms -= start_ms % MS_PER_MINUTE
        end_ms -= end_ms % MS_PER_MINUTE
        if not symbols or end_ms < start_ms:
            return None
        job = GapJob(list(symbols), start_ms, end_ms, reason)
        log.info(
            "backfill queued (%s): %d symbols, %s .. %s",
            reason,
            len(job.symbols),
            _iso(start_ms),
            _iso(end_ms),
        )
        self._jobs.put(job)
        return job

    def pending(self) -> int:
        """Return the number of queued jobs (not counting the running one)."""
        return self._jobs.qsize()

    def _run(self) -> None:
        while not self._stop.is_set():
            job = self._jobs.get()
            if job is None:
                break
            self.running = job
            try:
                self.run_job(job)
            except Exception:  # never let one job kill the thread
                log.exception("backfill job failed")
            finally:
                self.running = None
                job.done.set()

    # -------------------------------------------------------------- work
    def run_job(self, job: GapJob) -> GapJob:
        """Fetch every symbol of a job (a few at a time) and submit the bars."""
        started = time.monotonic()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="backfill") as pool:
            futures = {
                pool.submit(self._symbol, sym, job.start_ms, job.end_ms): sym
                for sym in job.symbols
            }
            for fut, sym in futures.items():
                try:
                    job.rows += fut.result()
                except Exception as exc:
                    job.failed.append(sym)
                    log.error("backfill of %s failed: %s", sym, exc)
        with self._lock:
            self.stats["jobs"] += 1
            self.stats["rows"] += job.rows
            self.stats["failed_symbols"] += len(job.failed)
        self.last_job = {
            "reason": job.reason,
            "symbols": len(job.symbols),
            "from": _iso(job.start_ms),
            "to": _iso(job.end_ms),
            "rows": job.rows,
            "failed": len(job.failed),
            "seconds": round(time.monotonic() - started, 3),
        }
        log.info("backfill done: %s", self.last_job)
        return job

    def _symbol(self, symbol: str, start_ms: int, end_ms: int) -> int:
        rows = self.fetch(symbol, start_ms, end_ms)
        for lo in range(0, len(rows), SUBMIT_ROWS):
            self.submit(rows[lo : lo + SUBMIT_ROWS])
        return len(rows)

    def fetch(self, symbol: str, start_ms: int, end_ms: int) -> list[tuple]:
        """Return minute bars of one symbol with start in [start_ms, end_ms]."""
        rows: list[tuple] = []
        cursor = start_ms
        failures = 0
        while cursor <= end_ms and not self._stop.is_set():
            try:
                for agg in self.client.list_aggs(
                    symbol,
                    1,
                    "minute",
                    cursor,
                    end_ms + MS_PER_MINUTE - 1,
                    adjusted=True,
                    sort="asc",
                    limit=self.page_limit,
                ):
                    row = _agg_row(symbol, agg, start_ms, end_ms)
                    if row is not None:
                        rows.append(row)
                        cursor = row[1] + MS_PER_MINUTE
                return rows
            except Exception as exc:
                if is_fatal(exc) or failures + 1 >= self.attempts:
                    raise BackfillError(f"{symbol}: {exc}") from exc
                failures += 1
                self._note_retry(exc)
                self._stop.wait(retry_wait(self._delay(failures)))
        return rows

    def _note_retry(self, exc: BaseException) -> None:
        with self._lock:
            self.stats["requests_retried"] += 1
            if is_rate_limited(exc):
                self.stats["rate_limited"] += 1
        log.warning("REST request failed (%s); retrying", str(exc)[:200])

    def _delay(self, failures: int) -> float:
        """Exponential backoff with jitter: half fixed, half random."""
        return backoff_delay(failures - 1, self.backoff_first_s, self.backoff_cap_s)

    def health(self) -> dict[str, Any]:
        """Return job counters, the running job and the last finished job."""
        running = self.running
        return {
            **self.stats,
            "queued": self.pending(),
            "running": None
            if running is None
            else {"symbols": len(running.symbols), "reason": running.reason},
            "last": self.last_job,
        }


def _agg_row(symbol: str, agg: Any, start_ms: int, end_ms: int) -> tuple | None:
    t = agg.timestamp
    if t is None or agg.open is None or agg.close is None:
        return None
    t = int(t)
    if t < start_ms or t > end_ms or t % MS_PER_MINUTE:
        return None
    return (
        symbol,
        t,
        float(agg.open),
        float(agg.high),
        float(agg.low),
        float(agg.close),
        agg.volume if agg.volume is not None else 0,
        None if agg.vwap is None else float(agg.vwap),
        None if agg.transactions is None else int(agg.transactions),
    )


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))

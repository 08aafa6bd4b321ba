"""Log sinks: ERROR records on the error channel, records over a threshold in the DB.

- Every ERROR/CRITICAL log record, from any logger or thread, is published on
  the error channel as JSON `{ts, level, source, message, context}`.
- Records at or above `LOG_DB_SEVERITY_THRESHOLD` go to `error_log` when
  `LOG_DB_ENABLED`, batched by a writer thread; logging never waits on Redis or
  the database (bounded queues; overflow is counted and dropped).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
import traceback
from collections.abc import Mapping
from typing import Any

from dashapp.ops.channels import (
    RETRY_MAX_S,
    RETRY_MIN_S,
    ChannelPublisher,
    ObsWorker,
    is_obs_thread,
    to_json,
    utc_iso,
)
from dashapp.ops.logguard import LogGuard, client_probe_status
from dashapp.store import Store

log = logging.getLogger(__name__)

DB_QUEUE_MAX = 10_000
DB_BATCH_MAX = 500
DB_FLUSH_S = 0.5
MESSAGE_MAX_CHARS = 10_000
TRACEBACK_MAX_CHARS = 8_000
FLUSH_TIMEOUT_S = 5.0


def record_dict(record: logging.LogRecord, instance: str) -> dict[str, Any]:
    """Return a log record as `{ts, level, source, message, context}`."""
    context: dict[str, Any] = {}
    extra = getattr(record, "context", None)
    if isinstance(extra, Mapping):
        context.update(extra)
    elif extra is not None:
        context["value"] = extra
    context.setdefault("instance", instance)
    context.setdefault("where", f"{record.pathname}:{record.lineno}")
    context.setdefault("thread", record.threadName)
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info))
        context["exc"] = text[-TRACEBACK_MAX_CHARS:]
    try:
        message = record.getMessage()
    except Exception:  # bad %-args must not lose the record
        message = str(record.msg)
    return {
        "ts": utc_iso(record.created),
        "level": record.levelname,
        "source": record.name,
        "message": message[:MESSAGE_MAX_CHARS],
        "context": context,
    }


class ErrorChannelHandler(logging.Handler):
    """Publish ERROR/CRITICAL records as JSON on the error channel."""

    def __init__(
        self, publisher: ChannelPublisher, channel: str, instance: str
    ) -> None:
        super().__init__(level=logging.ERROR)
        self.publisher = publisher
        self.channel = channel
        self.instance = instance

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record for publishing (never blocks)."""
        if is_obs_thread() or client_probe_status(record) is not None:
            return
        try:
            self.publisher.publish(
                self.channel, record_dict(record, self.instance), keep=True
            )
        except Exception:
            self.handleError(record)


class DatabaseLogHandler(logging.Handler):
    """Write records at or above a threshold to `error_log`, batched, off-thread."""

    def __init__(self, store: Store, level: int | str, instance: str) -> None:
        super().__init__(level=level)
        self.store = store
        self.instance = instance
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self._queue: queue.Queue = queue.Queue(maxsize=DB_QUEUE_MAX)
        self._worker = ObsWorker("tickstock-db-log", self._run)
        self._start_lock = threading.Lock()
        self._started = False
        self._failing = False
        self.guard = LogGuard()  # probes counted, repeats summarised

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record for the writer thread (never blocks)."""
        if is_obs_thread() or not self.guard.admit(record):
            return
        self._enqueue(record)

    def _enqueue(self, record: logging.LogRecord) -> None:
        try:
            body = record_dict(record, self.instance)
            row = {
                "ts": dt.datetime.fromtimestamp(record.created, dt.UTC),
                "level": body["level"],
                "source": body["source"][:128],
                "message": body["message"],
                "context": to_json(body["context"]).decode(),
            }
            self._ensure_started()
            self._queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1
        except Exception:
            self.handleError(record)

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until queued records are written; return False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self) -> None:
        """Flush briefly and stop the writer thread."""
        if self._started:
            self.flush(timeout=1.0)
            self._worker.stop()
        super().close()

    def _ensure_started(self) -> None:
        if self._started:
            return
        with self._start_lock:
            if not self._started:
                self._started = True
                self._worker.start()

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        delay = RETRY_MIN_S
        while not self._worker.stop_event.is_set():
            for summary in self.guard.summaries():
                self._enqueue(summary)
            if not pending:
                try:
                    pending.append(self._queue.get(timeout=DB_FLUSH_S))
                except queue.Empty:
                    continue
            while len(pending) < DB_BATCH_MAX:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.store.insert_error_logs(pending)
            except Exception as exc:
                self.failures += 1
                if not self._failing:
                    self._failing = True
                    log.warning(
                        "error_log writes failing (%s); retrying", type(exc).__name__
                    )
                self._worker.stop_event.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            self.written += len(pending)
            for _ in pending:
                self._queue.task_done()
            pending = []
            delay = RETRY_MIN_S
            if self._failing:
                self._failing = False
                log.info("error_log writes succeed again")

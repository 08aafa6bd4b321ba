"""Keep the error_log table quiet: client probes are counted, repeats summarised.

- A request the HTTP server itself refuses (werkzeug or gunicorn "code 414,
  message URI Too Long", bad request lines ...) is a client's problem, not the
  app's: it is counted (`tickstock_http_client_errors_total{status}`) and not
  stored.
- The same message template from the same logger is stored once per
  `SUPPRESS_WINDOW_S`; the repeats are counted and written as one
  "N similar suppressed" record when the window closes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

SUPPRESS_WINDOW_S = 60.0
MAX_TEMPLATES = 1_000
TEMPLATE_MAX_CHARS = 300
SERVER_LOGGERS = ("werkzeug", "gunicorn")
PROBE_RE = re.compile(r"code (4\d\d), message")
SUPPRESSED_MSG = "%d similar suppressed in %.0f s: %s"


def client_probe_status(record: logging.LogRecord) -> int | None:
    """Return the 4xx status of an HTTP server's refusal record, else None."""
    if not record.name.startswith(SERVER_LOGGERS):
        return None
    try:
        match = PROBE_RE.search(record.getMessage())
    except Exception:  # bad %-args: not a probe line
        return None
    return int(match.group(1)) if match else None


class _Window:
    __slots__ = ("started", "suppressed", "sample")

    def __init__(self, started: float, sample: logging.LogRecord) -> None:
        self.started = started
        self.suppressed = 0
        self.sample = sample


class LogGuard:
    """Decide which records reach a sink; summarise what it held back."""

    def __init__(
        self,
        window: float = SUPPRESS_WINDOW_S,
        on_probe: Callable[[int], None] | None = None,
    ) -> None:
        self.window = window
        self.on_probe = on_probe
        self.probes = 0
        self.suppressed = 0
        self._windows: OrderedDict[tuple, _Window] = OrderedDict()
        self._closed: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def admit(self, record: logging.LogRecord) -> bool:
        """Return True when the record should be stored now."""
        status = client_probe_status(record)
        if status is not None:
            self.probes += 1
            if self.on_probe is not None:
                self.on_probe(status)
            return False
        key = (record.name, record.levelno, str(record.msg)[:TEMPLATE_MAX_CHARS])
        now = time.monotonic()
        with self._lock:
            current = self._windows.get(key)
            if current is not None and now - current.started < self.window:
                current.suppressed += 1
                self.suppressed += 1
                return False
            if current is not None and current.suppressed:
                self._closed.append(self._summary(current))
            self._windows[key] = _Window(now, record)
            self._windows.move_to_end(key)
            while len(self._windows) > MAX_TEMPLATES:
                _key, old = self._windows.popitem(last=False)
                if old.suppressed:
                    self._closed.append(self._summary(old))
        return True

    def summaries(self) -> list[logging.LogRecord]:
        """Return "N similar suppressed" records of windows that have closed."""
        now = time.monotonic()
        with self._lock:
            out, self._closed = self._closed, []
            for key in [
                k for k, w in self._windows.items() if now - w.started >= self.window
            ]:
                window = self._windows.pop(key)
                if window.suppressed:
                    out.append(self._summary(window))
        return out

    def _summary(self, window: _Window) -> logging.LogRecord:
        sample = window.sample
        return logging.makeLogRecord(
            {
                "name": sample.name,
                "levelno": sample.levelno,
                "levelname": sample.levelname,
                "pathname": sample.pathname,
                "lineno": sample.lineno,
                "msg": SUPPRESSED_MSG,
                "args": (window.suppressed, self.window, str(sample.msg)[:200]),
                "threadName": sample.threadName,
            }
        )

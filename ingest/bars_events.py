"""The assembler's slow path: every event that is not a plain, valid `A` event.

`BarAssembler.feed` handles the common event (a valid per-second `A` bar) in
its own loop and hands everything else to `FrameEvents.event`: `AM` bars, status
events, unknown kinds, events missing a field (`e` included) or failing the
fast check. Here each is validated by the definition (`FeedValidator.accept`),
counted, and either kept for the frame (AM rows, statuses) or returned as the
fields of an `A` bar for the roll-up to fold.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ingest.minute_state import MS_PER_MINUTE, BarRow
from ingest.validate import MALFORMED, FeedValidator

log = logging.getLogger(__name__)

UNKNOWN_KINDS_KEPT = 32
WARN_EVERY_S = 10.0
_NUMBER_TYPES = frozenset((int, float, bool))

# The fields of an `A` bar the roll-up takes: sym, s, o, h, l, c, v, vw.
ABar = tuple


def numbers(*values: Any) -> bool:
    """Tell whether every value decodes as a JSON number (or a boolean)."""
    return all(type(x) in _NUMBER_TYPES for x in values)


def minute_row(ev: dict) -> BarRow | None:
    """Return an `AM` event as a writer row, or None when it is malformed."""
    try:
        sym = ev["sym"]
        s = ev["s"]
        row = (
            sym,
            s,
            ev["o"] + 0.0,
            ev["h"] + 0.0,
            ev["l"] + 0.0,
            ev["c"] + 0.0,
            ev["v"] + 0,
            ev["vw"] + 0.0,
            None,
        )
    except (KeyError, TypeError):
        return None
    if type(sym) is not str:
        return None
    return row


class FrameEvents:
    """Per-frame accumulators and the slow path of `BarAssembler.feed`."""

    validator: FeedValidator | None
    counts: dict[str, int]
    stream_ms: int

    def _init_events(self) -> None:
        self.unknown_kinds: dict[str, int] = {}
        self._warned: dict[str, float] = {}
        self._am_rows: list[BarRow] = []
        self._statuses: list[dict] = []
        self._bad = 0

    def _warn(self, key: str, message: str, *args: Any) -> None:
        """Log a warning at most once per WARN_EVERY_S per kind (counts go on)."""
        now = time.monotonic()
        if now >= self._warned.get(key, 0.0):
            self._warned[key] = now + WARN_EVERY_S
            total = self.counts["bad_frames"] + self.counts["malformed"]
            log.warning(message + " (%d bad so far)", *args, total)

    def _malformed(self, ev: Any) -> None:
        self._bad += 1
        if self.validator is not None:
            self.validator.reject(MALFORMED, ev)

    def event(self, ev: Any, bounds: tuple) -> ABar | None:
        """Handle an event off the fast path; return an `A` bar to fold, or None.

        `bounds` is (A window, AM window) of the validator for this frame.
        """
        if type(ev) is not dict:
            self._bad += 1
            return None
        kind = ev.get("ev")
        if kind == "A":
            return self._second(ev, bounds[0])
        if kind == "AM":
            self._minute(ev, bounds[1])
        elif kind == "status":
            self._statuses.append(ev)
        else:
            self._unknown(kind)
        return None

    def _second(self, ev: dict, bounds: tuple[int, int]) -> ABar | None:
        try:
            bar = (ev["sym"], ev["s"], ev["o"], ev["h"], ev["l"], ev["c"], ev["v"])
            bar += (ev["vw"],)
        except KeyError:
            self._malformed(ev)
            return None
        if not numbers(*bar[2:]):
            self._malformed(ev)
            return None
        check = self.validator
        if check is not None:
            return bar if check.accept(ev, "A", bounds) else None
        if type(bar[1]) is not int or type(bar[0]) is not str:
            self._bad += 1
            return None
        return bar

    def _minute(self, ev: dict, bounds: tuple[int, int]) -> None:
        row = minute_row(ev)
        check = self.validator
        if row is None:
            self._malformed(ev)
            return
        if check is not None:
            if not check.accept(ev, "AM", bounds):
                return
        elif type(row[1]) is not int or row[1] % MS_PER_MINUTE:
            self._bad += 1
            return
        self._am_rows.append(row)
        if row[1] + MS_PER_MINUTE > self.stream_ms:
            self.stream_ms = row[1] + MS_PER_MINUTE

    def _unknown(self, kind: Any) -> None:
        self.counts["unknown"] += 1
        name = kind if isinstance(kind, str) else type(kind).__name__
        if name in self.unknown_kinds or len(self.unknown_kinds) < UNKNOWN_KINDS_KEPT:
            self.unknown_kinds[name] = self.unknown_kinds.get(name, 0) + 1
        if self.unknown_kinds.get(name, 0) <= 1:
            log.warning("skipping unknown event type %r", name)

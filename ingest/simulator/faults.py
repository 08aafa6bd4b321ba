"""Faults a test can inject: drops, malformed frames, corrections, REST errors."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ingest.simulator.minutes import Minute
from ingest.simulator.protocol import DATA_EVENTS
from ingest.synthetic import round4, round_price, to_epoch_ms

DEFAULT_OVERSIZED_BYTES = 2 * 2**20 + 1
MALFORMED_KINDS = (
    "not_json",
    "truncated",
    "object",
    "missing_fields",
    "wrong_types",
    "unknown_event",
    "empty_array",
    "binary",
    "oversized",
)


class FaultInjection:
    """Break the feed on purpose for tests (mixed into `Simulator`).

    Works on the facade's connections, ground truth and REST fault queue.
    """

    def drop_connections(self, code: int | None = None, reason: str = "") -> int:
        """Drop every connection: abruptly (no close frame) or with a close code."""
        return self._call(self._adrop(code, reason), 15)

    async def _adrop(self, code: int | None, reason: str) -> int:
        conns = list(self._conns | self._pending)
        for conn in conns:
            conn.closed = True
            conn.discard_queue()
        self._conns.clear()
        self._pending.clear()
        self._count_subscribers()
        if code is None:
            for conn in conns:
                conn.ws.transport.abort()
        elif conns:
            tasks = [asyncio.create_task(c.ws.close(code, reason)) for c in conns]
            await asyncio.wait(tasks, timeout=5)
        self._stats["drops"] += len(conns)
        return len(conns)

    def send_malformed(
        self, kind: str, count: int = 1, oversized_bytes: int = DEFAULT_OVERSIZED_BYTES
    ) -> int:
        """Send a malformed frame of `kind` (see MALFORMED_KINDS) to every client."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {MALFORMED_KINDS}")
        frame, text = malformed_frame(kind, self.symbols[0], oversized_bytes)
        return self._call(self._abroadcast_raw([frame] * count, text), 30)

    async def _abroadcast_raw(self, frames: list[bytes], text: bool) -> int:
        sent = 0
        async with self._emit_lock:
            for conn in list(self._conns):
                if await conn.push(frames, block=True, text=text):
                    sent += 1
        return sent

    def mix_into_next(
        self, ev: str, before: Sequence[Any] = (), after: Sequence[Any] = ()
    ) -> None:
        """Put raw extra events into the next delivery of `ev` ("A"/"AM").

        `before` goes at the start of its first frame, `after` at the end of
        its last one, as given (any JSON value): hostile-feed tests mix poison
        events into frames of real bars this way.
        """
        if ev not in DATA_EVENTS:
            raise ValueError(f"ev must be one of {DATA_EVENTS}")
        self._mix_ins[ev] = (list(before), list(after))

    def send_events(self, events: Sequence[Any]) -> int:
        """Send one frame holding exactly `events` (raw JSON values) to every client."""
        return self._call(self._abroadcast_raw([orjson.dumps(list(events))], True), 30)

    def send_corrections(
        self,
        n: int = 5,
        minute: Any = None,
        symbols: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Re-send corrected AM bars (same `s`) and update the ground truth."""
        return self._call(self._acorrect(n, minute, symbols), 30)

    async def _acorrect(self, n, minute, symbols) -> pd.DataFrame:
        async with self._emit_lock:
            key = to_epoch_ms(minute) if minute is not None else self._truth.latest()
            chunk = self._truth.get(key) if key is not None else None
            if chunk is None or not len(chunk.bars):
                return self.ground_truth().iloc[0:0]
            rows = self._correction_rows(chunk, n, symbols)
            if not len(rows):
                return self.ground_truth().iloc[0:0]
            self._apply_correction(chunk, rows)
            pieces = chunk.encoder.encode(
                "AM",
                chunk.bars.sym_idx[rows],
                {k: v[rows] for k, v in chunk.am_cols.items()},
                np.full(len(rows), chunk.minute_ms, dtype=np.int64),
            )
            chunk._am_cache = None
            await self._deliver(
                "AM",
                chunk.bars.sym_idx[rows],
                lambda sel: pieces if sel is None else pieces[sel],
                block=True,
            )
            self._stats["corrections"] += len(rows)
        names = set(self._sym_array[chunk.bars.sym_idx[rows]].tolist())
        ts = pd.Timestamp(chunk.minute_ms, unit="ms", tz="UTC")
        return self.ground_truth(ts, ts + pd.Timedelta(minutes=1), names)

    def _correction_rows(self, chunk: Minute, n: int, symbols) -> np.ndarray:
        b = chunk.bars
        if symbols is not None:
            wanted = [self._index[s] for s in symbols if s in self._index]
            return np.flatnonzero(np.isin(b.sym_idx, wanted))
        rng = np.random.default_rng(
            [self.seed, 99, chunk.minute_ms, self._stats["corrections"]]
        )
        return np.sort(rng.choice(len(b), size=min(n, len(b)), replace=False))

    def _apply_correction(self, chunk: Minute, rows: np.ndarray) -> None:
        b, cols = chunk.bars, chunk.am_cols
        delta = np.maximum(1, b.volume[rows] // 10)
        tick = np.where(b.close[rows] >= 1.0, 0.01, 0.0001)
        up = round_price(b.close[rows] + tick)
        down = round_price(b.close[rows] - tick)
        close = np.where(up <= b.high[rows], up, np.maximum(down, b.low[rows]))
        volume = b.volume[rows] + delta
        vwap = round4((b.vwap[rows] * b.volume[rows] + close * delta) / volume)
        vwap = np.clip(vwap, b.low[rows], b.high[rows])
        with self._truth._lock:
            b.close[rows], b.volume[rows], b.vwap[rows] = close, volume, vwap
            b.trades[rows] += 1
        cols["c"], cols["v"], cols["vw"] = b.close, b.volume, b.vwap
        cols["av"] = cols["av"].copy()
        cols["av"][rows] += delta
        cols["z"] = np.rint(b.volume / np.maximum(b.trades, 1)).astype(np.int64)
        self._day.cum_v[b.sym_idx[rows]] += delta

    def fail_rest(self, n: int = 1, status: int = 429, retry_after: int = 1) -> None:
        """Make the next `n` REST requests fail with `status` (429 adds Retry-After)."""
        with self._lock:
            self._rest_faults.extend([(int(status), int(retry_after))] * n)

    def _take_rest_fault(self) -> tuple[int, int] | None:
        with self._lock:
            return self._rest_faults.popleft() if self._rest_faults else None


def malformed_frame(kind: str, symbol: str, oversized_bytes: int) -> tuple[bytes, bool]:
    """Return (payload, is_text) of one malformed frame of the given kind."""
    sym = symbol.encode()
    bar = {
        "ev": "AM",
        "sym": symbol,
        "v": 100,
        "av": 1000,
        "op": 10.0,
        "vw": 10.01,
        "o": 10.0,
        "c": 10.02,
        "h": 10.03,
        "l": 9.99,
        "a": 10.0,
        "z": 50,
        "s": 1_600_000_000_000,
        "e": 1_600_000_060_000,
    }
    if kind == "not_json":
        return b"this is not JSON", True
    if kind == "truncated":
        return b'[{"ev":"AM","sym":"' + sym + b'","v":12', True
    if kind == "object":
        return orjson.dumps(bar), True
    if kind == "missing_fields":
        return orjson.dumps([{"ev": "AM", "sym": symbol, "v": 100}]), True
    if kind == "wrong_types":
        wrong = {
            "ev": "AM",
            "sym": symbol,
            "v": "100",
            "av": None,
            "op": "x",
            "vw": "10.01",
            "o": "abc",
            "c": [],
            "h": {},
            "l": True,
            "a": "",
            "z": "50",
            "s": "2020-09-13T12:26:40Z",
            "e": None,
        }
        return orjson.dumps([wrong]), True
    if kind == "unknown_event":
        return orjson.dumps([{"ev": "ZZ", "sym": symbol, "x": 1}]), True
    if kind == "empty_array":
        return b"[]", True
    if kind == "binary":
        return orjson.dumps(
            [{"ev": "status", "status": "info", "message": "binary"}]
        ), False
    item = b'{"ev":"ZZ","pad":"' + b"x" * 1000 + b'"}'
    count = oversized_bytes // (len(item) + 1) + 1
    return b"[" + b",".join([item] * count) + b"]", True

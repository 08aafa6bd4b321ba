"""Write one batch of minute bars; set bad rows aside instead of failing.

Mixed into `ingest.writer.BarWriter` (it uses the writer's store, lock, stats
and outage handling). A batch keeps the last version of each (symbol, ts) key;
while spill files exist (an "episode") rows older than what is already stored
are skipped. Bad rows are not outages: a write that fails on the rows
themselves (value too long, constraint, wrong type; see
`ingest.quarantine.classify`) is split until each bad row is alone; the good
rows are written and the bad ones kept in `rejected_bars` with the error.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ingest.quarantine import OUTAGE, OutageDuringSplit, classify, screen, split_write
from ingest.spill import Item


def _stamps(rows: Sequence[Sequence[Any]]) -> list[int]:
    """Return the integer bar starts of rows (bad rows may have none)."""
    return [r[1] for r in rows if len(r) > 1 and type(r[1]) is int]


class BatchWrites:
    """The database side of BarWriter: merge, upsert, quarantine bad rows."""

    def _merge(self, items: Sequence[Item], episode: bool) -> list[Sequence[Any]]:
        """Return the newest row per key; during an episode drop stale rows."""
        if not episode:
            # The store keeps the last row per key; items are in submit order.
            if len(items) == 1:
                return list(items[0][1])
            return [row for _seq, rows in items for row in rows]
        latest: dict[Any, tuple[int, Sequence[Any]]] = {}
        for seq, rows in items:
            for row in rows:
                try:
                    latest[(row[0], row[1])] = (seq, row)
                except (TypeError, IndexError):  # a bad row: the write rejects it
                    latest[("\x00bad", id(row))] = (seq, row)
        written = self._written_seq
        out = []
        for key, (seq, row) in latest.items():
            if written.get(key, -1) > seq:
                self.stats["stale_rows_skipped"] += 1
                continue
            written[key] = seq
            out.append(row)
        return out

    def _upsert(self, rows: list[Sequence[Any]], source: str = "live") -> bool:
        """Write rows; False on an outage (caller spills), bad rows quarantined."""
        if self._screen_rows:
            rows = self._screen(rows, source)
            if not rows:
                return True
        stamps = _stamps(rows)
        # Newer than anything written so far: a new minute, no conflicts expected.
        fresh = bool(stamps) and min(stamps) > (self.newest_written_ts or -1)
        started = time.perf_counter()
        try:
            self.store.upsert_minute_tuples(
                rows,
                batch_size=len(rows),
                fresh=fresh,
                parallel=self.parallel,
                source=self.source,
            )
        except Exception as exc:  # an outage spills; bad rows are set aside
            if classify(exc) == OUTAGE:
                self._db_failed(exc)
                return False
            try:
                _written, bad = split_write(self._write_plain, rows, exc)
            except OutageDuringSplit as outage:
                self._db_failed(outage.cause)
                return False
            self._set_aside(bad, source)
            dropped = {id(row) for row, _reason in bad}
            rows = [r for r in rows if id(r) not in dropped]
            stamps = _stamps(rows)
        elapsed = time.perf_counter() - started
        self._failures = 0
        self.latencies.append(elapsed)
        self.stats["written_rows"] += len(rows)
        self.stats["batches"] += 1
        self.last_write_wall = time.time()
        self._dirty_since_checkpoint = True
        top = max(stamps, default=-1)
        if top > (self.newest_written_ts or -1):
            self.newest_written_ts = top
        return True

    def _write_plain(self, rows: list[Sequence[Any]]) -> None:
        self.store.upsert_minute_tuples(rows, batch_size=len(rows))

    def _screen(self, rows: list[Sequence[Any]], source: str) -> list[Sequence[Any]]:
        """Return the rows the schema accepts; quarantine the others."""
        bad = screen(rows)
        if not bad:
            return rows
        self._set_aside(bad, source)
        dropped = {id(row) for row, _reason in bad}
        return [r for r in rows if id(r) not in dropped]

    def _set_aside(self, bad: list[tuple[Sequence[Any], str]], source: str) -> None:
        """Quarantine bad rows and count them."""
        if not bad:
            return
        self.stats["data_errors"] += 1
        self.quarantine.put(bad, source)
        self.stats["quarantined_rows"] += len(bad)
        self.last_data_error = f"{len(bad)} row(s) quarantined: {bad[-1][1]}"

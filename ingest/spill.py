"""Append-only spill files: where the writer keeps bars it cannot write yet.

Spill format: one JSON line per submission, `[seq, [[symbol, ts_ms, o, h, l, c,
v, vwap, trades], ...]]`, in files `spill-<seq>.jsonl` under the spill dir.
Every append is flushed and fsynced; a torn last line is skipped on read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("ingest.writer")  # the writer's log, as before the split

SPILL_PREFIX = "spill-"
SPILL_SUFFIX = ".jsonl"

# One submission: its sequence number and its bar rows.
Item = tuple[int, Sequence[Sequence[Any]]]


class SpillLog:
    """Append-only spill files; one writer at a time (callers hold a lock)."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self._fh: Any = None
        self._path: Path | None = None

    def files(self) -> list[Path]:
        """Return spill files, oldest first."""
        if not self.dir.is_dir():
            return []
        return sorted(
            p
            for p in self.dir.iterdir()
            if p.name.startswith(SPILL_PREFIX) and p.name.endswith(SPILL_SUFFIX)
        )

    def append(self, items: Sequence[Item]) -> int:
        """Append submissions durably (flush + fsync); return the rows written."""
        if not items:
            return 0
        if self._fh is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._path = self.dir / f"{SPILL_PREFIX}{items[0][0]:020d}{SPILL_SUFFIX}"
            self._fh = open(self._path, "ab")  # noqa: SIM115 - kept open on purpose
        data = b"".join(orjson.dumps([seq, list(rows)]) + b"\n" for seq, rows in items)
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return sum(len(rows) for _seq, rows in items)

    def rotate(self) -> None:
        """Close the current file so later appends start a new one."""
        if self._fh is not None:
            self._fh.close()
        self._fh = None
        self._path = None

    @staticmethod
    def read(path: Path) -> Iterator[Item]:
        """Yield the submissions of one spill file, skipping a torn last line."""
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                try:
                    seq, rows = orjson.loads(line)
                    item = int(seq), [tuple(r) for r in rows]
                except (orjson.JSONDecodeError, ValueError, TypeError):
                    log.warning("skipping unreadable line %d of %s", number, path)
                    continue
                yield item

    @staticmethod
    def count_rows(path: Path) -> int:
        """Return how many bar rows one spill file holds."""
        return sum(len(rows) for _seq, rows in SpillLog.read(path))

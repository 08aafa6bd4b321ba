"""Benchmark: import the 606k-row S&P 500 daily file into SQLite and PostgreSQL.

Measures `tickstock import-daily` end to end (read the CSV.gz, validate every
row, write in one transaction) into an empty database, then a re-import of the
same file (every row conflicts, nothing changes), and the demo history
(generate + write 519 symbols x 320 sessions). Target: >= 100,000 rows/s for
the import on each backend. PostgreSQL uses a scratch database created next to
BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and
is skipped when the server is unreachable.
Run: `.venv/bin/python bench/bench_history.py [--quick]` (`--quick`: one run each).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import pg_drop, pg_scratch, pg_unreachable, sp500_daily  # noqa: E402
from dashapp.store import Store  # noqa: E402
from ingest.demo import demo_sessions, generate_demo  # noqa: E402
from ingest.history import DAILY, import_files  # noqa: E402

DATA = sp500_daily()  # TICKSTOCK_SHARED_DATA, else ../shared/data
TARGET_ROWS_PER_S = 100_000
DEMO_TARGET_S = 5.0
REPEATS = 3
PG_DB = "tickstock_bench_history"
DEMO_END = dt.date(2026, 11, 24)


def _pg_scratch(skipped: dict[str, str]) -> Callable[[], Store] | None:
    """Return a factory of empty stores in a scratch PostgreSQL database."""
    try:
        url = pg_scratch(PG_DB)
    except Exception as exc:  # no server: report and skip
        skipped["import_rows_per_s_postgresql"] = pg_unreachable(exc)
        return None

    def fresh() -> Store:
        store = Store(url)
        store.drop_all()
        store.init_schema()
        return store

    return fresh


def _sqlite_factory(tmp: Path) -> Callable[[], Store]:
    counter = iter(range(1_000))

    def fresh() -> Store:
        store = Store(f"sqlite:///{tmp / f'bench{next(counter)}.db'}")
        store.init_schema()
        return store

    return fresh


Timing = tuple[list[float], list[float]]  # wall seconds, client CPU seconds


def _timed(fn: Callable[[], object], timing: Timing) -> object:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    timing[0].append(time.perf_counter() - wall)
    timing[1].append(time.process_time() - cpu)
    return out


def _time_import(
    fresh: Callable[[], Store], repeats: int = REPEATS
) -> tuple[Timing, Timing, int]:
    """Return (first-import timing, re-import timing, rows) over `repeats` runs."""
    first: Timing = ([], [])
    again: Timing = ([], [])
    rows = 0
    for _ in range(repeats):
        store = fresh()
        result = _timed(lambda s=store: import_files(s, [DATA], DAILY), first)
        rows = result.written
        assert result.committed and rows == 606_114, result
        _timed(lambda s=store: import_files(s, [DATA], DAILY), again)
        store.dispose()
    return first, again, rows


def _time_demo(
    fresh: Callable[[], Store], repeats: int = REPEATS
) -> tuple[Timing, int]:
    days = demo_sessions(320, DEMO_END)
    timing: Timing = ([], [])
    rows = 0
    for _ in range(repeats):
        store = fresh()
        rows = _timed(
            lambda s=store: s.bulk_upsert_daily(generate_demo(days), source="demo"),
            timing,
        )
        store.dispose()
    return timing, rows


def _row(name: str, rows: int, timing: Timing, target: float) -> str:
    times, cpu = timing
    median = statistics.median(times)
    rate = rows / median
    return (
        f"{name:<28} {rows:>9,} {median:>8.2f} {max(times):>8.2f} "
        f"{statistics.median(cpu):>6.2f} {rate:>10,.0f} {target:>9,.0f} "
        f"{rate / target:>6.2f}"
    )


def main(argv: list[str] | None = None) -> dict:
    """Run the import and demo benchmarks, print one table, return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each")
    args = parser.parse_args([] if argv is None else argv)
    repeats = 1 if args.quick else REPEATS
    if not DATA.is_file():
        print(f"skipped: {DATA} not found")
        reason = f"{DATA} not found (set TICKSTOCK_SHARED_DATA)"
        return {"skipped": {"import_rows_per_s_sqlite": reason}}
    out: dict = {"skipped": {}}
    print(
        f"{'benchmark':<28} {'rows':>9} {'median s':>8} {'p99 s':>8} "
        f"{'cpu s':>6} {'rows/s':>10} {'target':>9} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", _sqlite_factory(Path(tmp)))]
        pg = _pg_scratch(out["skipped"])
        if pg is not None:
            backends.append(("postgresql", pg))
        try:
            for name, fresh in backends:
                first, again, rows = _time_import(fresh, repeats)
                print(_row(f"import-daily {name}", rows, first, TARGET_ROWS_PER_S))
                print(_row(f"re-import (no-op) {name}", rows, again, TARGET_ROWS_PER_S))
                demo, demo_rows = _time_demo(fresh, repeats)
                demo_target = demo_rows / DEMO_TARGET_S
                print(_row(f"demo 320 sessions {name}", demo_rows, demo, demo_target))
                out[f"import_rows_per_s_{name}"] = rows / statistics.median(first[0])
                out[f"import_s_{name}"] = statistics.median(first[0])
                out[f"reimport_rows_per_s_{name}"] = rows / statistics.median(again[0])
                out[f"demo_s_{name}"] = statistics.median(demo[0])
        finally:
            if pg is not None:
                pg_drop(PG_DB)
    print(
        f"(p99 = slowest of {repeats}; cpu = this process, median; "
        f"demo target = {DEMO_TARGET_S:.0f} s; load average {os.getloadavg()[0]:.1f})"
    )
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

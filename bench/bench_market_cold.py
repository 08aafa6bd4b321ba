"""Benchmark: cold and warm `market_state("sp500")` on real imported daily data.

Imports the real daily files of ../shared/data/daily with `tickstock
import-daily` into a temporary SQLite database (or reuses BENCH_MARKET_DB) and
into a scratch PostgreSQL database beside BENCH_DATABASE_URL / TEST_DATABASE_URL
(skipped when unreachable), then times `market_state("sp500")` from each cold
(empty in-process caches) and warm (cached engine, new data version of the
live part only). Target: cold start under 5 s, warm under 0.25 s.
Run: `.venv/bin/python bench/bench_market_cold.py [--quick]` (`--quick`: one run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import pg_drop, pg_scratch, pg_unreachable, shared_data  # noqa: E402

DATA = shared_data() / "daily"  # TICKSTOCK_SHARED_DATA, else ../shared/data
FILES = (
    "sp500_daily_2018-01-02_2021-04-21_raw_adj.csv.gz",
    "sp500_etfs_daily_2020-07-27_2025-04-04_iexvol.csv.gz",
    "spy_daily_1993-01-29_2026-08-21_adj.csv.gz",
    "sector_etfs_daily_1998-12-22_2026-02-06_adj.csv.gz",
    "us_largecaps_etfs_daily_2022-01-03_2026-08-21_adj.csv.gz",
)
COLD_TARGET_S = 5.0
WARM_TARGET_S = 0.25
REPEATS = 3
PG_DB = "tickstock_bench_cold"


def _import(url: str) -> str:
    """Import the real daily files into the database at `url`; return the URL."""
    env = {**os.environ, "DATABASE_URL": url}
    files = [str(DATA / f) for f in FILES if (DATA / f).exists()]
    tickstock = Path(sys.executable).with_name("tickstock")
    subprocess.run([str(tickstock), "import-daily", "--skip-bad", *files],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return url


def _sqlite() -> str:
    """Return a SQLite URL holding the real daily history (imported once)."""
    path = os.environ.get("BENCH_MARKET_DB")
    if path and Path(path).exists():
        return f"sqlite:///{path}"
    return _import(f"sqlite:///{Path(tempfile.mkdtemp()) / 'real.db'}")


def _one_run(url: str) -> tuple[float, float, int]:
    """Time one cold and one warm market_state in this process (caches cleared)."""
    from dashapp import market
    from dashapp.store import Store

    market._engines.clear()
    try:
        from dashapp.market import stage_cache
    except ImportError:  # before whole-history stages existed
        pass
    else:
        stage_cache.clear()
    store = Store(url)
    started = time.perf_counter()
    state = market.market_state("sp500", store=store, cache=None, live=None)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    market.market_state("sp500", store=store, cache=None, live=None)
    warm = time.perf_counter() - started
    store.dispose()
    weeks = state.stages["weeks_in_stage"].max()
    return cold, warm, int(weeks) if weeks == weeks else 0


def main(argv: list[str] | None = None) -> dict:
    """Print cold / warm market_state timings for the S&P 500 universe."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run")
    args = parser.parse_args([] if argv is None else argv)
    if not any((DATA / f).exists() for f in FILES):
        print(f"skipped: no daily files in {DATA}")
        return {"skipped": {"market_state_cold_s": f"no daily files in {DATA}"}}
    runs = 1 if args.quick else REPEATS
    out: dict = {"skipped": {}}
    print(f"{'case':<36}{'median s':>10}{'max s':>10}{'target s':>10}{'ratio':>8}")
    out.update(_report("sqlite", _sqlite(), runs))
    try:
        url = pg_scratch(PG_DB)
    except Exception as exc:  # no server: report and skip
        out["skipped"]["market_state_cold_s_postgresql"] = pg_unreachable(exc)
    else:
        try:
            out.update(_report("postgresql", _import(url), runs))
        finally:
            pg_drop(PG_DB)
    return out


def _report(name: str, url: str, runs: int) -> dict:
    """Time `runs` cold and warm market states from one database; print and return."""
    timed = [_one_run(url) for _ in range(runs)]
    cold = [r[0] for r in timed]
    warm = [r[1] for r in timed]
    cases = (
        (f"market_state cold, {name}", cold, COLD_TARGET_S),
        (f"market_state warm, {name}", warm, WARM_TARGET_S),
    )
    for case, values, target in cases:
        med = statistics.median(values)
        print(f"{case:<36}{med:>10.3f}{max(values):>10.3f}{target:>10.2f}"
              f"{med / target:>8.2f}")  # fmt: skip
    print(f"max weeks_in_stage ({name}): {timed[-1][2]}")
    # The SQLite figures keep their first names (earlier JSON readers).
    suffix = "" if name == "sqlite" else f"_{name}"
    return {
        f"market_state_cold_s{suffix}": statistics.median(cold),
        f"market_state_cold_max_s{suffix}": max(cold),
        f"market_state_warm_s{suffix}": statistics.median(warm),
        f"market_state_warm_max_s{suffix}": max(warm),
    }


if __name__ == "__main__":
    main(sys.argv[1:])

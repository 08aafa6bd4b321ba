"""Benchmark the analytics snapshot: full, incremental refresh and peak memory.

Also prints, without a bar, the whole US market's snapshot (11,000 x 300).
Synthetic, deterministic market: N stocks (random walks, 3% listed mid-window, a few
one-day gaps) plus SPY and the 11 sector ETFs, 300 sessions, meta with sectors and
sub-industries. Run: `.venv/bin/python bench/bench_analytics.py [--quick]`
(`--quick`: fewer timed runs, no peak-RSS child). main() returns the figures.
"""

from __future__ import annotations

import os

# Keep BLAS (used for the EMA matrix product) single-threaded, as the app does
# (dashapp.factory): spare BLAS threads spin and take the core the snapshot
# worker thread uses. main() also limits an already loaded BLAS (run_all.py).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import SECTOR_ETFS, SnapshotEngine, market_snapshot  # noqa: E402

SESSIONS = 300
SYMBOLS = 5_000
MEMORY_SYMBOLS = 10_000
US_MARKET_SYMBOLS = 11_000  # the whole US market: printed, no bar
# Bars of issue 16 (performance pass) on a quiet 2-core machine; issue 8 had 100/25.
FULL_TARGET_MS = 50.0
INCREMENTAL_TARGET_MS = 10.0
RSS_TARGET_MB = 1_536.0
FULL_RUNS = 11
INCREMENTAL_RUNS = 41
QUICK_RUNS = 3
SEED = 20240501
LATE_LISTING_SHARE = 0.03
GAP_COUNT = 50


def synthetic_market(
    n_stocks: int, sessions: int = SESSIONS, seed: int = SEED
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Return (panels, meta) for a deterministic random-walk market."""
    rng = np.random.default_rng(seed)
    stocks = [f"S{i:05d}" for i in range(n_stocks)]
    symbols = stocks + ["SPY", *SECTOR_ETFS]
    n = len(symbols)
    index = pd.bdate_range("2023-01-02", periods=sessions, name="date")
    steps = rng.normal(0.0003, 0.02, (sessions, n))
    close = 50.0 * np.exp(np.cumsum(steps, axis=0)) * rng.uniform(0.2, 5.0, n)
    opens = close * np.exp(rng.normal(0, 0.005, (sessions, n)))
    high = np.maximum(opens, close) * (1 + np.abs(rng.normal(0, 0.01, (sessions, n))))
    low = np.minimum(opens, close) * (1 - np.abs(rng.normal(0, 0.01, (sessions, n))))
    volume = np.round(rng.lognormal(13, 1, (sessions, n)))
    late = rng.choice(n_stocks, int(n_stocks * LATE_LISTING_SHARE), replace=False)
    starts = rng.integers(1, sessions - 5, len(late))
    gaps = (
        rng.integers(0, sessions - 1, GAP_COUNT),
        rng.integers(0, n_stocks, GAP_COUNT),
    )
    panels = {}
    for name, arr in (
        ("open", opens),
        ("high", high),
        ("low", low),
        ("close", close),
        ("volume", volume),
    ):
        arr = arr.copy()
        for col, start in zip(late, starts, strict=True):
            arr[:start, col] = np.nan
        arr[gaps] = np.nan
        panels[name] = pd.DataFrame(arr, index=index, columns=pd.Index(symbols))
    sectors = list(SECTOR_ETFS.values())
    meta = pd.DataFrame(
        {
            "symbol": stocks,
            "sector": [sectors[i % len(sectors)] for i in range(n_stocks)],
            "sub_industry": [f"Industry {i % 120:03d}" for i in range(n_stocks)],
        }
    )
    return panels, meta


def timings(fn, runs: int) -> tuple[list[float], list[float]]:
    """Return (wall ms, CPU ms) of `runs` calls of fn."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def p99(values: list[float]) -> float:
    """Return the 99th percentile (the max for short samples)."""
    return float(np.percentile(values, 99))


def bench_full(panels, meta, runs: int = FULL_RUNS) -> tuple[list[float], list[float]]:
    """Time a full market_snapshot (wall ms, CPU ms)."""
    market_snapshot(panels, meta)  # warm-up
    return timings(lambda: market_snapshot(panels, meta), runs)


def bench_incremental(panels, meta, runs: int = INCREMENTAL_RUNS):
    """Time engine.update with a fresh last row per call; return (wall, CPU, build)."""
    history = {k: v.iloc[:-1] for k, v in panels.items()}
    last = {k: v.iloc[-1] for k, v in panels.items()}
    date = panels["close"].index[-1]
    start = time.perf_counter()
    engine = SnapshotEngine(history, meta)
    build_ms = (time.perf_counter() - start) * 1000
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(runs + 1):
        move = np.exp(rng.normal(0, 0.002, len(last["close"])))
        rows.append({k: (v * move if k != "volume" else v) for k, v in last.items()})
    engine.update(date, rows[0])
    it = iter(rows[1:])
    wall, cpu = timings(lambda: engine.update(date, next(it)), runs)
    return wall, cpu, build_ms


def peak_rss_child(n_stocks: int) -> None:
    """Build a market of n_stocks, compute a snapshot and print peak RSS in MB."""
    panels, meta = synthetic_market(n_stocks)
    market_snapshot(panels, meta)
    print(json.dumps({"peak_rss_mb": own_peak_rss_kb() / 1024}))


def own_peak_rss_kb() -> float:
    """Return this process's own peak RSS in kB.

    Linux's ru_maxrss of a spawned child starts from its parent's RSS at the
    spawn (kept across exec), so a big parent inflates it; VmHWM belongs to the
    child's own memory map.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def peak_rss(n_stocks: int) -> float:
    """Return the peak RSS (MB) of a fresh process computing one snapshot."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(n_stocks)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def row(figure: str, values: list[float] | float, target: float, unit: str) -> str:
    """Format one table row: figure, median, p99/max, target, ratio to target."""
    if isinstance(values, float):
        med = worst = values
    else:
        med, worst = statistics.median(values), p99(values)
    ratio = med / target
    return (
        f"{figure:<46} {med:>9.1f} {worst:>9.1f} {target:>8.0f} {unit:<3}"
        f" {ratio:>6.2f} {'ok' if ratio <= 1 else 'OVER'}"
    )


def info(figure: str, values: list[float]) -> str:
    """Format a figure printed without a bar: median and p99/max only."""
    return f"{figure:<46} {statistics.median(values):>9.1f} {p99(values):>9.1f}"


def figures(values: list[float]) -> tuple[float, float]:
    """Return (median, p99) of a sample."""
    return statistics.median(values), p99(values)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmarks, print the table and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--symbols", type=int, default=SYMBOLS)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--quick", action="store_true", help="3 runs each, no RSS")
    args = parser.parse_args([] if argv is None else argv)
    if args.rss_child:
        peak_rss_child(args.rss_child)
        return {}
    threadpool_limits(1, user_api="blas")
    blas = max((p["num_threads"] for p in threadpool_info()), default=1)
    panels, meta = synthetic_market(args.symbols)
    runs = QUICK_RUNS if args.quick else FULL_RUNS
    full, full_cpu = bench_full(panels, meta, runs)
    incremental, incremental_cpu, build_ms = bench_incremental(
        panels, meta, QUICK_RUNS if args.quick else INCREMENTAL_RUNS
    )
    n, t = args.symbols, SESSIONS
    load = os.getloadavg()[0]
    print(
        f"analytics snapshot: {n} stocks + 12 ETFs x {t} sessions, one process "
        f"(+ the snapshot worker thread), BLAS {blas} thread(s), load average "
        f"{load:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'figure':<46} {'median':>9} {'p99/max':>9} {'target':>8} {'':<3}"
        f" {'ratio':>6}"
    )
    print(row(f"full market_snapshot {n}x{t}, wall (ms)", full, FULL_TARGET_MS, "ms"))
    # CPU time exceeds wall time with the worker thread; the bars are wall time.
    print(info("  same, CPU time of the process (ms)", full_cpu))
    print(
        row(
            f"incremental engine.update {n}x{t}, wall (ms)",
            incremental,
            INCREMENTAL_TARGET_MS,
            "ms",
        )
    )
    print(info("  same, CPU time of the process (ms)", incremental_cpu))
    print(f"{'  (SnapshotEngine build, once per session, ms)':<46} {build_ms:>9.1f}")
    out = {"snapshot_symbols": n, "snapshot_sessions": t}
    for key, values in (
        ("snapshot_full", full),
        ("snapshot_full_cpu", full_cpu),
        ("snapshot_incremental", incremental),
        ("snapshot_incremental_cpu", incremental_cpu),
    ):
        out[f"{key}_ms"], out[f"{key}_p99_ms"] = figures(values)
    out["snapshot_engine_build_ms"] = build_ms
    del panels, meta
    us_panels, us_meta = synthetic_market(US_MARKET_SYMBOLS)
    us, us_cpu = bench_full(us_panels, us_meta, runs)
    print(info(f"full market_snapshot {US_MARKET_SYMBOLS}x{t} (US), wall (ms)", us))
    print(info("  same, CPU time of the process (ms)", us_cpu))
    out["snapshot_us_market_symbols"] = US_MARKET_SYMBOLS
    out["snapshot_us_market_ms"], out["snapshot_us_market_p99_ms"] = figures(us)
    if args.skip_rss or args.quick:
        out["skipped"] = {"snapshot_peak_rss_mb": "--quick/--skip-rss"}
    else:
        rss = peak_rss(MEMORY_SYMBOLS)
        label = f"peak RSS {MEMORY_SYMBOLS}x{t} snapshot (MB)"
        print(row(label, rss, RSS_TARGET_MB, "MB"))
        out["snapshot_peak_rss_mb"] = rss
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

"""Benchmark live ingest: decode + roll-up, full-market minute writes, end to end.

1. Decode + roll-up: `A` frames recorded from the simulator (real protocol
   bytes) are replayed through `BarAssembler.feed` on one pinned core, with
   validation and live-bar publishing as in the service (whose start loads the
   session calendar: so does this, before timing). Per-event latency is each
   frame's processing time divided by its events. Targets: >= 500k events/s,
   p99 <= 10 us an event.
2. Write one full-market minute (11,000 bars) through the writer thread
   (submit -> committed) on SQLite and PostgreSQL, with a reader thread in the
   same process querying the newest bar of a symbol all along; the reader
   stall is its p99 latency during writes minus its median when idle.
3. End to end: the simulator in real time (wall clock), the ingest service,
   and a poller; latency = when a bar is first queryable - when its minute
   closed.

Run: `.venv/bin/python bench/bench_ingest.py [--quick] [--minutes N]`.
PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/test, own schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashapp.settings import load_settings  # noqa: E402
from dashapp.store import Store  # noqa: E402
from dashapp.store.livebars import LiveBarStore  # noqa: E402
from ingest import sessions  # noqa: E402
from ingest.bars import BarAssembler  # noqa: E402
from ingest.service import IngestOptions, IngestService  # noqa: E402
from ingest.simulator import Simulator  # noqa: E402
from ingest.validate import FeedValidator  # noqa: E402
from ingest.writer import BarWriter  # noqa: E402

DECODE_SYMBOLS = 500
DECODE_MINUTES = 5
FRAME_EVENTS = 100
DECODE_PASSES = 5
DECODE_TARGET_EPS = 500_000
DECODE_P99_TARGET_US = 10.0
MARKET_SYMBOLS = 11_000
WRITE_MINUTES = 30
PREFILL_MINUTES = 30
GAP_S = 1.0  # between minutes (live: 60 s)
READ_EVERY_S = 0.01  # a busy dashboard: ~100 small reads a second
# Bars of issue 16 for the p99 of one full-market minute write, per database.
WRITE_TARGET_MS = {"postgres": 150.0, "sqlite": 300.0}
STALL_TARGET_MS = 5.0
E2E_SYMBOLS = 500
E2E_TARGET_S = 3.0
POLL_S = 0.05
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "tickstock_bench_ingest"
BASE_MINUTE = 1_795_530_600_000


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ----------------------------------------------------------- decode + roll-up
async def _record(sim: Simulator, minutes: int) -> list[bytes]:
    from websockets.asyncio.client import connect

    frames: list[bytes] = []
    async with connect(sim.ws_url, max_size=2**24, proxy=None) as ws:
        await ws.recv()
        await ws.send(orjson.dumps({"action": "auth", "params": "bench"}).decode())
        await ws.recv()
        await ws.send(orjson.dumps({"action": "subscribe", "params": "A.*"}).decode())
        await ws.recv()
        done = asyncio.get_running_loop().run_in_executor(None, sim.advance, minutes)
        while True:
            try:
                frame = await asyncio.wait_for(ws.recv(decode=False), 1.0)
            except TimeoutError:
                if done.done():
                    break
                continue
            frames.append(frame)
        await done
    return frames


def record_a_frames(symbols: int, minutes: int) -> list[bytes]:
    """Return the A frames the simulator sends for `minutes` of `symbols`."""
    sim = Simulator(symbols, seed=11, speed="fast", frame_events=FRAME_EVENTS)
    sim.start()
    try:
        return asyncio.run(_record(sim, minutes))
    finally:
        sim.stop()


def bench_decode(quick: bool) -> dict:
    """Replay recorded A frames through the assembler on one pinned core."""
    frames = record_a_frames(DECODE_SYMBOLS, 2 if quick else DECODE_MINUTES)
    decoded = [orjson.loads(f) for f in frames]
    sizes = [len(d) for d in decoded]
    events = sum(sizes)
    # Validated like live ingest, against the simulator's clock.
    symbols = sorted({e["sym"] for d in decoded for e in d})
    sim_now = max(e["e"] for e in decoded[-1])
    sessions.warm()  # as the service does at start, not on the first frame
    pinned = hasattr(os, "sched_setaffinity")
    if pinned:
        cores = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(cores)})
    rates, cpu_rates, wall_us, cpu_us = [], [], [], []
    try:
        for _ in range(2 if quick else DECODE_PASSES):
            validator = FeedValidator(symbols, clock_ms=lambda: sim_now)
            asm = BarAssembler(lambda rows: None, LiveBarStore(), validator=validator)
            feed = asm.feed
            wall, cpu = time.perf_counter_ns, time.thread_time_ns
            started, started_cpu = wall(), cpu()
            for i, frame in enumerate(frames):
                t0, c0 = wall(), cpu()
                feed(frame)
                wall_us.append((wall() - t0) / 1000 / sizes[i])
                cpu_us.append((cpu() - c0) / 1000 / sizes[i])
                if i % 250 == 0:  # the service publishes live bars every 0.25 s
                    asm.publish(0)
            rates.append(events / ((wall() - started) / 1e9))
            cpu_rates.append(events / ((cpu() - started_cpu) / 1e9))
            assert asm.counts["events_A"] == events and asm.counts["malformed"] == 0
    finally:
        if pinned:
            os.sched_setaffinity(0, cores)
    return {
        "events": events,
        "frames": len(frames),
        "eps_median": statistics.median(rates),
        "eps_min": min(rates),
        "cpu_eps_median": statistics.median(cpu_rates),
        "cpu_eps_min": min(cpu_rates),
        "us_p50": pct(wall_us, 0.5),
        "us_p99": pct(wall_us, 0.99),
        "cpu_us_p50": pct(cpu_us, 0.5),
        "cpu_us_p99": pct(cpu_us, 0.99),
    }


# --------------------------------------------------------- full-market writes
def pg_url() -> str:
    """Return the benchmark PostgreSQL URL bound to its own schema."""
    import sqlalchemy

    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "TEST_DATABASE_URL", PG_DEFAULT
    )
    engine = sqlalchemy.create_engine(
        base.replace("postgresql://", "postgresql+psycopg://")
    )
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {PG_SCHEMA}"))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{PG_SCHEMA}"


def drop_pg_schema() -> None:
    """Remove the benchmark schema."""
    import sqlalchemy

    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "TEST_DATABASE_URL", PG_DEFAULT
    )
    engine = sqlalchemy.create_engine(
        base.replace("postgresql://", "postgresql+psycopg://")
    )
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    engine.dispose()


def market_minute(minute: int, k: int) -> list[tuple]:
    """Return one minute of bars for the whole market."""
    return [
        (f"S{i:05d}", minute, 10.0 + k, 10.5 + k, 9.5 + k, 10.2 + k, 1000 + i, 10.1, 9)
        for i in range(MARKET_SYMBOLS)
    ]


class Reader(threading.Thread):
    """A dashboard-like reader in this process: the newest bar of one symbol."""

    def __init__(self, store: Store) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.time()
            self.store.read_minute(["S00042"], limit=1, newest_first=True)
            self.samples.append((t0, time.time() - t0))
            time.sleep(READ_EVERY_S)


READER_SCRIPT = """
import json, select, sys, time
sys.path.insert(0, sys.argv[2])
from dashapp.store import Store
store, out = Store(sys.argv[1]), []
while not select.select([sys.stdin], [], [], 0.01)[0]:
    t0 = time.time()
    store.read_minute(["S00042"], limit=1, newest_first=True)
    out.append((t0, time.time() - t0))
print(json.dumps(out))
"""


class ReaderProcess:
    """The same reader in another process (another web worker): no shared GIL."""

    def __init__(self, url: str) -> None:
        root = str(Path(__file__).resolve().parents[1])
        self.proc = subprocess.Popen(
            [sys.executable, "-c", READER_SCRIPT, url, root],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.samples: list[tuple[float, float]] = []

    def finish(self) -> None:
        out, _ = self.proc.communicate("stop\n", timeout=30)
        self.samples = [tuple(x) for x in json.loads(out)]


def _write_minutes(writer: BarWriter, first: int, count: int) -> tuple[list, list]:
    windows, latencies = [], []
    for k in range(first, first + count):
        rows = market_minute(BASE_MINUTE + k * 60_000, k)
        before = writer.stats["written_rows"]
        t0 = time.time()
        writer.submit(rows)
        while writer.stats["written_rows"] < before + len(rows):
            time.sleep(0.0005)
        t1 = time.time()
        windows.append((t0, t1))
        latencies.append(t1 - t0)
        time.sleep(GAP_S)  # idle reads for the baseline; SQLite checkpoints
    return windows, latencies


def _stall(samples: list[tuple[float, float]], windows: list) -> dict:
    during, idle = [], []
    for t0, lat in samples:
        overlaps = any(t0 < w1 and t0 + lat > w0 for w0, w1 in windows)
        (during if overlaps else idle).append(lat)
    idle_p50 = pct(idle, 0.5) * 1000
    busy_p99 = pct(during, 0.99) * 1000 if during else 0.0
    return {
        "idle_p50": idle_p50,
        "busy_p99": busy_p99,
        "stall": max(0.0, busy_p99 - idle_p50),
        "reads": len(during),
    }


def bench_write(kind: str, quick: bool) -> dict:
    """Time full-market minutes through the writer with concurrent readers."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    url = f"sqlite:///{tmp / 'bench.db'}" if kind == "sqlite" else pg_url()
    store = Store(url)
    store.init_schema()
    for k in range(PREFILL_MINUTES):
        store.upsert_minute_tuples(market_minute(BASE_MINUTE - (k + 1) * 60_000, k))
    store.checkpoint()
    writer = BarWriter(store, tmp / "spill").start()
    per_phase = 8 if quick else WRITE_MINUTES // 2
    # Phase 1: the reader is a thread of this process (co-started web app).
    reader = Reader(store)
    reader.start()
    time.sleep(0.5)
    windows, latencies = _write_minutes(writer, 0, per_phase)
    reader.stop.set()
    reader.join()
    in_proc = _stall(reader.samples, windows)
    # Phase 2: the reader is another process.
    other = ReaderProcess(url)
    time.sleep(2.0)
    windows2, latencies2 = _write_minutes(writer, per_phase, per_phase)
    other.finish()
    out_proc = _stall(other.samples, windows2)
    writer.stop()
    everything = latencies + latencies2
    store.dispose()
    if kind == "postgres":
        drop_pg_schema()
    return {
        "kind": kind,
        "ms_p50": pct(everything, 0.5) * 1000,
        "ms_p99": pct(everything, 0.99) * 1000,
        "upsert_ms_p99": pct(list(writer.latencies), 0.99) * 1000,
        "in_proc": in_proc,
        "out_proc": out_proc,
    }


# ---------------------------------------------------------------- end to end
def busy_start() -> pd.Timestamp:
    """Return 10:30 ET of the latest past session (a busy time of day)."""
    day = dt.date.today()
    for back in range(1, 15):
        bounds = sessions.session_bounds(day - dt.timedelta(days=back))
        if bounds is not None:
            return bounds.open + pd.Timedelta(hours=1)
    raise RuntimeError("no recent session")


def bench_end_to_end(minutes: float) -> dict:
    """Simulator at 1x during a busy session -> ingest -> SQLite; bar latency.

    The simulator runs at real speed from 10:30 ET of the latest session, so
    its clock is the wall clock shifted by a constant; a bar's minute closes
    at (ts + 60 s) on the simulated clock, mapped back to wall time.
    """
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-e2e-"))
    store = Store(f"sqlite:///{tmp / 'e2e.db'}")
    store.init_schema()
    sim = Simulator(E2E_SYMBOLS, seed=5, speed=1.0, start=busy_start())
    sim.start()
    settings = load_settings(
        {"TICKSTOCK_DATA_DIR": str(tmp), "INGEST_SECONDS": "true"}, env_file=None
    )
    service = IngestService(
        settings,
        store,
        options=IngestOptions(),
        symbols=list(sim.symbols),
        ws_url=sim.ws_url,
        rest_url=sim.rest_url,
        api_key="bench",
    ).start()
    seen: dict[tuple[str, int], float] = {}
    started = time.time()
    try:
        service.wait_streaming(10)
        time.sleep(0.5)
        shift = sim.now().value / 1e9 - time.time()  # simulated minus wall seconds
        polling_from = time.time()
        while time.time() - started < minutes * 60:
            frame = store.read_minute(start=sim.now() - pd.Timedelta(minutes=3))
            now = time.time()
            for sym, ts in zip(frame["symbol"], frame["ts"], strict=True):
                seen.setdefault((sym, int(ts.value // 1_000_000)), now)
            time.sleep(POLL_S)
        health = service.health()
    finally:
        service.stop()
        sim.stop()
        store.dispose()
    # Only minutes that closed while the poller was already watching.
    closes = {k: (k[1] + 60_000) / 1000 - shift for k in seen}
    lat = [seen[k] - close for k, close in closes.items() if close > polling_from]
    return {
        "bars": len(lat),
        "minutes": len({k[1] for k, c in closes.items() if c > polling_from}),
        "s_p50": pct(lat, 0.5) if lat else float("nan"),
        "s_p99": pct(lat, 0.99) if lat else float("nan"),
        "events_per_s": health["events_per_s"],
    }


# ---------------------------------------------------------------------- main
def row(name: str, median: float, p99: float, target: float, unit: str, higher=False):
    ratio = (median / target) if higher else (p99 / target)
    ok = ratio >= 1 if higher else ratio <= 1
    print(
        f"{name:<44} {median:>11.2f} {p99:>11.2f} {target:>9.1f} {unit:<6} "
        f"{ratio:>6.2f} {'ok' if ok else 'MISS'}"
    )
    return ok


def main(argv: list[str] | None = None) -> dict:
    """Run the ingest benchmarks, print a table (median, p99, ratio to target).

    Return the figures; `ingest_targets_met` tells whether every target held.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--minutes", type=float, default=None, help="end-to-end run")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args(argv or [])
    logging.basicConfig(level=logging.WARNING)
    e2e_minutes = args.minutes or (1.5 if args.quick else 4.0)
    skipped: dict[str, str] = {}

    decode = bench_decode(args.quick)
    writes = [bench_write("sqlite", args.quick)]
    try:
        writes.append(bench_write("postgres", args.quick))
    except Exception as exc:  # no PostgreSQL here: say so, keep going
        print(f"(PostgreSQL write benchmark skipped: {type(exc).__name__}: {exc})")
        reason = f"PostgreSQL unreachable: {type(exc).__name__}: {exc}"
        skipped["minute_write_p99_ms_postgresql"] = reason.splitlines()[0]
    e2e = None if args.skip_e2e else bench_end_to_end(e2e_minutes)

    print(
        f"\ndecode+roll-up: {decode['events']:,} A events in {decode['frames']:,} "
        f"frames of <= {FRAME_EVENTS}, {DECODE_SYMBOLS} symbols, one core"
    )
    header = (
        f"{'metric':<44} {'median':>11} {'p99':>11} {'target':>9} {'unit':<6} ratio"
    )
    print(header)
    print("-" * len(header))
    ok = row(
        "decode+roll-up throughput, wall (events/s)",
        decode["eps_median"], decode["eps_min"], DECODE_TARGET_EPS, "ev/s", True,
    )  # fmt: skip
    row(
        "decode+roll-up throughput, CPU time (events/s)",
        decode["cpu_eps_median"], decode["cpu_eps_min"], DECODE_TARGET_EPS, "ev/s",
        True,
    )  # fmt: skip
    ok &= row(
        "decode+roll-up per event, wall",
        decode["us_p50"], decode["us_p99"], DECODE_P99_TARGET_US, "us",
    )  # fmt: skip
    row(
        "decode+roll-up per event, CPU time",
        decode["cpu_us_p50"], decode["cpu_us_p99"], DECODE_P99_TARGET_US, "us",
    )  # fmt: skip
    for w in writes:
        ok &= row(
            f"write 11,000-bar minute, {w['kind']} (submit->commit)",
            w["ms_p50"], w["ms_p99"], WRITE_TARGET_MS[w["kind"]], "ms",
        )  # fmt: skip
        ok &= row(
            f"reader stall, {w['kind']}, other process",
            w["out_proc"]["idle_p50"], w["out_proc"]["stall"], STALL_TARGET_MS, "ms",
        )  # fmt: skip
        row(
            f"reader stall, {w['kind']}, same process",
            w["in_proc"]["idle_p50"], w["in_proc"]["stall"], STALL_TARGET_MS, "ms",
        )  # fmt: skip
    if e2e is not None:
        ok &= row(
            f"bar queryable after minute close ({e2e['bars']} bars)",
            e2e["s_p50"], e2e["s_p99"], E2E_TARGET_S, "s",
        )  # fmt: skip
        print(
            f"  end to end: {E2E_SYMBOLS} symbols AM+A in real time, "
            f"{e2e['minutes']} minutes, ~{e2e['events_per_s']:.0f} events/s"
        )
    for w in writes:
        print(
            f"  {w['kind']}: upsert-only p99 {w['upsert_ms_p99']:.1f} ms; reader p99 "
            f"while writing {w['out_proc']['busy_p99']:.2f} ms (other process, "
            f"{w['out_proc']['reads']} reads), {w['in_proc']['busy_p99']:.2f} ms "
            f"(same process, {w['in_proc']['reads']} reads)"
        )
    print("(stall rows: median column = idle read latency; 'p99' = p99 while")
    print(" writing minus idle median. Same-process readers also wait for the GIL.)")
    print("(throughput rows: 'p99' column is the slowest pass; ratio = median/target)")
    print(
        f"(load average at the end: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores)"
    )
    return figures(decode, writes, e2e, ok, skipped)


def figures(decode: dict, writes: list[dict], e2e: dict | None, ok, skipped) -> dict:
    """Return the flat figures of the ingest benchmarks."""
    out = {
        "decode_events_per_s": decode["eps_median"],
        "decode_events_per_s_min": decode["eps_min"],
        "decode_cpu_events_per_s": decode["cpu_eps_median"],
        "decode_us_p50": decode["us_p50"],
        "decode_us_p99": decode["us_p99"],
        "decode_cpu_us_p99": decode["cpu_us_p99"],
    }
    for w in writes:
        name = "postgresql" if w["kind"] == "postgres" else w["kind"]
        out[f"minute_write_p50_ms_{name}"] = w["ms_p50"]
        out[f"minute_write_p99_ms_{name}"] = w["ms_p99"]
        out[f"minute_upsert_p99_ms_{name}"] = w["upsert_ms_p99"]
        out[f"reader_stall_ms_{name}"] = w["out_proc"]["stall"]
        out[f"reader_stall_same_process_ms_{name}"] = w["in_proc"]["stall"]
    if e2e is None:
        skipped["bar_latency_p99_s"] = "--skip-e2e"
    else:
        out["bar_latency_p50_s"] = e2e["s_p50"]
        out["bar_latency_p99_s"] = e2e["s_p99"]
        out["bar_latency_bars"] = e2e["bars"]
    out["ingest_targets_met"] = bool(ok)
    out["skipped"] = skipped
    return out


if __name__ == "__main__":
    raise SystemExit(0 if main(sys.argv[1:])["ingest_targets_met"] else 1)

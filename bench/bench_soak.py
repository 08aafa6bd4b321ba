"""Day soak: the server's memory over a simulated extended-hours trading day.

Runs the app as `tickstock serve` does (one development-server process on a
fresh SQLite file, live ingest co-started, no Redis) against the Massive
simulator (`ingest.simulator.Simulator`, in this process) and replays one whole
extended-hours session, 04:00-20:00 ET of the latest session day that is over,
in fast mode: chunks of minutes are emitted as fast as the server reads them,
paced so that the day takes `--pace` seconds of wall time (default 180; the
server's timers, caches and monitoring get some wall time too). Only `/health`
is polled (once a second). The server's RSS (/proc) is sampled after every
chunk and twice a second; growth = RSS at the close (after the writer settled)
- RSS after the first simulated hour (warm-up); the curve is flat when the
second half of the day after warm-up grows by at most 10 MB (`bench.soak_memory`,
which also has `--trace-memory`: tracemalloc snapshots in the server at warm-up,
mid-day and the end, diffed). When the budget (300 s) runs out
before 20:00 ET the run stops there and the table says how much of the day was
simulated.

Run: `.venv/bin/python bench/bench_soak.py [--quick] [--pace S] [--budget S]`
(`--quick`: as fast as the server reads, 90 s budget; `--seconds`: also stream
per-second `A` bars, as INGEST_SECONDS=true; `--universe` sets INGEST_UNIVERSE).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.soak_memory import FLAT_MB, WARMUP, HeapTrace, summarise  # noqa: E402
from ingest import sessions  # noqa: E402
from ingest.simulator import Simulator  # noqa: E402

MARKET_TZ = "America/New_York"
DAY_START, DAY_END = dt.time(4, 0), dt.time(20, 0)
BUDGET_S = 300.0
QUICK_BUDGET_S = 90.0
PACE_S = 180.0
CHUNK_MINUTES = 5
SAMPLE_S = 0.5
HEALTH_EVERY_S = 1.0
START_TIMEOUT_S = 120.0
SETTLE_S = 5.0
GROWTH_TARGET_MB = 100.0
# Inherited settings that would point the server elsewhere than this soak wants.
CLEARED_PREFIXES = ("REDIS_", "MASSIVE_", "INGEST_", "TICKSTOCK_", "LOG_", "RATE_")
CLEARED = (
    "DATABASE_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "WEB_CONCURRENCY",
    "HOST",
    "PORT",
)


def soak_day(now: pd.Timestamp | None = None) -> dt.date:
    """Return the latest session day whose extended hours (20:00 ET) are over."""
    now = now or pd.Timestamp.now(tz="UTC")
    day = now.tz_convert(MARKET_TZ).date()
    for _ in range(15):
        end = pd.Timestamp.combine(day, DAY_END).tz_localize(MARKET_TZ)
        if sessions.session_bounds(day) is not None and end <= now:
            return day
        day -= dt.timedelta(days=1)
    raise RuntimeError("no session day in the last two weeks")


def et(day: dt.date, at: dt.time) -> pd.Timestamp:
    """Return `day` at `at` New York time, in UTC."""
    return pd.Timestamp.combine(day, at).tz_localize(MARKET_TZ).tz_convert("UTC")


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    """Return the resident set size of a process in MB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def server_env(tmp: Path, sim: Simulator, port: int, args) -> dict[str, str]:
    """Return the environment of `tickstock serve` for this soak."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in CLEARED and not k.startswith(CLEARED_PREFIXES)
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'soak.db'}",
            "TICKSTOCK_DATA_DIR": str(tmp),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "INGEST_ENABLED": "true",
            "MASSIVE_API_KEY": "bench-soak",
            "MASSIVE_WS_URL": sim.ws_url,
            "MASSIVE_REST_URL": sim.rest_url,
            "TICKSTOCK_DEMO_DATA": "false",
            "TICKSTOCK_ADMIN_PASSWORD": "Soak-bench-passphrase-2026",
            "SECRET_KEY": "bench-soak",
            "LOG_LEVEL": "WARNING",
        }
    )
    if args.universe:
        env["INGEST_UNIVERSE"] = args.universe
    if args.seconds:
        env["INGEST_SECONDS"] = "true"
    return env


def start_server(env: dict[str, str], tmp: Path, port: int) -> subprocess.Popen:
    """Start `tickstock serve`; wait until /health answers."""
    tickstock = Path(sys.executable).with_name("tickstock")
    cmd = (
        [str(tickstock)]
        if tickstock.exists()
        else [sys.executable, "-m", "dashapp.cli"]
    )
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", str(port)],
        cwd=tmp,
        env={"PYTHONPATH": str(ROOT), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    tail = (tmp / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"tickstock serve did not start:\n{tail}")


def stop_server(proc: subprocess.Popen) -> int | None:
    """Stop the server this benchmark started (SIGTERM, then SIGKILL)."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass
    return None


class Sampler(threading.Thread):
    """Sample (wall s, simulated time, RSS MB) of the server twice a second."""

    def __init__(self, pid: int, sim: Simulator) -> None:
        super().__init__(daemon=True)
        self.pid, self.sim = pid, sim
        self.samples: list[tuple[float, pd.Timestamp, float]] = []
        self.stop = threading.Event()

    def sample(self) -> None:
        rss = rss_mb(self.pid)
        if rss is not None:
            self.samples.append((time.monotonic(), self.sim.now(), rss))

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            self.sample()


class HealthPoller(threading.Thread):
    """GET /health once a second; keep latencies and failures."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/health"
        self.ms: list[float] = []
        self.failed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as resp:
                    ok = resp.status == 200
                    resp.read()
            except OSError:
                ok = False
            self.ms.append((time.perf_counter() - t0) * 1000)
            self.failed += not ok
            self.stop.wait(max(0.0, HEALTH_EVERY_S - (time.perf_counter() - t0)))


def stored_minute_bars(url: str) -> int | None:
    """Return the number of minute bars in the soak database."""
    from dashapp.store import Store

    store = Store(url)
    try:
        stats = store.table_stats()
        rows = stats[stats["table"].astype(str).str.contains("1min")]["rows"]
        return int(rows.iloc[0]) if len(rows) else None
    except Exception:  # only a report line: never fail the soak on it
        return None
    finally:
        store.dispose()


def run_day(
    sim: Simulator,
    sampler: Sampler,
    end: pd.Timestamp,
    budget_s: float,
    pace_s: float,
    trace: HeapTrace | None = None,
) -> dict:
    """Advance the simulator chunk by chunk until `end` or the budget is spent.

    Paced: the simulated day (start to `end`) is spread over `pace_s` seconds
    of wall time when the server reads faster than that (0: no pacing). With
    `trace`, heap snapshots are taken after warm-up and at mid-day (the time
    they take is not counted in the budget).
    """
    started = time.monotonic()
    first = sim.now()
    span = (end - first).total_seconds()
    warm = first + WARMUP
    marks = [("warm", warm), ("mid", warm + (end - warm) / 2)]
    minutes = 0
    while time.monotonic() - started < budget_s and sim.now() < end:
        done = sim.advance(CHUNK_MINUTES, until=end, timeout=budget_s + 60)
        minutes += done
        sampler.sample()
        if not done:
            break
        if trace is not None and marks and sim.now() >= marks[0][1]:
            sim.drain(30)
            t0 = time.monotonic()
            trace.snapshot(marks.pop(0)[0])
            started += time.monotonic() - t0
        due = pace_s * (sim.now() - first).total_seconds() / span
        left = budget_s - (time.monotonic() - started)
        time.sleep(max(0.0, min(due - (time.monotonic() - started), left)))
    sim.drain(30)
    return {"minutes": minutes, "wall_s": time.monotonic() - started}


def main(argv: list[str] | None = None) -> dict:
    """Run the soak, print its table and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no pacing, 90 s max")
    parser.add_argument("--budget", type=float, default=None, help="max seconds")
    parser.add_argument("--pace", type=float, default=None, help="seconds per day")
    parser.add_argument("--universe", default=None, help="INGEST_UNIVERSE")
    parser.add_argument("--seconds", action="store_true", help="INGEST_SECONDS=true")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="tracemalloc in the server; print what grew (slower, more RSS)",
    )
    args = parser.parse_args([] if argv is None else argv)
    budget = args.budget or (QUICK_BUDGET_S if args.quick else BUDGET_S)
    pace = args.pace if args.pace is not None else (0.0 if args.quick else PACE_S)
    day = soak_day()
    day_start, day_end = et(day, DAY_START), et(day, DAY_END)
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    sim = Simulator(None, seed=20, speed="fast", start=day_start, hours="all")
    sim.start()
    port = free_port()
    env = server_env(tmp, sim, port, args)
    trace = HeapTrace(tmp / "trace") if args.trace_memory else None
    if trace is not None:
        env.update(trace.env(str(ROOT)))
    proc = sampler = poller = None
    code = None
    try:
        t0 = time.monotonic()
        proc = start_server(env, tmp, port)
        boot_s = time.monotonic() - t0
        if not sim.wait_for_subscribers(ev="AM", timeout=60):
            raise RuntimeError("the server's ingest never subscribed to AM")
        subscribed_a = sim.wait_for_subscribers(ev="A", timeout=0.5)
        sampler, poller = Sampler(proc.pid, sim), HealthPoller(port)
        sampler.sample()
        sampler.start()
        poller.start()
        day_run = run_day(sim, sampler, day_end, budget, pace, trace)
        time.sleep(SETTLE_S)  # the writer flushes the last minutes
        if trace is not None:
            trace.snapshot("end")
        sampler.stop.set()
        sampler.join()
        sampler.sample()
        poller.stop.set()
        poller.join()
        reached = sim.now()
        alive = proc.poll() is None
        stored = stored_minute_bars(env["DATABASE_URL"])
    finally:
        for thread in (sampler, poller):
            if thread is not None:
                thread.stop.set()
        if proc is not None:
            code = stop_server(proc)
        sim.stop()
        try:
            heap = trace.report() if trace is not None else {}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    curve = summarise(sampler.samples, day_start, day_end)
    stats = sim.stats()
    hours = (reached - day_start).total_seconds() / 3600
    full_hours = (day_end - day_start).total_seconds() / 3600
    growth = curve["end_mb"] - curve["warm_mb"]

    def hm(ts: pd.Timestamp) -> str:
        return ts.tz_convert(MARKET_TZ).strftime("%H:%M")

    feeds = "AM + A" if subscribed_a else "AM only"
    print(
        f"day soak: tickstock serve (SQLite, ingest on, {len(sim.symbols)} symbols "
        f"simulated, {feeds} subscribed), only /health polled; session {day}"
    )
    print(
        f"simulated 04:00 -> {hm(reached)} ET: {hours:.1f} of {full_hours:.0f} h "
        f"({day_run['minutes']} minutes) in {day_run['wall_s']:.0f} s wall "
        f"(paced to {pace:.0f} s, budget {budget:.0f} s; "
        f"{day_run['minutes'] / day_run['wall_s']:.1f} simulated min/s); "
        f"server start {boot_s:.1f} s"
    )
    if hours < full_hours - 0.01:
        print("  NOT the whole day: the budget ran out first (growth is partial)")
    print(f"{'figure (server process RSS)':<44} {'MB':>9}")
    rows = [
        ("RSS at start (subscribed, no bars yet)", curve["first_mb"]),
        (f"RSS after warm-up, {hm(curve['warm_at'])} ET", curve["warm_mb"]),
        (f"RSS peak, {hm(curve['peak_at'])} ET", curve["peak_mb"]),
        (f"RSS at the end, {hm(reached)} ET (+{SETTLE_S:.0f} s)", curve["end_mb"]),
        ("RSS growth warm-up -> end", growth),
        (f"  first half, -> {hm(curve['mid_at'])} ET", curve["first_half_mb"]),
        (f"  second half, {hm(curve['mid_at'])} ET ->", curve["second_half_mb"]),
    ]
    for name, value in rows:
        print(f"{name:<44} {value:>9.1f}")
    curve_text = ", ".join(f"{h:02d}h {mb:.0f}" for h, mb in curve["hourly"].items())
    print(f"  RSS by simulated hour (ET, MB): {curve_text}")
    print(
        f"  flat after warm-up: {'yes' if curve['flat'] else 'NO'} (second half "
        f"grew {curve['second_half_mb']:.1f} MB; flat is <= {FLAT_MB:.0f} MB)"
    )
    met = growth <= GROWTH_TARGET_MB and curve["flat"]
    print(
        f"  target: growth <= {GROWTH_TARGET_MB:.0f} MB and flat after warm-up: "
        f"{'ok' if met else 'MISS'}"
    )
    health_p99 = (
        statistics.quantiles(poller.ms, n=100)[98] if len(poller.ms) > 1 else None
    )
    print(
        f"  /health: {len(poller.ms)} polls, {poller.failed} failed"
        + (f", p99 {health_p99:.1f} ms" if health_p99 is not None else "")
    )
    print(
        f"  minute bars stored {stored if stored is not None else '?'} of "
        f"{stats.get('events_AM', '?')} AM sent ({stats.get('events_A', 0)} A); "
        f"server {'alive' if alive else 'DIED'} at the end, exit code {code}"
    )
    return {
        "day_soak_rss_growth_mb": growth,
        "day_soak_rss_start_mb": curve["first_mb"],
        "day_soak_rss_warm_mb": curve["warm_mb"],
        "day_soak_rss_peak_mb": curve["peak_mb"],
        "day_soak_rss_end_mb": curve["end_mb"],
        "day_soak_rss_growth_first_half_mb": curve["first_half_mb"],
        "day_soak_rss_growth_second_half_mb": curve["second_half_mb"],
        "day_soak_rss_flat": curve["flat"],
        "day_soak_target_met": met,
        **{f"day_soak_heap_growth_mb_{k}": v for k, v in heap.items()},
        "day_soak_simulated_hours": hours,
        "day_soak_symbols": len(sim.symbols),
        "day_soak_am_sent": stats.get("events_AM"),
        "day_soak_complete": hours >= full_hours - 0.01,
        "day_soak_wall_s": day_run["wall_s"],
        "day_soak_minute_bars_stored": stored,
        "day_soak_health_failed": poller.failed,
        "day_soak_health_p99_ms": health_p99,
        "day_soak_server_alive": alive,
    }


if __name__ == "__main__":
    main(sys.argv[1:])

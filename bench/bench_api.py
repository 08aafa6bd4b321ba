"""Benchmark: GET /api/ticks/recent under gunicorn (2 workers), 32 clients, loopback.

Serves the real app with the project's gunicorn config (`dashapp.gunicorn_conf`:
gthread workers, keep-alive) on a temp SQLite database holding 2,000 minute bars
of 20 symbols, authenticated with a bearer token (rate limiter active, with limits
raised above the offered load). The load generator is one asyncio process with 32
keep-alive connections, each sending its next request as soon as the previous
answer arrived (closed loop). It shares the machine's cores with the server, so
the numbers are a lower bound for a server with its own cores.

Targets (issue 8): ticks p99 <= 20 ms and >= 2,000 req/s; /health p99 <= 5 ms.
Run: `.venv/bin/python bench/bench_api.py [--quick]` (`--quick`: 3 s of load).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 32
WORKERS = 2
WARMUP_S = 2.0
DURATION_S = 10.0
QUICK_DURATION_S = 3.0
SYMBOLS = 20
BARS_PER_SYMBOL = 100
TARGET_P99_MS = 20.0
TARGET_RPS = 2_000.0
TARGET_HEALTH_P99_MS = 5.0
START_TIMEOUT_S = 60.0


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(tmp: Path) -> tuple[dict[str, str], str]:
    """Create and fill the database; return (server environment, bearer token)."""
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from dashapp import auth
    from dashapp.factory import prepare_store
    from dashapp.settings import load_settings

    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "bench-secret",
        "LOG_LEVEL": "WARNING",
        "LOG_DB_ENABLED": "false",
        "RATE_LIMIT_USER": "10000000/minute",
        "RATE_LIMIT_IP": "10000000/minute",
    }
    store = prepare_store(load_settings(env, env_file=None))
    ts = pd.date_range(
        "2025-04-01 13:30", periods=BARS_PER_SYMBOL, freq="min", tz="UTC"
    )
    frames = [
        pd.DataFrame(
            {
                "symbol": f"S{i:03d}" if i else "AAPL",
                "ts": ts,
                "open": 100.0,
                "high": 101.0,
                "low": 99.0,
                "close": np.linspace(100, 101, len(ts)),
                "volume": 1000.0,
            }
        )
        for i in range(SYMBOLS)
    ]
    store.upsert_minute_bars(pd.concat(frames, ignore_index=True))
    auth.create_user(store, "bench", "Copper-Marker-Quill-93", auth.USER)
    _id, token = auth.issue_token(store, "bench", "bench")
    store.dispose()
    return env, token


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    """Start gunicorn with the project's config; wait until /health answers."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    full_env = {
        **os.environ,
        **env,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
    }
    proc = subprocess.Popen(
        [gunicorn or "gunicorn", "-c", "python:dashapp.gunicorn_conf",
         "--log-level", "warning", "app:server"],
        cwd=ROOT,
        env=full_env,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("gunicorn did not start")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the gunicorn master started by this benchmark (its process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _client(
    port: int, request: bytes, until: float, start_at: float, out: list, errors: list
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= until:
                break
            writer.write(request)
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            t1 = time.perf_counter()
            if status != 200:
                errors.append(status)
            elif t0 >= start_at:
                out.append(t1 - t0)
    finally:
        writer.close()


async def _load(port: int, request: bytes, duration: float) -> tuple[list, list, float]:
    start_at = time.perf_counter() + WARMUP_S
    until = start_at + duration
    latencies: list[float] = []
    errors: list[int] = []
    await asyncio.gather(
        *(
            _client(port, request, until, start_at, latencies, errors)
            for _ in range(CLIENTS)
        )
    )
    return latencies, errors, duration


def run_load(port: int, path: str, token: str | None, duration: float) -> dict:
    """Drive CLIENTS keep-alive connections at `path`; return the stats."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode()
    latencies, errors, seconds = asyncio.run(_load(port, request, duration))
    ms = np.asarray(latencies) * 1000
    return {
        "requests": len(ms),
        "errors": len(errors),
        "rps": len(ms) / seconds,
        "p50": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
    }


def in_process_ms(env: dict[str, str], token: str, path: str, n: int = 2_000) -> float:
    """Return the median server time (ms) of one request through the WSGI stack.

    No network and no client: what one worker spends per request, which bounds
    the throughput that dedicated cores could reach.
    """
    from dashapp.factory import create_app
    from dashapp.settings import load_settings

    app = create_app(load_settings(env, env_file=None), ingest=False)
    client = app.server.test_client()
    headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api") else {}
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        client.get(path, headers=headers)
        if i >= n // 10:
            samples.append(time.perf_counter() - t0)
    return float(np.median(samples) * 1000)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s of load")
    args = parser.parse_args([] if argv is None else argv)
    duration = QUICK_DURATION_S if args.quick else DURATION_S
    tmp = Path(tempfile.mkdtemp(prefix="bench_api_"))
    env, token = prepare(tmp)
    ticks_path = "/api/ticks/recent?symbol=AAPL&limit=100"
    n = 300 if args.quick else 2_000
    wsgi_ticks = in_process_ms(env, token, ticks_path, n)
    wsgi_health = in_process_ms(env, token, "/health", n)
    port = free_port()
    load_before = f"{os.getloadavg()[0]:.2f}"
    proc = start_server(env, port)
    try:
        ticks = run_load(port, ticks_path, token, duration)
        health = run_load(port, "/health", None, duration / 2)
    finally:
        stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    cores = os.cpu_count()
    print(
        f"gunicorn {WORKERS} workers (gthread), {CLIENTS} keep-alive clients in one "
        f"asyncio process, loopback, {cores} cores shared by client and server"
    )
    print(f"{'metric':<34} {'value':>10} {'target':>10} {'ratio':>7}")
    rows = [
        ("ticks/recent p50 (ms)", ticks["p50"], None),
        ("ticks/recent p99 (ms)", ticks["p99"], TARGET_P99_MS),
        ("ticks/recent throughput (req/s)", ticks["rps"], TARGET_RPS),
        ("health p50 (ms)", health["p50"], None),
        ("health p99 (ms)", health["p99"], TARGET_HEALTH_P99_MS),
        ("health throughput (req/s)", health["rps"], None),
    ]
    rows += [
        ("in-process ticks (ms/request)", wsgi_ticks, None),
        ("in-process health (ms/request)", wsgi_health, None),
        ("ticks req/s bound, 2 dedicated cores", 2_000 / wsgi_ticks, TARGET_RPS),
    ]
    for name, value, target in rows:
        ratio = "" if target is None else f"{value / target:.2f}"
        shown = "" if target is None else f"{target:,.0f}"
        print(f"{name:<34} {value:>10,.2f} {shown:>10} {ratio:>7}")
    print(f"load average before/after: {load_before} / {os.getloadavg()[0]:.2f}")
    print(f"requests measured: ticks {ticks['requests']:,} "
          f"(non-200: {ticks['errors']}), health {health['requests']:,} "
          f"(non-200: {health['errors']})")  # fmt: skip
    return {
        "ticks_recent_p50_ms": ticks["p50"],
        "ticks_recent_p99_ms": ticks["p99"],
        "ticks_recent_rps": ticks["rps"],
        "ticks_recent_errors": ticks["errors"],
        "health_p50_ms": health["p50"],
        "health_p99_ms": health["p99"],
        "health_rps": health["rps"],
        "ticks_recent_inprocess_ms": wsgi_ticks,
        "health_inprocess_ms": wsgi_health,
    }


if __name__ == "__main__":
    main(sys.argv[1:])

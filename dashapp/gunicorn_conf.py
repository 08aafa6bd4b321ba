"""Gunicorn for TickStock: N worker processes, live ingest in exactly one of them.

Each worker builds its own app after the fork (`preload_app = False`), so no
thread is ever forked. Every worker contends for the ingest leader lock
(`dashapp.ops.leader`): a Redis key when `REDIS_URL` is set (one ingester across
all hosts), otherwise a file lock in the data directory (one per host). The
winner starts ingest; when it exits it releases the lock and another worker
takes over, backfilling the gap. Prometheus metrics are aggregated across
workers through `PROMETHEUS_MULTIPROC_DIR` (default `<data dir>/prometheus`).

Each worker listens on its own `SO_REUSEPORT` socket (`reuse_port`), so the
kernel spreads new connections across workers by address hash. With one shared
socket the worker that wakes first accepts a whole burst of keep-alive
connections and serves them alone while the other idles (issue 16: 1,100 req/s
on one core instead of 2,000+ on two). As `SO_REUSEPORT` would let a second
server join the port silently, the master first checks that the port is free.

Use it through `tickstock serve --workers N`, or directly:
`gunicorn -c python:dashapp.gunicorn_conf app:server`.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import shutil
import socket
from pathlib import Path
from typing import Any

from dashapp.settings import Settings, load_settings

log = logging.getLogger("tickstock.gunicorn")

WORKER_CLASS = "gthread"
# Two threads: a slow request (database, cold computation) does not stall the
# worker, while four made API latency p99 ~30 ms instead of ~20 ms (issue 16:
# more threads contending for one GIL per process, the poller thread included).
THREADS_PER_WORKER = 2
TIMEOUT_S = 60
GRACEFUL_TIMEOUT_S = 20
KEEPALIVE_S = 5
REUSE_PORT = True
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Module-level settings for `gunicorn -c python:dashapp.gunicorn_conf`.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = WORKER_CLASS
threads = THREADS_PER_WORKER
timeout = TIMEOUT_S
graceful_timeout = GRACEFUL_TIMEOUT_S
keepalive = KEEPALIVE_S
reuse_port = REUSE_PORT
preload_app = False


def prepare_metrics_dir(settings: Settings) -> Path:
    """Point prometheus-client at an empty multiprocess directory."""
    path = Path(os.environ.get(MULTIPROC_ENV) or settings.data_path / "prometheus")
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def prepare_master(settings: Settings) -> None:
    """Set up what workers share, once, before the first fork: metrics, schema."""
    from dashapp.factory import prepare_store

    prepare_metrics_dir(settings)
    # Workers booting at once on a fresh database would race to create it.
    prepare_store(settings).dispose()


def ensure_port_free(host: str, port: int) -> None:
    """Raise OSError(EADDRINUSE) when another server already listens on host:port.

    Workers bind with `SO_REUSEPORT`, which would otherwise let this server share
    the port with an older one (same user) instead of failing to start.
    """
    if port == 0 or os.environ.get("GUNICORN_PID"):  # re-exec: the old one hands over
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(
                    errno.EADDRINUSE, f"{host}:{port} is already in use"
                ) from None
            raise


def _check_binds(binds: list[str]) -> None:
    for address in binds:
        host, sep, port = address.rpartition(":")
        if sep and port.isdigit() and not address.startswith(("unix:", "fd://")):
            ensure_port_free(host.strip("[]") or "0.0.0.0", int(port))


def on_starting(server: Any) -> None:
    """Prepare the master (shared session key, metrics, schema) before any worker."""
    try:
        _check_binds(list(server.cfg.bind))
    except OSError as exc:
        log.error("gunicorn: %s", exc.strerror)
        raise SystemExit(1) from None
    if not os.environ.get("SECRET_KEY"):
        # Workers load settings themselves; one random key for all of them, or a
        # session cookie signed by one worker would be rejected by the next.
        os.environ["SECRET_KEY"] = secrets.token_hex(32)
    prepare_master(load_settings())


def post_fork(server: Any, worker: Any) -> None:
    """Configure logging and multiprocess metrics in a fresh worker."""
    post_fork_with(load_settings())(server, worker)


def worker_exit(server: Any, worker: Any) -> None:
    """Hand ingest leadership over at once and stop background threads."""
    from dashapp.ops.shutdown import stop_background

    stop_background(getattr(worker, "wsgi", None))


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the multiprocess metrics."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def gunicorn_options(
    settings: Settings, host: str, port: int, worker_count: int
) -> dict[str, Any]:
    """Return the gunicorn settings for `tickstock serve --workers N`."""
    return {
        "bind": f"{host}:{port}",
        "workers": worker_count,
        "worker_class": WORKER_CLASS,
        "threads": THREADS_PER_WORKER,
        "timeout": TIMEOUT_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "keepalive": KEEPALIVE_S,
        "reuse_port": REUSE_PORT,
        "preload_app": False,
        "post_fork": post_fork_with(settings),
        "worker_exit": worker_exit,
        "child_exit": child_exit,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "proc_name": "tickstock",
    }


def post_fork_with(settings: Settings) -> Any:
    """Return a post_fork hook that configures logging from `settings`."""

    def hook(server: Any, worker: Any) -> None:
        from prometheus_client import values

        from dashapp.ops.logs import configure_logging

        # The master may have imported prometheus-client before the directory
        # was set; metric values must live in the shared files in every worker.
        values.ValueClass = values.get_value_class()
        configure_logging(settings)

    return hook


def run_gunicorn(settings: Settings, host: str, port: int, worker_count: int) -> int:
    """Serve the app with gunicorn (blocks until the master exits)."""
    from gunicorn.app.base import BaseApplication

    ensure_port_free(host, port)
    prepare_master(settings)

    class TickStockApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(
                settings, host, port, worker_count
            ).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from dashapp.factory import create_app

            return create_app(settings).server

    log.info("gunicorn: %s workers on http://%s:%s", worker_count, host, port)
    TickStockApplication().run()
    return 0

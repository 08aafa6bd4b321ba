"""Compose TickStock: the app factory and the wiring of services.

`create_app()` builds the Dash app (tests pass their own Settings) and starts
ingest, jobs and leader election; `create_server()` is what gunicorn loads.
Only the composition (this module, `dashapp.web`, `dashapp.gunicorn_conf` and
`dashapp.cli`) imports across packages, and only this module and the CLI
import `ingest`: job runners and the ingest service are wired in here.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from threadpoolctl import threadpool_limits

from dashapp.auth.users import ensure_first_admin
from dashapp.market.alert_eval import AlertEvaluator
from dashapp.market.cache import LocalCache, RedisCache
from dashapp.ops.health import register_ready_check
from dashapp.ops.job_resume import start_job_resumer
from dashapp.ops.jobs import register_job_runner
from dashapp.ops.leader import start_leader_election
from dashapp.ops.livebars_shared import SharedLiveBarStore, make_livebars
from dashapp.ops.observability import install_observability
from dashapp.ops.webhooks import WebhookSender
from dashapp.settings import Settings, load_settings
from dashapp.store import Store
from dashapp.store.livebars import LiveBarStore
from dashapp.store.reference import load_reference
from dashapp.web import build_dash

log = logging.getLogger("tickstock")
# The snapshot's matrix products are small: more BLAS threads only spin and take
# the core that the snapshot worker thread uses (issue 16: 56 -> 90 ms).
BLAS_THREADS = 1


def prepare_store(settings: Settings) -> Store:
    """Open the database, create or upgrade the schema, load reference data."""
    store = Store(settings.database_url)
    store.init_schema()
    load_reference(store)
    return store


def create_app(
    settings: Settings | None = None, *, ingest: bool | None = None
) -> dash.Dash:
    """Build the TickStock Dash app; start live ingest unless told not to."""
    threadpool_limits(BLAS_THREADS, user_api="blas")
    settings = settings or load_settings()
    store = prepare_store(settings)
    ensure_demo(store, settings)
    ensure_first_admin(store, settings)
    app = build_dash(settings, store, cache=make_cache(settings))
    install_observability(app, settings, store)
    register_job_runners(app.server)
    start_job_resumer(app.server)  # history jobs whose runner died go on here
    if settings.redis_url:  # every worker and instance shows the leader's bars
        app.server.extensions["tickstock_livebars"] = make_livebars(settings)
    if ingest if ingest is not None else settings.ingest_enabled:
        elect_ingest_leader(app, settings, store)
    return app


def ensure_demo(store: Store, settings: Settings) -> None:
    """Generate labelled demo history on first start (never over real data)."""
    if not settings.demo_data:
        return
    from ingest.demo import ensure_demo_history

    if ensure_demo_history(store, settings):
        log.info("demo history generated (replaced as soon as real data is loaded)")


def register_job_runners(server: Any) -> None:
    """Let history jobs (admin UI, REST) run the ingest loaders in this app."""
    register_job_runner(server, "backfill", run_backfill_job)
    register_job_runner(server, "import", run_import_job)


def run_backfill_job(
    params: dict[str, Any], store: Store, settings: Settings, progress: Any
) -> Any:
    """Run a `backfill` job: fetch `days` of history (ImportError when not built)."""
    from ingest.history_backfill import backfill

    return backfill(
        store,
        settings,
        int(params["days"]),
        universe=params.get("universe"),
        minute=bool(params.get("minute", False)),
        progress=progress,
    )


def run_import_job(
    params: dict[str, Any], store: Store, settings: Settings, progress: Any
) -> Any:
    """Run an `import` job: load one checked file (ImportError when not built)."""
    from ingest.history import import_files

    timeframe = params.get("timeframe", "daily")
    return import_files(store, [params["path"]], timeframe, progress=progress)


def make_cache(settings: Settings) -> LocalCache | RedisCache:
    """Return the snapshot cache (in-process; Redis-backed when configured)."""
    if settings.redis_url:
        return RedisCache(
            settings.redis_url, prefix=f"{settings.redis_key_prefix}cache:"
        )
    return LocalCache()


def elect_ingest_leader(app: dash.Dash, settings: Settings, store: Store) -> None:
    """Run ingest only while this instance holds the leader lock (one ingester)."""
    start_leader_election(
        app.server,
        settings,
        on_elected=lambda: start_ingest(app, settings, store),
        on_demoted=lambda: stop_ingest(app),
    )


def stop_ingest(app: dash.Dash) -> None:
    """Stop this instance's ingest service (it lost or gave up leadership)."""
    service = app.server.extensions.pop("tickstock_ingest", None)
    if service is not None:
        service.stop()
    live = app.server.extensions.get("tickstock_livebars")
    if isinstance(live, SharedLiveBarStore):
        live.stop()  # read the next leader's bars from Redis from now on
    eod = app.server.extensions.pop("tickstock_eod", None)
    if eod is not None:
        eod.stop()
    alerts = app.server.extensions.pop("tickstock_alerts", None)
    if alerts is not None:
        alerts.stop()


def start_ingest(app: dash.Dash, settings: Settings, store: Store) -> None:
    """Co-start live ingest in daemon threads (provided by the ingest package)."""
    try:
        from ingest.service import start_service
    except ImportError:
        log.info("live ingest not available in this build")
        return
    server = app.server
    # One live-bar store per app, kept across ingest restarts (leader changes).
    livebars = server.extensions.setdefault("tickstock_livebars", LiveBarStore())
    start_alerts(server, store)
    register_ready_check(server, "ingest", lambda: _ingest_ready(server))
    try:
        service = start_service(settings, store, livebars=livebars)
    except Exception as exc:  # a bad INGEST_UNIVERSE must not take the web app down
        log.exception("live ingest failed to start")
        server.extensions["tickstock_ingest_error"] = f"{type(exc).__name__}: {exc}"
        return
    server.extensions.pop("tickstock_ingest_error", None)
    server.extensions["tickstock_ingest"] = service
    from ingest.eod import EodScheduler
    from ingest.splits import nightly_hook

    server.extensions["tickstock_eod"] = EodScheduler(
        store, after=nightly_hook(settings, store)
    ).start()


def start_alerts(server: Any, store: Store) -> None:
    """Evaluate alerts on this leader on each new data version (own threads)."""
    if "tickstock_alerts" not in server.extensions:
        evaluator = AlertEvaluator(server, store, WebhookSender())
        server.extensions["tickstock_alerts"] = evaluator.start()


def _ingest_ready(server) -> tuple[str, str]:
    """Report live ingest for /ready: the running service's own check."""
    service = server.extensions.get("tickstock_ingest")
    if service is not None:
        return service.ready_check()
    error = server.extensions.get("tickstock_ingest_error")
    if error:
        return "fail", f"ingest failed to start: {error}"
    return "ok", "ingest not running in this instance"


def create_server():
    """Return the Flask server for WSGI servers such as gunicorn."""
    return create_app().server

"""History jobs (backfill, file import) run in background threads from the admin UI.

Job state lives in the store's `app_meta` table (`job:<id>` -> JSON), so every
worker process sees every job's progress; the thread runs in the worker that
started it. The loaders come from `ingest.backfill` / `ingest.history` and are
imported lazily (dashapp never imports ingest at import time); a loader receives
the keyword arguments its signature names among: settings, store, days, universe,
symbols, minute, path, paths, files, progress (a callable(fraction, message)).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

import orjson

from dashapp.store import Store

log = logging.getLogger(__name__)
audit = logging.getLogger("tickstock.audit")

JOB_PREFIX = "job:"
MAX_JOBS_LISTED = 50
LOADERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "backfill": ("ingest.backfill", ("run_backfill", "backfill")),
    "import:daily": (
        "ingest.history",
        ("import_daily", "import_daily_files", "import_file"),
    ),
    "import:minute": (
        "ingest.history",
        ("import_minute", "import_minute_files", "import_file"),
    ),
}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _save(store: Store, job: dict[str, Any]) -> None:
    store.set_meta(JOB_PREFIX + job["id"], orjson.dumps(job, default=str).decode())


def get_job(store: Store, job_id: str) -> dict[str, Any] | None:
    """Return one job's state, or None."""
    raw = store.get_meta(JOB_PREFIX + job_id)
    return orjson.loads(raw) if raw else None


def list_jobs(store: Store) -> list[dict[str, Any]]:
    """Return the most recent jobs, newest first."""
    jobs = [orjson.loads(v) for v in store.list_meta(JOB_PREFIX).values()]
    jobs.sort(key=lambda j: j.get("created_at", ""), reverse=True)
    return jobs[:MAX_JOBS_LISTED]


def resolve_loader(kind: str, params: dict[str, Any]) -> Callable[..., Any]:
    """Return the ingest function for a job kind (ImportError when not built)."""
    key = kind if kind != "import" else f"import:{params.get('timeframe', 'daily')}"
    module_name, candidates = LOADERS[key]
    module = importlib.import_module(module_name)
    for name in candidates:
        func = getattr(module, name, None)
        if callable(func):
            return func
    raise ImportError(f"{module_name} has none of {', '.join(candidates)}")


def _call(func: Callable[..., Any], available: dict[str, Any]) -> Any:
    signature = inspect.signature(func)
    kwargs = {}
    for name, param in signature.parameters.items():
        if name in available:
            kwargs[name] = available[name]
        elif param.default is inspect.Parameter.empty and param.kind in (
            param.POSITIONAL_OR_KEYWORD,
            param.KEYWORD_ONLY,
        ):
            raise TypeError(f"{func.__name__} needs {name!r}, which jobs cannot supply")
    return func(**kwargs)


def start_job(app: Any, kind: str, params: dict[str, Any], user: str) -> dict[str, Any]:
    """Record a queued job and run it in a daemon thread; return its state."""
    store: Store = app.extensions["tickstock_store"]
    job = {
        "id": secrets.token_hex(8),
        "kind": kind,
        "params": params,
        "user": user,
        "status": "queued",
        "progress": 0.0,
        "message": None,
        "result": None,
        "error": None,
        "created_at": _now(),
        "finished_at": None,
    }
    _save(store, job)
    audit.info("audit: %s started %s job %s %s", user, kind, job["id"], params)
    flask_app = getattr(app, "_get_current_object", lambda: app)()
    thread = threading.Thread(
        target=_run, args=(flask_app, job), name=f"job-{job['id']}", daemon=True
    )
    thread.start()
    return job


def _run(app: Any, job: dict[str, Any]) -> None:
    store: Store = app.extensions["tickstock_store"]
    settings = app.extensions["tickstock_settings"]

    def progress(fraction: float | None = None, message: str | None = None) -> None:
        if fraction is not None:
            job["progress"] = max(0.0, min(1.0, float(fraction)))
        if message is not None:
            job["message"] = str(message)[:500]
        _save(store, job)

    job["status"] = "running"
    _save(store, job)
    params = job["params"]
    available = {
        "settings": settings,
        "store": store,
        "progress": progress,
        "days": params.get("days"),
        "universe": params.get("universe"),
        "minute": bool(params.get("minute", False)),
        "path": params.get("path"),
        "paths": [params["path"]] if params.get("path") else None,
        "files": [params["path"]] if params.get("path") else None,
    }
    try:
        loader = resolve_loader(job["kind"], params)
        with app.app_context():
            result = _call(loader, available)
        job.update(status="done", progress=1.0, result=_plain(result))
    except ImportError as exc:
        job.update(status="failed", error=f"not available in this build: {exc}")
    except Exception as exc:  # report any loader failure on the job
        log.exception("job %s failed", job["id"])
        job.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:1000])
    job["finished_at"] = _now()
    _save(store, job)
    audit.info("audit: job %s %s", job["id"], job["status"])


def _plain(value: Any) -> Any:
    try:
        return orjson.loads(orjson.dumps(value, default=str))
    except TypeError:
        return str(value)

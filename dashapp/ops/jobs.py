"""History jobs (backfill, file import) run in background threads from the admin UI.

Job state lives in the store's `app_meta` table (`job:<id>` -> JSON), so every
worker process sees every job's progress; the thread runs in the worker that
started it and saves a heartbeat. A job whose runner died is resumed by the
next process that starts (`dashapp.ops.job_resume`). The composition registers
one runner per job kind (`register_job_runner`; the loaders live in ingest,
which this package never imports); a runner's rich-style `progress` argument
is fed by `JobProgress`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from dashapp.store import Store

log = logging.getLogger(__name__)
audit = logging.getLogger("tickstock.audit")

JOB_PREFIX = "job:"
JOB_KINDS = ("backfill", "import")
RUNNERS_EXTENSION = "tickstock_job_runners"
MAX_JOBS_LISTED = 50
SAVE_EVERY_SECONDS = 0.5
HEARTBEAT_S = 2.0


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


class JobProgress:
    """A rich-Progress-like sink (add_task/advance) that records job progress."""

    def __init__(self, job: dict[str, Any], save: Callable[[], None]) -> None:
        self.job = job
        self.save = save
        self.tasks: dict[int, list] = {}
        self._saved = 0.0
        # A resumed job skips work already done: never show less than before.
        self._floor = float(job.get("progress") or 0.0)

    def add_task(self, description: str, total: float | None = None, **_kw) -> int:
        """Start a named step; return its id."""
        task_id = len(self.tasks)
        self.tasks[task_id] = [description, float(total or 0), 0.0]
        self.job["message"] = description
        self.save()
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        """Count work done on a step; save the job at most twice a second."""
        task = self.tasks.get(task_id)
        if task is None:
            return
        task[2] += advance
        total = sum(t[1] for t in self.tasks.values())
        done = sum(min(t[2], t[1]) for t in self.tasks.values())
        progress = round(done / total, 4) if total else None
        if progress is not None:
            progress = max(progress, self._floor)
        self.job["progress"] = progress
        now = time.monotonic()
        if now - self._saved >= SAVE_EVERY_SECONDS:
            self._saved = now
            self.save()


# A runner gets (params, store, settings, progress) and returns the job's result.
JobRunner = Callable[[dict[str, Any], Store, Any, Any], Any]


def register_job_runner(app: Any, kind: str, runner: JobRunner) -> None:
    """Make `runner` run the jobs of `kind` started or resumed in this app."""
    if kind not in JOB_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    app.extensions.setdefault(RUNNERS_EXTENSION, {})[kind] = runner


def run_loader(
    app: Any,
    kind: str,
    params: dict[str, Any],
    store: Store,
    settings: Any,
    progress: Any,
) -> Any:
    """Call the runner registered for a job kind (ImportError when there is none)."""
    runner = app.extensions.get(RUNNERS_EXTENSION, {}).get(kind)
    if runner is None:
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        raise ImportError(f"no runner for {kind} jobs")
    return runner(params, store, settings, progress)


class JobError(ValueError):
    """A job request cannot be accepted."""


def check_params(kind: str, params: dict[str, Any], settings: Any) -> dict[str, Any]:
    """Validate job parameters; import paths must lie inside the data directory.

    Admins start imports of files already on the server; confining them to
    TICKSTOCK_DATA_DIR keeps the web UI from reading arbitrary server files
    (the `tickstock import-*` CLI has no such limit).
    """
    if kind == "backfill":
        if not isinstance(params.get("days"), int) or params["days"] < 1:
            raise JobError("a backfill needs days >= 1")
        return params
    if kind == "import":
        raw = params.get("path")
        if not raw or "\x00" in raw:
            raise JobError("an import needs a file path")
        root = Path(settings.data_dir).resolve()
        path = Path(raw) if Path(raw).is_absolute() else root / raw
        path = path.resolve()
        if not path.is_relative_to(root):
            raise JobError(f"import files must be inside the data directory {root}")
        if not path.is_file():
            raise JobError(f"no such file: {path}")
        return {**params, "path": str(path)}
    raise JobError(f"unknown job kind {kind!r}")


def start_job(app: Any, kind: str, params: dict[str, Any], user: str) -> dict[str, Any]:
    """Record a queued job and run it in a daemon thread (JobError if invalid)."""
    store: Store = app.extensions["tickstock_store"]
    params = check_params(kind, params, app.extensions["tickstock_settings"])
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
        "owner": process_owner(),
        "heartbeat": time.time(),
        "resumed": 0,
    }
    _save(store, job)
    audit.info("audit: %s started %s job %s %s", user, kind, job["id"], params)
    flask_app = getattr(app, "_get_current_object", lambda: app)()
    run_in_thread(flask_app, job)
    return job


def process_owner() -> str:
    """Return this process's name in job records (host:pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_in_thread(app: Any, job: dict[str, Any]) -> threading.Thread:
    """Run a recorded job in a daemon thread of this process."""
    thread = threading.Thread(
        target=_run, args=(app, job), name=f"job-{job['id']}", daemon=True
    )
    thread.start()
    return thread


def _heartbeat(job: dict[str, Any], save: Callable[[], None], done: Any) -> None:
    """Save the job every HEARTBEAT_S so other processes see its runner lives."""
    while not done.wait(HEARTBEAT_S):
        job["heartbeat"] = time.time()
        save()


def _run(app: Any, job: dict[str, Any]) -> None:
    store: Store = app.extensions["tickstock_store"]
    settings = app.extensions["tickstock_settings"]
    save = lambda: _save(store, job)  # noqa: E731
    job["status"] = "running"
    job["heartbeat"] = time.time()
    save()
    done = threading.Event()
    threading.Thread(
        target=_heartbeat, args=(job, save, done), name="job-heartbeat", daemon=True
    ).start()
    try:
        with app.app_context():
            result = run_loader(
                app, job["kind"], job["params"], store, settings, JobProgress(job, save)
            )
        job.update(status="done", progress=1.0, result=_plain(result))
    except ImportError as exc:
        job.update(status="failed", error=f"not available in this build: {exc}")
    except Exception as exc:  # report any loader failure on the job
        log.exception("job %s failed", job["id"])
        job.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:1000])
    done.set()
    job["finished_at"] = _now()
    save()
    audit.info("audit: job %s %s", job["id"], job["status"])


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    try:
        return orjson.loads(orjson.dumps(value, default=str))
    except TypeError:
        return str(value)

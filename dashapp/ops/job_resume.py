"""Resume history jobs whose runner died (a worker restart, a crashed instance).

A job record names the process running it (`host:pid`) and carries a heartbeat
saved every few seconds. When a process starts it looks for jobs left `queued`
or `running`: a job is orphaned when its runner is a dead process on this
host, or its heartbeat is older than `STALE_S` (another host). The process
claims an orphan with a compare-and-set on the stored record, so exactly one
process resumes it, and runs it again from where the stored data stands (the
loaders skip what is already stored; the shown progress never goes back).
The scan repeats while other processes' live jobs remain, to catch those
whose runner dies later without a restart here.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

import orjson

from dashapp.ops.jobs import JOB_PREFIX, process_owner, run_in_thread

log = logging.getLogger(__name__)
audit = logging.getLogger("tickstock.audit")

ACTIVE = ("queued", "running")
STALE_S = 10.0
RESCAN_S = 5.0


def _pid_dead(owner: str | None) -> bool:
    """Tell whether `owner` is a process on this host that no longer exists."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_orphan(job: dict[str, Any], now: float | None = None) -> bool:
    """Tell whether an active job's runner is gone."""
    if job.get("status") not in ACTIVE:
        return False
    if job.get("owner") == process_owner():
        return False
    if _pid_dead(job.get("owner")):
        return True
    beat = job.get("heartbeat") or 0.0
    return (time.time() if now is None else now) - float(beat) > STALE_S


def resume_orphans(server: Any) -> tuple[int, int]:
    """Claim and restart orphaned jobs; return (resumed, still watched)."""
    store = server.extensions["tickstock_store"]
    resumed = watched = 0
    for key, raw in store.list_meta(JOB_PREFIX).items():
        try:
            job = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if job.get("status") not in ACTIVE or job.get("owner") == process_owner():
            continue
        if not is_orphan(job):
            watched += 1
            continue
        previous = job.get("owner")
        job.update(
            owner=process_owner(),
            heartbeat=time.time(),
            status="running",
            resumed=int(job.get("resumed") or 0) + 1,
        )
        claimed = orjson.dumps(job, default=str).decode()
        if not store.replace_meta(key, raw, claimed):
            continue  # another process claimed it first, or its runner lives
        audit.info(
            "audit: job %s resumed (runner %s gone, progress %s)",
            job["id"],
            previous,
            job.get("progress"),
        )
        run_in_thread(server, job)
        resumed += 1
    return resumed, watched


def _watch(server: Any) -> None:
    while True:
        try:
            _resumed, watched = resume_orphans(server)
        except Exception as exc:  # the database may be away at start
            log.warning("could not look for interrupted jobs: %s", exc)
            return
        if not watched:
            return
        time.sleep(RESCAN_S)


def start_job_resumer(server: Any) -> threading.Thread:
    """Resume interrupted jobs in a daemon thread (watching others' live jobs)."""
    thread = threading.Thread(
        target=_watch, args=(server,), name="tickstock-job-resume", daemon=True
    )
    thread.start()
    return thread

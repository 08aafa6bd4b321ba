"""History jobs outlive their runner: a job left `running` by a dead process is
claimed by exactly one process at its next start and finished, keeping its
progress; a job whose runner still lives is left alone."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson

from dashapp.factory import create_app, prepare_store
from dashapp.ops.jobs import JOB_PREFIX, get_job, process_owner

DATA = Path(__file__).parent / "data" / "sp500_raw_adj_2020-08_2020-09_split_slice.csv"
DONE_WITHIN_S = 30.0
OLD_BEAT_S = 600.0


def _job(job_id: str, path: Path, owner: str, heartbeat: float) -> dict:
    return {
        "id": job_id,
        "kind": "import",
        "params": {"path": str(path), "timeframe": "daily"},
        "user": "admin",
        "status": "running",
        "progress": 0.4,
        "message": "importing",
        "result": None,
        "error": None,
        "created_at": "2026-01-01T00:00:00+00:00",
        "finished_at": None,
        "owner": owner,
        "heartbeat": heartbeat,
        "resumed": 0,
    }


def _dead_local_owner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}"


def _wait_done(store, job_id: str) -> dict:
    deadline = time.monotonic() + DONE_WITHIN_S
    while time.monotonic() < deadline:
        job = get_job(store, job_id)
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(get_job(store, job_id))


def test_jr01_running_job_of_a_dead_process_is_resumed_at_next_start(settings):
    path = Path(settings.data_dir) / "prices.csv"
    shutil.copy(DATA, path)
    store = prepare_store(settings)
    now = time.time()
    jobs = {
        "deadpid": _job("deadpid", path, _dead_local_owner(), now),  # fresh beat
        "stale": _job("stale", path, "other-host:4242", now - OLD_BEAT_S),
        "alive": _job("alive", path, "other-host:4343", now + OLD_BEAT_S),
    }
    for job in jobs.values():
        store.set_meta(JOB_PREFIX + job["id"], orjson.dumps(job).decode())
    assert store.read_daily().empty

    app = create_app(settings, ingest=False)  # the next process to start
    app_store = app.server.extensions["tickstock_store"]
    for job_id in ("deadpid", "stale"):
        done = _wait_done(app_store, job_id)
        assert done["status"] == "done", done
        assert done["resumed"] == 1 and done["owner"] == process_owner()
        assert done["progress"] == 1.0
    expected = len({(r[0], r[1]) for r in _csv_keys()})
    assert len(app_store.read_daily()) == expected
    alive = get_job(app_store, "alive")
    assert alive["status"] == "running" and alive["owner"] == "other-host:4343"


def _csv_keys() -> list[tuple[str, str]]:
    lines = DATA.read_text().splitlines()[1:]
    return [tuple(line.split(",")[:2]) for line in lines if line]


def test_jr02_a_claim_succeeds_once(settings):
    store = prepare_store(settings)
    store.set_meta("job:x", "v1")
    assert store.replace_meta("job:x", "v1", "v2")
    assert not store.replace_meta("job:x", "v1", "v3")  # someone claimed it first
    assert store.get_meta("job:x") == "v2"

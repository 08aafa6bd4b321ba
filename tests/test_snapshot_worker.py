"""The snapshot engine's worker thread changes no number (issue 16).

Large panels count their settled breadth in a worker thread; that must give
exactly the serial engine's snapshot, and a failure in the worker must surface
at `update` instead of hanging.
"""

from __future__ import annotations

import multiprocessing

import pandas as pd
import pytest

import analytics as A
from analytics import snapshot_breadth
from analytics.snapshot_parts import Job
from tests.test_perf_paths import BENCH, slice_panels

DAY = pd.Timestamp("2021-04-21")


@pytest.fixture(scope="module")
def panels() -> dict[str, pd.DataFrame]:
    return slice_panels()


def _meta(symbols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": symbols,
            "sector": [f"Sector {i % 5}" for i in range(len(symbols))],
            "sub_industry": [f"Industry {i % 9}" for i in range(len(symbols))],
        }
    )


def _snapshot(panels, meta, threaded: bool, monkeypatch) -> dict:
    limit = 0 if threaded else 10**12
    monkeypatch.setattr(snapshot_breadth, "THREAD_MIN_VALUES", limit)
    history = {k: v.loc[v.index < DAY] for k, v in panels.items()}
    engine = A.SnapshotEngine(history, meta, bench_symbol=BENCH)
    return engine.update(DAY, {k: v.loc[DAY] for k, v in panels.items()})


@pytest.mark.parametrize("order", ["panel", "reversed"])
def test_sw01_worker_thread_gives_the_serial_snapshot(panels, order, monkeypatch):
    symbols = [c for c in panels["close"].columns if c != BENCH]
    meta = _meta(symbols if order == "panel" else symbols[::-1])
    serial = _snapshot(panels, meta, False, monkeypatch)
    threaded = _snapshot(panels, meta, True, monkeypatch)
    assert len(serial["rankings"]) == len(symbols)
    for key in A.SNAPSHOT_KEYS:
        pd.testing.assert_frame_equal(threaded[key], serial[key], check_exact=True)


def test_sw02_worker_failure_surfaces_at_update(panels, monkeypatch):
    def broken(*args, **kwargs):
        raise FloatingPointError("breadth counts failed")

    monkeypatch.setattr(snapshot_breadth, "breadth_counts", broken)
    with pytest.raises(FloatingPointError, match="breadth counts failed"):
        _snapshot(panels, None, True, monkeypatch)
    monkeypatch.undo()
    assert len(_snapshot(panels, None, True, monkeypatch)["rankings"]) > 0


def _threaded_job_in_child(queue) -> None:
    queue.put(Job(sum, [1, 2, 3], threaded=True).result())


def test_sw03_a_forked_process_runs_its_own_worker():
    # gunicorn forks workers; a pool inherited from the parent has no thread.
    assert Job(sum, [1], threaded=True).result() == 1  # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_threaded_job_in_child, args=(queue,))
    child.start()
    child.join(timeout=20)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the child's threaded job never ran"
    assert queue.get(timeout=5) == 6

"""The day soak's memory figures: the RSS curve, its flatness, and a heap trace.

`summarise` turns (wall s, simulated time, RSS MB) samples into the warm-up,
mid-day and end points; the day after warm-up is cut in two halves, and the
curve is flat when the second half grows by at most `FLAT_MB`.

`HeapTrace` (the soak's `--trace-memory`) finds what grows: it puts a
`sitecustomize` on the server's PYTHONPATH that starts `tracemalloc` and,
whenever the benchmark drops a `NAME.want` file in the trace folder, dumps a
snapshot (`NAME.snap`) and the live object counts by type (`NAME.json`). The
benchmark asks for one at warm-up, mid-day and the end and prints the biggest
differences. Only Python allocations are traced: memory that C libraries take
with malloc (SQLite's page cache, for one) shows in RSS but not here.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pandas as pd

MARKET_TZ = "America/New_York"
WARMUP = pd.Timedelta(hours=1)
FLAT_MB = 10.0
TRACE_FRAMES = 8
TRACE_TOP = 12
SNAPSHOT_TIMEOUT_S = 120.0

SITECUSTOMIZE = """
import gc, json, os, threading, time, tracemalloc
from collections import Counter
from pathlib import Path

_dir = Path(os.environ["TICKSTOCK_SOAK_TRACE"])
tracemalloc.start(int(os.environ.get("TICKSTOCK_SOAK_TRACE_FRAMES", "8")))


def _serve():
    while True:
        for want in sorted(_dir.glob("*.want")):
            name = want.stem
            gc.collect()
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            snap.dump(str(_dir / (name + ".tmp")))
            os.replace(_dir / (name + ".tmp"), _dir / (name + ".snap"))
            types = Counter(type(o).__name__ for o in gc.get_objects())
            (_dir / (name + ".json")).write_text(json.dumps({
                "traced_mb": tracemalloc.get_traced_memory()[0] / 2**20,
                "gc_objects": sum(types.values()),
                "types": dict(types.most_common(200)),
            }))
            want.unlink()
        time.sleep(0.2)


threading.Thread(target=_serve, name="soak-heap-trace", daemon=True).start()
"""


def summarise(samples: list, day_start: pd.Timestamp, day_end: pd.Timestamp) -> dict:
    """Return the RSS curve: warm-up, mid-day, peak, end, halves, hourly points."""
    if not samples:
        raise RuntimeError("no RSS sample of the server")
    warm = next(
        (s for s in samples if s[1] >= day_start + WARMUP), samples[len(samples) // 2]
    )
    after = [s for s in samples if s[0] >= warm[0]]
    reached = samples[-1][1]
    half = warm[1] + (min(day_end, reached) - warm[1]) / 2
    mid = next((s for s in after if s[1] >= half), after[len(after) // 2])
    peak = max(after, key=lambda s: s[2])
    hourly: dict[int, float] = {}
    for _wall, when, rss in samples:
        hourly[when.tz_convert(MARKET_TZ).hour] = rss  # last sample of each hour
    end = samples[-1][2]
    second_half = end - mid[2]
    return {
        "first_mb": samples[0][2],
        "warm_mb": warm[2],
        "warm_at": warm[1],
        "mid_mb": mid[2],
        "mid_at": mid[1],
        "peak_mb": peak[2],
        "peak_at": peak[1],
        "end_mb": end,
        "first_half_mb": mid[2] - warm[2],
        "second_half_mb": second_half,
        "flat": second_half <= FLAT_MB,
        "hourly": hourly,
    }


class HeapTrace:
    """Ask the traced server for heap snapshots; print what grew between them."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "site").mkdir(exist_ok=True)
        (self.dir / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.taken: list[str] = []

    def env(self, pythonpath: str) -> dict[str, str]:
        """Return the server environment additions that turn tracing on."""
        return {
            "TICKSTOCK_SOAK_TRACE": str(self.dir),
            "TICKSTOCK_SOAK_TRACE_FRAMES": str(TRACE_FRAMES),
            "PYTHONPATH": f"{self.dir / 'site'}:{pythonpath}",
        }

    def snapshot(self, name: str, timeout: float = SNAPSHOT_TIMEOUT_S) -> bool:
        """Ask for snapshot `name` and wait for it; return True once written."""
        (self.dir / f"{name}.want").write_text("")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.dir / f"{name}.json").exists():
                self.taken.append(name)
                return True
            time.sleep(0.2)
        return False

    def report(self, top: int = TRACE_TOP) -> dict:
        """Print the biggest growth between consecutive snapshots; return totals."""
        out: dict = {}
        for a, b in zip(self.taken, self.taken[1:], strict=False):
            old = tracemalloc.Snapshot.load(str(self.dir / f"{a}.snap"))
            new = tracemalloc.Snapshot.load(str(self.dir / f"{b}.snap"))
            meta_a = json.loads((self.dir / f"{a}.json").read_text())
            meta_b = json.loads((self.dir / f"{b}.json").read_text())
            grew = meta_b["traced_mb"] - meta_a["traced_mb"]
            out[f"{a}->{b}"] = grew
            print(
                f"  heap {a} -> {b}: traced Python memory {meta_a['traced_mb']:.1f}"
                f" -> {meta_b['traced_mb']:.1f} MB ({grew:+.1f}); gc objects "
                f"{meta_a['gc_objects']:,} -> {meta_b['gc_objects']:,}"
            )
            for stat in new.compare_to(old, "lineno")[:top]:
                frame = stat.traceback[0]
                print(
                    f"    {stat.size_diff / 2**20:+8.2f} MB {stat.count_diff:+9,d} "
                    f"blocks  {frame.filename.split('site-packages/')[-1]}:"
                    f"{frame.lineno}"
                )
            types = {
                k: meta_b["types"].get(k, 0) - meta_a["types"].get(k, 0)
                for k in set(meta_a["types"]) | set(meta_b["types"])
            }
            grown = sorted(types.items(), key=lambda kv: -kv[1])[:8]
            print("    objects: " + ", ".join(f"{k} {v:+,d}" for k, v in grown))
        return out

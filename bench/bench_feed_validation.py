"""Benchmark the cost of feed validation on the decode + roll-up hot path.

Records `A` frames from the simulator (real protocol bytes, 500 symbols) once,
then replays them through `BarAssembler.feed` on one pinned core, alternating
passes without a validator, with one for the subscribed symbols, and with one
for the whole market (`AM.*`: symbols checked by syntax, then cached).
Reports events per CPU second (median over passes) and the ratio to the unvalidated run;
the target is that validation keeps at least half the throughput.

Run: `.venv/bin/python bench/bench_feed_validation.py [--quick]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_ingest import record_a_frames  # noqa: E402
from dashapp.store.livebars import LiveBarStore  # noqa: E402
from ingest.bars import BarAssembler  # noqa: E402
from ingest.validate import FeedValidator  # noqa: E402

SYMBOLS = 500
MINUTES = 4
PASSES = 9
MIN_RATIO = 0.5


def _symbols(frames: list[bytes]) -> list[str]:
    return sorted({e["sym"] for f in frames for e in orjson.loads(f)})


def run_pass(frames: list[bytes], events: int, validator: FeedValidator | None):
    """Feed every frame once; return events per CPU second of this thread."""
    asm = BarAssembler(lambda rows: None, LiveBarStore(), validator=validator)
    feed = asm.feed
    started = time.thread_time()
    for i, frame in enumerate(frames):
        feed(frame)
        if i % 250 == 0:
            asm.publish(0)
    elapsed = time.thread_time() - started
    assert asm.counts["events_A"] == events, asm.counts
    return events / elapsed


def main(argv: list[str] | None = None) -> dict:
    """Print events/s without and with validation, and their ratio; return them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args([] if argv is None else argv)
    frames = record_a_frames(SYMBOLS, 2 if args.quick else MINUTES)
    events = sum(len(orjson.loads(f)) for f in frames)
    symbols = _symbols(frames)
    # The recorded minutes are the simulator's; validate against its clock.
    newest = max(e["s"] for e in orjson.loads(frames[-1]))

    def clock() -> int:
        return newest + 1000

    pinned = hasattr(os, "sched_setaffinity")
    if pinned:  # one core; restored below (run_all runs other benches after)
        cores = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(cores)})
    modes = {
        "no validation": lambda: None,
        "validated, subscribed list": lambda: FeedValidator(symbols, clock_ms=clock),
        "validated, whole market": lambda: FeedValidator(None, clock_ms=clock),
    }
    rates: dict[str, list[float]] = {name: [] for name in modes}
    try:
        for _ in range(2 if args.quick else PASSES):
            for name, make in modes.items():
                rates[name].append(run_pass(frames, events, make()))
    finally:
        if pinned:
            os.sched_setaffinity(0, cores)
    base = statistics.median(rates["no validation"])
    print(f"\nfeed validation: {events:,} A events in {len(frames):,} frames")
    print(f"{'mode':<30} {'median ev/s':>12} {'min ev/s':>12} {'ratio':>7}")
    for name, values in rates.items():
        med = statistics.median(values)
        print(f"{name:<30} {med:>12,.0f} {min(values):>12,.0f} {med / base:>7.2f}")
    worst = min(statistics.median(v) for v in rates.values()) / base
    print(f"target ratio >= {MIN_RATIO}: {'PASS' if worst >= MIN_RATIO else 'FAIL'}")
    keys = ("unvalidated", "validated_subscribed", "validated_market")
    out = {}
    for key, values in zip(keys, rates.values(), strict=True):
        out[f"feed_{key}_events_per_s"] = statistics.median(values)
    out["feed_validation_worst_ratio"] = worst
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

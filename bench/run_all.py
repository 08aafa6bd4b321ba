"""Run the `bench/bench_*.py` benchmarks, print their tables, optionally save JSON.

    python bench/run_all.py [NAME ...] [--quick] [--json FILE]

NAMEs keep the benchmarks whose module name contains one of them (`analytics`,
`ingest`, `pages`, ...). `--quick` asks every benchmark for its short mode.
`--json FILE` writes one flat JSON object: the figures each benchmark's main()
returned, merged, the headline keys of `HEADLINE` always present (null when not
measured, with the reason under "skipped"), and the context (load average at
start and end, cores, Python, timestamp).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Headline figures -> the benchmark module that measures them.
HEADLINE = {
    "snapshot_full_ms": "bench_analytics",
    "snapshot_incremental_ms": "bench_analytics",
    "ticks_recent_p99_ms": "bench_api",
    "ticks_recent_rps": "bench_api",
    "minute_write_p99_ms_postgresql": "bench_ingest",
    "minute_write_p99_ms_sqlite": "bench_ingest",
    "decode_events_per_s": "bench_ingest",
    "market_page_ready_s": "bench_pages",
    "tabs_100_cores": "bench_pages",
    "import_rows_per_s_sqlite": "bench_history",
    "day_soak_rss_growth_mb": "bench_soak",
    "page_ready_worst_s": "bench_pages",
}

# The bars of the performance issue: key -> (comparison, bar).
BARS = {
    "snapshot_full_ms": ("<=", 50.0),
    "snapshot_incremental_ms": ("<=", 10.0),
    "ticks_recent_p99_ms": ("<=", 20.0),
    "ticks_recent_rps": (">=", 2000.0),
    "minute_write_p99_ms_postgresql": ("<=", 150.0),
    "minute_write_p99_ms_sqlite": ("<=", 300.0),
    "decode_events_per_s": (">=", 500_000.0),
    "market_page_ready_s": ("<=", 1.5),
    "tabs_100_cores": ("<=", 0.5),
    "import_rows_per_s_sqlite": (">=", 100_000.0),
    "day_soak_rss_growth_mb": ("<=", 100.0),
    "page_ready_worst_s": ("<=", 1.5),
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="module substrings")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--quick", action="store_true", help="short runs")
    return parser.parse_args(argv)


def selected(names: list[str]) -> list[str]:
    """Return the benchmark module names matching any of `names` (all if none)."""
    stems = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return [s for s in stems if not names or any(n in s for n in names)]


def _clean(value):
    """Return a JSON-safe value: NaN and infinities become null."""
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else None
    return value


def run(stems: list[str], quick: bool) -> tuple[dict, dict, list[str]]:
    """Run each module's main(argv); return (figures, skipped reasons, failed)."""
    figures: dict = {}
    skipped: dict[str, str] = {}
    failed: list[str] = []
    argv = ["--quick"] if quick else []
    for stem in stems:
        print(f"\n=== {stem} ===", flush=True)
        try:
            module = importlib.import_module(f"bench.{stem}")
            result = module.main(list(argv)) or {}
        except (Exception, SystemExit) as exc:  # one broken bench must not hide others
            print(f"FAILED: {type(exc).__name__}: {exc}", flush=True)
            failed.append(stem)
            reason = f"{stem} failed: {type(exc).__name__}: {exc}"
            skipped.update({k: reason for k, m in HEADLINE.items() if m == stem})
            continue
        if not isinstance(result, dict):  # an exit code from an older main()
            continue
        skipped.update(result.pop("skipped", None) or {})
        figures.update(result)
    return figures, skipped, failed


def report(figures: dict, skipped: dict, stems: list[str], context: dict) -> dict:
    """Return the flat JSON object: headline keys first, null when not measured."""
    out: dict = {}
    for key, module in HEADLINE.items():
        value = _clean(figures.get(key))
        out[key] = value
        if value is None and key not in skipped:
            skipped[key] = (
                f"{module} not selected" if module not in stems else "not measured"
            )
    for key, value in figures.items():
        if key not in out:
            out[key] = _clean(value)
    out.update(context)
    out["skipped"] = {k: v for k, v in skipped.items() if out.get(k) is None}
    return out


def verdict(key: str, value) -> str:
    """Return "met", "MISSED" or "-" (no bar or not measured) for a headline figure."""
    if key not in BARS or value is None:
        return "-"
    op, bar = BARS[key]
    met = value <= bar if op == "<=" else value >= bar
    return "met" if met else "MISSED"


def summary(figures: dict) -> list[str]:
    """Return the headline figures against their bars as table lines."""
    lines = [f"{'headline figure':<34} {'value':>12} {'bar':>12}  verdict"]
    for key in HEADLINE:
        value = _clean(figures.get(key))
        op, bar = BARS.get(key, ("", None))
        shown = "n/a" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".")
        target = "" if bar is None else f"{op} {bar:,g}"
        lines.append(f"{key:<34} {shown:>12} {target:>12}  {verdict(key, value)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; return non-zero if any failed."""
    sys.path.insert(0, str(HERE.parent))
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stems = selected(args.names)
    if not stems:
        print(f"no benchmark matches {args.names}", file=sys.stderr)
        return 2
    load_start = os.getloadavg()[0]
    started = time.time()
    figures, skipped, failed = run(stems, args.quick)
    context = {
        "benchmarks": stems,
        "failed": failed,
        "quick": args.quick,
        "load_avg_1m_start": round(load_start, 2),
        "load_avg_1m_end": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "timestamp": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(
            timespec="seconds"
        ),
        "duration_s": round(time.time() - started, 1),
    }
    print("\n" + "\n".join(summary(figures)))
    if args.json:
        out = report(figures, skipped, stems, context)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"\nwrote {args.json} ({len(out)} keys)")
    if failed:
        print(f"\nfailed benchmarks: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

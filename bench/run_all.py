"""Run every `bench/bench_*.py` benchmark in turn and print its table."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run each benchmark module's main(); return non-zero if any failed."""
    sys.path.insert(0, str(HERE.parent))
    failed = []
    only = sys.argv[1:]
    for path in sorted(HERE.glob("bench_*.py")):
        if only and not any(o in path.stem for o in only):
            continue
        print(f"\n=== {path.stem} ===", flush=True)
        try:
            module = runpy.run_path(str(path))
            module["main"]()
        except Exception as exc:  # keep going: one broken bench must not hide others
            print(f"FAILED: {type(exc).__name__}: {exc}")
            failed.append(path.stem)
    if failed:
        print(f"\nfailed benchmarks: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

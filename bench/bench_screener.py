"""Benchmark: `/api/screener` on the real S&P 500 daily history.

Imports ../shared/data/daily/sp500_etfs_daily_2020-07-27_2025-04-04_iexvol.csv.gz
into a temporary SQLite database (or reuses BENCH_SCREENER_DB), then times, per
run in a fresh app: the field table once the market state is cached (the
screener's own cost: the session row, the price fields over the snapshot
engine's settled arrays, the join), and a filtered
`/api/screener` request served from the cached table with a new query.
Targets: field table under 0.5 s, a new query on a cached table under 0.25 s.
Run: `.venv/bin/python bench/bench_screener.py [--quick]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import sp500_daily  # noqa: E402

TABLE_TARGET_S = 0.5
QUERY_TARGET_S = 0.25
REPEATS = 3
WHERE = ["rs_rating>=80", "stage=2", "pct_from_52w_high>=-10"]


def _database() -> str:
    path = os.environ.get("BENCH_SCREENER_DB")
    if path and Path(path).exists():
        return path
    path = str(Path(tempfile.mkdtemp()) / "real.db")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    tickstock = Path(sys.executable).with_name("tickstock")
    subprocess.run([str(tickstock), "import-daily", "--skip-bad", str(sp500_daily())],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return path


def _one_run(path: str) -> tuple[float, list[float], int, int]:
    from dashapp.factory import create_app
    from dashapp.market import _engines, market_state
    from dashapp.market.screener import screener
    from dashapp.settings import load_settings
    from tests.auth_helpers import bearer

    _engines.clear()
    env = {
        "DATABASE_URL": f"sqlite:///{path}",
        "TICKSTOCK_DATA_DIR": str(Path(path).parent),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "bench",
        "RATE_LIMIT_USER": "100000/minute",
    }
    app = create_app(load_settings(env, env_file=None), ingest=False)
    headers = bearer(app, "bench")
    with app.server.app_context():
        market_state("sp500", None)
        start = time.perf_counter()
        _state, table = screener("sp500", None)
        table_s = time.perf_counter() - start
    client = app.server.test_client()
    queries = []
    for limit in range(1, REPEATS + 2):  # a new query string each time: no body cache
        start = time.perf_counter()
        response = client.get(
            "/api/screener",
            query_string=[("where", w) for w in WHERE] + [("limit", str(limit))],
            headers=headers,
        )
        queries.append(time.perf_counter() - start)
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
    total = response.get_json()["total"]
    app.server.extensions["tickstock_store"].dispose()
    return table_s, queries, len(table), total


def main(argv: list[str] | None = None) -> None:
    """Print the screener timings as a table (median, p99, ratio to target)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    path = _database()
    runs = [_one_run(path) for _ in range(1 if args.quick else REPEATS)]
    tables = [r[0] for r in runs]
    queries = [q for r in runs for q in r[1]]
    print(f"screened names: {runs[-1][2]}, matching {WHERE}: {runs[-1][3]}")
    print(f"{'metric':<34}{'median s':>10}{'p99 s':>10}{'target':>9}{'ratio':>8}")
    for name, values, target in (
        ("field table (state cached)", tables, TABLE_TARGET_S),
        ("/api/screener new query", queries, QUERY_TARGET_S),
    ):
        median = statistics.median(values)
        print(
            f"{name:<34}{median:>10.3f}{max(values):>10.3f}{target:>9.2f}"
            f"{median / target:>8.2f}"
        )


if __name__ == "__main__":
    main()

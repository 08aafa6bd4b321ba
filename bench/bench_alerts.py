"""Benchmark alert evaluation and webhook hand-off.

An app on a temp SQLite file with the test seed (17 symbols, 300 sessions, 120
AAPL minutes); N alerts spread over the symbols and conditions. Times one
evaluation round after a new minute bar (the leader's work per minute), and the
time `WebhookSender.submit` takes while every receiver hangs (what an evaluation
round can wait on a webhook: it must stay near zero).
Run: `.venv/bin/python bench/bench_alerts.py`. main() returns the figures.
"""

from __future__ import annotations

import http.server
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.alerts import CONDITIONS  # noqa: E402
from dashapp import auth  # noqa: E402
from dashapp.market.alert_eval import AlertEvaluator  # noqa: E402
from dashapp.ops.webhooks import Delivery, WebhookSender  # noqa: E402
from tests.alerts_helpers import make_app  # noqa: E402
from tests.auth_helpers import SEED_SYMBOLS, TEST_PASSWORD, seed_bars  # noqa: E402

ALERT_COUNTS = (100, 1_000)
ROUNDS = 9
ROUND_TARGET_MS = 1_000.0  # evaluated once a minute: well under a second
SUBMIT_TARGET_MS = 1.0
SUBMITS = 500
VALUES = {"price_above": 100.0, "price_below": 100.0, "rs_rating_above": 50.0,
          "rs_rating_below": 50.0}  # fmt: skip


class _Hang(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        time.sleep(5)

    def log_message(self, *_args):
        return


def _round_ms(count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        store = app.server.extensions["tickstock_store"]
        seed_bars(store)
        auth.create_user(store, "bench", TEST_PASSWORD, auth.USER)
        uid = store.get_user(username="bench")["id"]
        for i in range(count):
            condition = CONDITIONS[i % len(CONDITIONS)]
            symbol = SEED_SYMBOLS[i % len(SEED_SYMBOLS)]
            store.create_alert(uid, symbol, condition, VALUES.get(condition))
        evaluator = AlertEvaluator(app.server, store)
        times = []
        ts = pd.Timestamp("2025-04-01 15:30", tz="UTC")
        for i in range(ROUNDS):
            when = ts + pd.Timedelta(minutes=i)
            bar = {"symbol": "AAPL", "ts": when, "open": 100.0, "high": 101.0,
                   "low": 99.0, "close": 100.0 + i % 3, "volume": 1.0}  # fmt: skip
            store.upsert_minute_bars([bar])
            started = time.perf_counter()
            evaluator.poll()
            times.append(1000 * (time.perf_counter() - started))
        store.dispose()
        return statistics.median(times[1:])


def _submit_ms() -> tuple[float, float]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hang)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    sender = WebhookSender(timeout_s=0.5)
    times = []
    for _ in range(SUBMITS):
        started = time.perf_counter()
        sender.submit(Delivery(url, "x" * 16, {"type": "alert"}))
        times.append(1000 * (time.perf_counter() - started))
    sender.stop(timeout=0.1)
    server.shutdown()
    times.sort()
    return statistics.median(times), times[int(0.99 * len(times)) - 1]


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print and return the figures (`argv` is accepted for run_all; unused)."""
    out = {f"round_{n}_alerts_ms": _round_ms(n) for n in ALERT_COUNTS}
    out["submit_median_ms"], out["submit_p99_ms"] = _submit_ms()
    print(f"{'figure':<24}{'value':>10}{'target':>10}{'ratio':>8}")
    for name, value in out.items():
        target = SUBMIT_TARGET_MS if name.startswith("submit") else ROUND_TARGET_MS
        print(f"{name:<24}{value:>10.3f}{target:>10.1f}{value / target:>8.3f}")
    return out


if __name__ == "__main__":
    main()

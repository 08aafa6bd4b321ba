"""A hostile feed end to end: poison events mixed into the simulator's frames.

Every valid bar must land exactly once with its values, every poison event
must be counted by reason and absent from the database, and the WebSocket
session must stay up (no reconnect), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses

import pytest

from ingest.bars import MS_PER_MINUTE
from ingest.validate import (
    BAD_PRICE,
    BAD_SYMBOL,
    BAD_VOLUME,
    MALFORMED,
    NOT_A_NUMBER,
    OFF_GRID,
    OHLC_ORDER,
    OUT_OF_RANGE,
    UNSUBSCRIBED,
)
from tests.conftest import STORE_KINDS, make_store
from tests.test_ingest_e2e import FAST, assert_matches_truth, settle, start_ingest

DAY_MS = 86_400_000
LONG = "P" * 30


def sim_clock(sim):
    """Return the simulator's clock in epoch ms (it runs ahead of real time)."""
    return lambda: int(sim.now().value // 1_000_000)


def bar(ev, sym, start, **changes):
    """Return a plausible event that `changes` then make poisonous."""
    grid = MS_PER_MINUTE if ev == "AM" else 1000
    event = {"ev": ev, "sym": sym, "v": 1200, "av": 50_000, "op": 50.0, "vw": 50.1,
             "o": 50.0, "c": 50.2, "h": 50.4, "l": 49.9, "a": 50.0, "z": 12,
             "s": start, "e": start + grid}  # fmt: skip
    event.update(changes)
    if "s" in changes and "e" not in changes and isinstance(changes["s"], int):
        event["e"] = changes["s"] + grid
    return event


def poison_minute(syms, minute):
    """Return (before, after, expected reasons) of AM poison for one minute."""
    a, b, c = syms[:3]
    before = [
        bar("AM", a, 2**62 - 2**62 % MS_PER_MINUTE),  # once ended the session
        bar("AM", LONG, minute),
        bar("AM", "ZZZZ", minute),
        bar("AM", b, minute, s=0),  # 1970
        bar("AM", b, minute, s=minute + DAY_MS),  # far future
    ]
    after = [  # after the valid bars of the same minute and symbols
        bar("AM", a, minute, o=-1.0, l=-2.0),
        bar("AM", a, minute, v=-5),
        bar("AM", b, minute, h=40.0),  # high < low
        bar("AM", b, minute, o=True),
        bar("AM", c, minute, c="NaN"),
        bar("AM", c, minute, s=minute + 1234, e=minute + 61_234),
        bar("AM", c, minute, v=1e30),
    ]
    reasons = {
        OUT_OF_RANGE: 3,
        BAD_SYMBOL: 1,
        UNSUBSCRIBED: 1,
        BAD_PRICE: 1,
        BAD_VOLUME: 2,
        OHLC_ORDER: 1,
        NOT_A_NUMBER: 1,
        MALFORMED: 1,
        OFF_GRID: 1,
    }
    return before, after, reasons


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_poison_feed_is_rejected_valid_bars_land_once_session_stays_up(kind, tmp_path):
    from ingest.simulator import Simulator

    sim = Simulator(6, seed=5, speed="fast")
    sim.start()
    store = make_store(kind, tmp_path)
    options = dataclasses.replace(FAST, feed_clock_ms=sim_clock(sim))
    service = start_ingest(sim, store, tmp_path, options=options)
    expected: dict[str, int] = {}
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")
        assert sim.wait_for_subscribers(1, "A")
        syms = list(sim.symbols)
        sim.advance(1)
        for _ in range(2):
            minute = int(sim.now().value // 1_000_000)
            before, after, reasons = poison_minute(syms, minute)
            sim.mix_into_next("AM", before=before, after=after)
            # Per-second poison in the first second's frame of that minute.
            sim.mix_into_next(
                "A",
                before=[bar("A", syms[0], minute, h=40.0)],
                after=[bar("A", syms[1], 0), bar("A", "QQQQ", minute)],
            )
            sim.advance(1)
            for reason, n in reasons.items():
                expected[reason] = expected.get(reason, 0) + n
            for reason in (OHLC_ORDER, OUT_OF_RANGE, UNSUBSCRIBED):
                expected[reason] += 1
        # A frame of nothing but poison, between minutes.
        minute = int(sim.now().value // 1_000_000)
        assert sim.send_events([bar("AM", syms[2], minute, l=0.0), 7]) == 1
        expected[BAD_PRICE] += 1
        sim.advance(1)
        settle(service, sim)

        merged = assert_matches_truth(store, sim)
        assert len(merged) == 4 * len(syms)
        health = service.health()
        assert health["rejected"] == expected
        assert service.validator.rejected == sum(expected.values())
        stored = store.read_minute()
        assert set(stored["symbol"]) == set(syms)
        assert stored["ts"].min() == merged["ts"].min()
        assert (stored[["open", "high", "low", "close", "volume"]] >= 0).all().all()
        # The session never dropped, the writer never saw a bad row.
        assert health["stream"]["connects"] == 1 and health["reconnects"] == 0
        assert health["writer"]["quarantined_rows"] == 0
        assert health["writer"]["spilled_rows"] == 0
        assert store.count_rejected_bars() == 0
        level, detail = service.ready_check()
        assert level == "ok" and f"{sum(expected.values())} feed events" in detail
    finally:
        service.stop()
        store.dispose()
        sim.stop()


def test_metrics_and_ready_tell_rejects_and_quarantine_apart(tmp_path):
    from dashapp.factory import create_app
    from dashapp.settings import load_settings
    from tests.auth_helpers import bearer
    from tests.test_ingest_e2e import wait_for

    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "TICKSTOCK_DATA_DIR": str(tmp_path),
            "TICKSTOCK_DEMO_DATA": "false",
            "SECRET_KEY": "test",
            "INGEST_UNIVERSE": "AAPL,MSFT",
        },
        env_file=None,
    )
    app = create_app(settings, ingest=True)
    ext = app.server.extensions
    try:
        assert wait_for(lambda: ext.get("tickstock_ingest") is not None, 10)
        service = ext["tickstock_ingest"]
        assert service.wait_streaming(10)
        now = int(service.simulator.now().value // 1_000_000)
        minute = now - now % MS_PER_MINUTE - MS_PER_MINUTE
        poison = [bar("AM", LONG, minute), bar("AM", "AAPL", minute, v=-1)]
        assert service.simulator.send_events(poison) == 1
        assert wait_for(lambda: service.validator.rejected == 2, 10)
        # A bad row that reached the writer anyway (bypassing the validator).
        service.writer.submit([(LONG, minute, 1.0, 1.0, 1.0, 1.0, 1, 1.0, None)])
        assert wait_for(lambda: service.writer.stats["quarantined_rows"] == 1, 10)

        client = app.server.test_client()
        text = client.get("/metrics", headers=bearer(app)).get_data(as_text=True)
        assert 'tickstock_feed_rejected_total{reason="bad_symbol"} 1.0' in text
        assert 'tickstock_feed_rejected_total{reason="bad_volume"} 1.0' in text
        assert "tickstock_ingest_quarantined_rows_total 1.0" in text
        ingest = client.get("/ready").get_json()["checks"]["ingest"]
        assert ingest["status"] == "ok", ingest
        assert "1 bad rows quarantined" in ingest["detail"]
        assert "2 feed events rejected" in ingest["detail"]
        assert "database down" not in ingest["detail"]
    finally:
        service = ext.get("tickstock_ingest")
        if service is not None:
            service.stop()
        ext["tickstock_observability"].stop()

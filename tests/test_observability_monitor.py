"""`tickstock monitor`: counts per channel and event type, rates, last error,
health verdict; the CLI against real Redis channels."""

from __future__ import annotations

import threading
import time
import uuid

import orjson
import pytest
import redis
from rich.console import Console

from dashapp.cli import main
from dashapp.ops.monitor import MonitorState

ERR, MON = "t:errors", "t:monitoring"


def _health(instance: str, role: str = "follower", status: str = "ok") -> dict:
    return {
        "type": "health",
        "instance_id": instance,
        "role": role,
        "status": status,
        "ingest_enabled": True,
        "interval_s": 5.0,
        "ingest_events_per_s": 10.0,
        "cache_hit_rate": 0.5,
    }


def _text(state: MonitorState, now: float) -> str:
    console = Console(record=True, width=160)
    console.print(state.render(now))
    return console.export_text()


def test_mo01_state_counts_rates_and_verdicts():
    state = MonitorState(ERR, MON)
    t0 = 1_000_000.0
    state.started = t0
    assert state.verdict(t0)[0] == "no data"
    state.feed(MON, _health("a", "leader"), now=t0)
    state.feed(MON, _health("b"), now=t0 + 1)
    assert state.verdict(t0 + 2) == ("ok", "2 instance(s) healthy")
    state.feed(ERR, {"level": "ERROR", "source": "x", "message": "kaput"}, now=t0 + 3)
    state.feed(ERR, {"level": "CRITICAL", "message": "worse"}, now=t0 + 4)
    state.feed(MON, _health("a", "leader"), now=t0 + 5)
    state.feed(MON, _health("b"), now=t0 + 5)
    assert state.verdict(t0 + 6) == ("degraded", "errors in the last minute")
    assert state.counts[(ERR, "ERROR")] == 1 and state.counts[(MON, "health")] == 4
    assert state.rates(t0 + 10)[MON] == pytest.approx(4 / 10)
    text = _text(state, t0 + 6)
    assert "DEGRADED" in text and "worse" in text and "CRITICAL" in text
    assert "leader" in text and "50%" in text
    state.feed(MON, _health("b", "leader"), now=t0 + 7)
    assert state.verdict(t0 + 7)[1] == "2 ingest leaders"
    state.feed(MON, _health("b", status="fail"), now=t0 + 8)
    assert state.verdict(t0 + 8)[0] == "fail"
    assert state.verdict(t0 + 100)[0] == "stale"  # nobody reported for 3 intervals
    state.feed(MON, _health("c"), now=t0 + 100)
    assert state.verdict(t0 + 100) == ("degraded", "no ingest leader")


def test_mo02_cli_watches_real_channels(redis_url, monkeypatch, capsys):
    tag = uuid.uuid4().hex[:8]
    errors, monitoring = f"test:{tag}:errors", f"test:{tag}:monitoring"
    for name, value in {
        "REDIS_URL": redis_url,
        "REDIS_ERROR_CHANNEL": errors,
        "REDIS_MONITORING_CHANNEL": monitoring,
        "COLUMNS": "200",  # rich: wide enough for every column
    }.items():
        monkeypatch.setenv(name, value)
    client = redis.Redis.from_url(redis_url)

    def publish() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if dict(client.pubsub_numsub(errors)).get(errors.encode(), 0):
                break
            time.sleep(0.02)
        for i in range(3):
            client.publish(monitoring, orjson.dumps(_health(f"inst-{i}")))
        client.publish(
            errors,
            orjson.dumps(
                {"level": "ERROR", "source": "cli.test", "message": "it broke"}
            ),
        )

    feeder = threading.Thread(target=publish)
    feeder.start()
    with pytest.raises(SystemExit) as exit_info:
        main(["monitor", "--duration", "2", "--plain"])
    feeder.join()
    client.close()
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "it broke" in out and "cli.test" in out
    assert "inst-0" in out and "inst-2" in out
    rows = {
        tuple(part.strip() for part in line.strip("│ ").split("│")[:3])
        for line in out.splitlines()
        if "│" in line
    }
    assert (monitoring, "health", "3") in rows and (errors, "ERROR", "1") in rows


def test_mo03_cli_needs_redis(monkeypatch, capsys):
    monkeypatch.setenv("REDIS_URL", "")
    with pytest.raises(SystemExit) as exit_info:
        main(["monitor", "--duration", "0.1"])
    assert exit_info.value.code == 2
    assert "REDIS_URL" in capsys.readouterr().out

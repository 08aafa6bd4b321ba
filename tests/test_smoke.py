"""`make run` smoke: the real process starts, answers /health, renders Home."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import free_port

START_DEADLINE_S = 20


@pytest.mark.slow
def test_sm01_serve_process_health_within_20s(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "PORT": str(port),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashapp.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.monotonic()
        body = None
        while time.monotonic() - started < START_DEADLINE_S:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
                    body = r.read()
                    break
            except OSError:
                time.sleep(0.2)
        assert body == b'{"status":"ok"}\n', "no /health within 20 s"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as r:
            html = r.read().decode()
        assert "TickStock" in html and "_dash-renderer" in html
        assert (tmp_path / "tickstock.db").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

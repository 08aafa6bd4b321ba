"""`make run` smoke: the real process starts, answers /health, renders Home."""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from dashapp import auth
from tests.conftest import free_port

START_DEADLINE_S = 20


def logged_in_home(base: str, password: str) -> str:
    """Log in as the first-run admin through the real form; return the Home HTML."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(base + auth.LOGIN_PATH).read()
    csrf = next(c.value for c in jar if c.name == auth.CSRF_COOKIE)
    form = urllib.parse.urlencode(
        {"username": "admin", "password": password, auth.CSRF_FIELD: csrf}
    ).encode()
    opener.open(base + auth.LOGIN_POST, data=form).read()
    with opener.open(base + "/") as resp:
        assert resp.url.rstrip("/") == base, f"not logged in: {resp.url}"
        return resp.read().decode()


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
        assert (tmp_path / "tickstock.db").exists()
        password = (tmp_path / "initial-admin-password").read_text().strip()
        assert len(password) >= 12
        html = logged_in_home(f"http://127.0.0.1:{port}", password)
        assert "TickStock" in html and "_dash-renderer" in html
    finally:
        proc.terminate()
        proc.wait(timeout=10)

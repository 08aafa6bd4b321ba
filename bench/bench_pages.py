"""Page benchmarks on the S&P 500 universe (real daily bars from ../shared/data).

1. Poll callback server time through the Dash endpoint (Flask test client, logged
   in): unchanged data version (must answer 204 from the version check) and a
   new data version (a minute bar was written: snapshot recomputed + view rendered;
   also the render alone, with the snapshot already computed).
2. Page ready in headless Chromium: from navigation start until every graph on
   the page has drawn and its status line is filled, warm server cache, for
   every analyst page (pages without a status line: once their Dash requests
   have gone quiet); the worst median is `page_ready_worst_s`.
3. 100 simulated tabs polling the Market page every second against a real
   server process (`app.run`, as `tickstock serve`): that process's CPU.

Run: `.venv/bin/python bench/bench_pages.py [poll] [browser] [tabs] [--quick]`
(`--quick`: fewer polls and page loads, 8 s of tabs). main() returns the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import sp500_daily  # noqa: E402

DAILY_FILE = sp500_daily()  # TICKSTOCK_SHARED_DATA, else ../shared/data
SESSIONS = 460  # covers 253 sessions for RS + 52 weeks of Mansfield + MA30
MINUTE_SYMBOLS = ("SPY", "QQQ", "IWM", "DIA", "AAPL")
USERNAME, PASSWORD = "analyst", "Pages-timing-pw-2025"
TARGET_READY_S = 1.5
TARGET_UNCHANGED_MS = 5.0
TARGET_NEW_MS = 150.0
TARGET_TABS_CPU = 0.50
TABS = 100
TAB_PERIOD_S = 1.0
TAB_SECONDS = 20.0
UNCHANGED_RUNS = 200
NEW_RUNS = 12
BROWSER_RUNS = 5
QUICK = {"unchanged": 30, "new": 2, "browser": 2, "tab_seconds": 8.0}
FULL = {
    "unchanged": UNCHANGED_RUNS,
    "new": NEW_RUNS,
    "browser": BROWSER_RUNS,
    "tab_seconds": TAB_SECONDS,
}
PAGE_DEFAULTS = {
    "market-window": "ret_1d",
    "sectors-period": "weekly",
    "sectors-tail": 10,
    "stages-pick": 2,
    "symbol-interval": "D",
    "symbol-name": "AAPL",
}
PAGES = {
    "market": "/",
    "rankings": "/rankings",
    "sectors": "/sectors",
    "stages": "/stages",
    "breadth": "/breadth",
    "symbol": "/symbol/AAPL",
}
# Every analyst page timed in the browser. Pages with a poll-filled status line
# are ready when it is filled and every graph and grid has drawn (READY_JS);
# the others when their Dash requests have gone quiet (QUIET_READY_JS).
BROWSER_PAGES = {
    **PAGES,
    "groups": "/groups",
    "screener": "/screener",
    "alerts": "/alerts",
    "streaming": "/streaming",
    "about": "/about",
}
NO_STATUS = ("alerts", "streaming", "about")
QUIET_S = 0.2
# Installed before any page script: counts Dash callback requests in flight.
FETCH_HOOK_JS = """
window.__tsPending = 0; window.__tsDone = 0; window.__tsLast = 0;
const tsFetch = window.fetch;
window.fetch = function (input, init) {
  const url = String((input && input.url) || input);
  if (!url.includes('_dash-update-component')) {
    return tsFetch.apply(this, arguments);
  }
  window.__tsPending += 1;
  return tsFetch.apply(this, arguments).finally(() => {
    window.__tsPending -= 1; window.__tsDone += 1; window.__tsLast = performance.now();
  });
};
"""
QUIET_READY_JS = """
const root = document.getElementById('_pages_content');
if (!root || !root.children.length || window.__tsPending) { return null; }
for (const g of root.querySelectorAll('.dash-graph')) {
  const plot = g.querySelector('.js-plotly-plot');
  if (!plot || !plot._fullLayout) { return null; }
}
return [Math.max(window.__tsLast, 0), window.__tsDone, performance.now()];
"""
READY_JS = """
const root = document.getElementById('_pages_content');
const status = document.querySelector('[id$="-status"]');
if (!root || !status || !status.textContent.trim()) { return null; }
for (const g of root.querySelectorAll('.dash-graph')) {
  const plot = g.querySelector('.js-plotly-plot');
  const notes = (plot && plot.layout && plot.layout.annotations) || [];
  const drawn = plot && plot._fullLayout && ((plot.data || []).length || notes.length);
  if (!drawn) { return null; }
}
for (const grid of root.querySelectorAll('.tickstock-grid')) {
  const rows = grid.querySelector('.ag-row');
  if (!rows && !grid.querySelector('.ag-overlay-no-rows-center')) { return null; }
}
return performance.now();
"""


# ---------------------------------------------------------------- database
def _settings(folder: Path, **extra: str):
    from dashapp.settings import load_settings

    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "TICKSTOCK_DATA_DIR": str(folder),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "bench-secret",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    return load_settings(env, env_file=None)


def _minutes(daily: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Return 390 regular-session minute bars per symbol ending at the daily close."""
    rng = np.random.default_rng(5)
    start = pd.Timestamp.combine(day.date(), dt.time(9, 30)).tz_localize(
        "America/New_York"
    )
    stamps = (start + pd.to_timedelta(np.arange(390), unit="min")).tz_convert("UTC")
    frames = []
    for sym in MINUTE_SYMBOLS:
        row = daily[(daily.symbol == sym) & (daily.date == day)].iloc[0]
        path = np.linspace(row.open, row.close, 390) * (
            1 + 0.0005 * rng.standard_normal(390)
        )
        frames.append(
            pd.DataFrame(
                {
                    "symbol": sym,
                    "ts": stamps,
                    "open": path,
                    "high": path * 1.0005,
                    "low": path * 0.9995,
                    "close": path,
                    "volume": row.volume / 390,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def build_database(folder: Path):
    """Load the last SESSIONS sessions of real S&P 500 bars into a SQLite file."""
    from dashapp import auth
    from dashapp.factory import prepare_store

    settings = _settings(folder)
    daily = pd.read_csv(DAILY_FILE, parse_dates=["date"])
    dates = np.sort(daily["date"].unique())[-SESSIONS:]
    daily = daily[daily["date"].isin(dates)]
    store = prepare_store(settings)
    store.bulk_upsert_daily(
        daily[["symbol", "date", "open", "high", "low", "close", "volume"]]
    )
    store.upsert_minute_bars(_minutes(daily, pd.Timestamp(dates[-1])))
    auth.create_user(store, USERNAME, PASSWORD)
    store.dispose()
    return settings, len(daily), daily["symbol"].nunique()


# ------------------------------------------------------------ poll timing
def _login(client) -> str:
    client.get("/login")
    token = client.get_cookie("_csrf_token").value
    client.post(
        "/auth/login",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": token},
    )
    return client.get_cookie("_csrf_token").value


def _value(spec: dict):
    cid, prop = spec["id"], spec["property"]
    if cid.startswith("{"):
        kind = json.loads(cid)["type"]
        return {"universe": "sp500", "asof": "now", "time": ""}[kind]
    if prop == "n_intervals":
        return 1
    return PAGE_DEFAULTS.get(cid)


def poll_payload(app, page: str, version) -> dict:
    """Return the Dash request body of a page's poll callback."""
    key, cb = next(
        (k, v) for k, v in app.callback_map.items() if f"..{page}-version.data" in k
    )
    outputs = [
        {"id": o.component_id, "property": o.component_property} for o in cb["output"]
    ]

    def spec(item, value):
        cid = item["id"]
        return {
            "id": json.loads(cid) if cid.startswith("{") else cid,
            "property": item["property"],
            "value": value,
        }

    state = []
    for s in cb["state"]:
        value = version if s["id"] == f"{page}-version" else _value(s)
        state.append(spec(s, value))
    return {
        "output": key,
        "outputs": outputs,
        "inputs": [spec(i, _value(i)) for i in cb["inputs"]],
        "state": state,
        "changedPropIds": [f"{page}-poll.n_intervals"],
    }


def _post(client, token, body) -> tuple[float, object]:
    t0 = time.perf_counter()
    resp = client.post(
        "/_dash-update-component", json=body, headers={"X-CSRFToken": token}
    )
    return (time.perf_counter() - t0) * 1000, resp


def _version_of(page: str, resp) -> object:
    data = resp.get_json()["response"][f"{page}-version"]["data"]
    return data


POST_MARKET_MINUTES = 230  # minute bars stay in the last session's post-market


def _write_minute(store, symbol: str, minute: int) -> None:
    """Write one post-market minute bar of the newest session (a new data version)."""
    offset = pd.Timedelta(minutes=minute % POST_MARKET_MINUTES)
    when = pd.Timestamp("2025-04-04 16:00", tz="America/New_York") + offset
    store.upsert_minute_bars(
        [
            {
                "symbol": symbol,
                "ts": when,
                "open": 100.0,
                "high": 100.5,
                "low": 99.5,
                "close": 100.0 + minute / 100,
                "volume": 1000.0,
            }
        ]
    )


def _callback_only(app, page: str, body: dict, runs: int) -> list[float]:
    """Time the page's poll callback itself (no HTTP, auth or Dash dispatch)."""
    import importlib

    from dash.exceptions import PreventUpdate

    module = importlib.import_module(f"pages.{page}")
    fn = getattr(module, f"refresh_{page}")
    args = [i["value"] for i in body["inputs"]] + [s["value"] for s in body["state"]]
    times = []
    with app.server.test_request_context():
        for _ in range(runs):
            t0 = time.perf_counter()
            try:
                fn(*args)
            except PreventUpdate:
                pass
            times.append((time.perf_counter() - t0) * 1000)
    return times


def bench_poll(settings, runs: dict = FULL) -> list[tuple]:
    """Time each page's poll callback with unchanged and with new data."""
    from dashapp.factory import create_app
    from dashapp.market import market_state, queries

    app = create_app(settings, ingest=False)
    store = app.server.extensions["tickstock_store"]
    client = app.server.test_client()
    token = _login(client)
    rows = []
    for n, page in enumerate(PAGES):
        ms, resp = _post(client, token, poll_payload(app, page, None))
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        first = ms
        version = _version_of(page, resp)
        body = poll_payload(app, page, version)
        same = []
        for _ in range(runs["unchanged"]):
            ms, resp = _post(client, token, body)
            assert resp.status_code == 204
            same.append(ms)
        only = _callback_only(app, page, body, runs["unchanged"])
        full, render = [], []
        for i in range(runs["new"]):
            _write_minute(store, "SPY", 1000 * n + 2 * i)
            time.sleep(queries.VERSION_TTL_S)  # pages re-read the version this often
            ms, resp = _post(client, token, body)
            assert resp.status_code == 200
            full.append(ms)
            body = poll_payload(app, page, _version_of(page, resp))
            _write_minute(store, "SPY", 1000 * n + 2 * i + 1)
            time.sleep(queries.VERSION_TTL_S)
            with app.server.test_request_context():
                market_state("sp500", "now")  # snapshot ready: time the view only
            ms, resp = _post(client, token, body)
            render.append(ms)
            body = poll_payload(app, page, _version_of(page, resp))
        rows.append((page, first, same, only, full, render))
    return rows


# --------------------------------------------------------- browser timing
def _chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for arg in (
        "--headless=new",
        "--window-size=1280,800",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    binary = shutil.which("chromium")
    if binary:
        options.binary_location = binary
    return webdriver.Chrome(options=options)


def _serve(settings, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DB": settings.database_url}
    code = (
        "import os,sys; sys.argv=['x']\n"
        "from bench.bench_pages import _settings\n"
        "from pathlib import Path\n"
        "from app import create_app\n"
        "folder = Path(os.environ['BENCH_DB'].removeprefix('sqlite:///')).parent\n"
        "app = create_app(_settings(folder), ingest=False)\n"
        f"app.run(host='127.0.0.1', port={port}, debug=False)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("bench server did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def login_browser(driver, base: str) -> None:
    """Log the browser in through the login form."""
    driver.implicitly_wait(10)
    driver.get(f"{base}/login")
    driver.find_element("id", "login-username").send_keys(USERNAME)
    field = driver.find_element("id", "login-password")
    field.send_keys(PASSWORD)
    field.submit()
    deadline = time.monotonic() + 30
    while "/login" in driver.current_url and time.monotonic() < deadline:
        time.sleep(0.1)
    driver.implicitly_wait(0)


def _ready_ms(driver, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(READY_JS)
        if value is not None:
            return float(value)
        time.sleep(0.02)
    raise TimeoutError(driver.current_url)


NAV_JS = """
window.__tsNavStart = performance.now();
window.history.pushState({}, '', arguments[0]);
window.dispatchEvent(new PopStateEvent('popstate'));
"""
# Ready after an in-app navigation: the target page's status is filled and
# every graph on it has drawn; returns ms since the navigation started.
NAV_READY_JS = """
const status = document.getElementById(arguments[0] + '-status');
if (!status || !status.textContent.trim()) { return null; }
const root = document.getElementById('_pages_content');
for (const g of root.querySelectorAll('.dash-graph')) {
  const plot = g.querySelector('.js-plotly-plot');
  const notes = (plot && plot.layout && plot.layout.annotations) || [];
  const drawn = plot && plot._fullLayout && ((plot.data || []).length || notes.length);
  if (!drawn) { return null; }
}
for (const grid of root.querySelectorAll('.tickstock-grid')) {
  if (!grid.querySelector('.ag-row')) { return null; }
}
return performance.now() - window.__tsNavStart;
"""


def _quiet_ready_ms(driver, timeout: float = 30.0) -> float:
    """Return when the page was first seen settled, confirmed quiet for QUIET_S."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        value = driver.execute_script(QUIET_READY_JS)
        if value is None:
            seen = None
        elif seen is None or value[1] != seen[0][1]:
            seen = (value, time.monotonic())
        elif time.monotonic() - seen[1] >= QUIET_S:
            return float(seen[0][2])
        time.sleep(0.02)
    raise TimeoutError(driver.current_url)


def _page_ready_ms(driver, page: str, timeout: float = 30.0) -> float:
    if page in NO_STATUS:
        return _quiet_ready_ms(driver, timeout)
    return _ready_ms(driver, timeout)


def _nav_ms(driver, page: str, path: str, timeout: float = 30.0) -> float:
    driver.execute_script(NAV_JS, path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(NAV_READY_JS, page)
        if value is not None:
            return float(value)
        time.sleep(0.02)
    raise TimeoutError(path)


def bench_browser(settings, runs: int = BROWSER_RUNS) -> list[tuple]:
    """Return (page, [ms to ready per full load], [ms per in-app navigation])."""
    if not shutil.which("chromedriver"):
        return []
    port = _free_port()
    proc = _serve(settings, port)
    base = f"http://127.0.0.1:{port}"
    driver = _chrome()
    try:
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": FETCH_HOOK_JS}
        )
        login_browser(driver, base)
        rows = []
        for page, path in BROWSER_PAGES.items():
            driver.get(base + path)
            _page_ready_ms(driver, page, 120)  # first visit computes the views
            loads = []
            for _ in range(runs):
                driver.get(base + path)
                loads.append(_page_ready_ms(driver, page))
            rows.append((page, loads, []))
        navs = {row[0]: row[2] for row in rows}
        order = list(PAGES.items())  # in-app navigation: the original six pages
        for _ in range(runs):
            for i, (page, path) in enumerate(order):
                # Leave through another page so each arrival is a real navigation.
                other_page, other_path = order[i - 1]
                try:
                    _nav_ms(driver, other_page, other_path)
                    navs[page].append(_nav_ms(driver, page, path))
                except TimeoutError as exc:  # keep the full-load figures
                    print(f"in-app navigation to {exc} timed out")
        return rows
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(10)


# ------------------------------------------------------------- 100 tabs
def _cpu_seconds(pid: int) -> float:
    """Return user+system CPU seconds of a process and its child processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _serve_gunicorn(settings, port: int) -> subprocess.Popen:
    """Serve the app as production does: gunicorn, one gthread worker."""
    import urllib.request

    folder = Path(settings.database_url.removeprefix("sqlite:///")).parent
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url,
        "TICKSTOCK_DATA_DIR": str(folder),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "bench-secret",
        "LOG_LEVEL": "WARNING",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "-c", "python:dashapp.gunicorn_conf", "app:server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def bench_tabs(settings, server: str = "dev", seconds: float = TAB_SECONDS) -> dict:
    """Return the server's CPU share while TABS clients poll Market every second."""
    import requests

    from dashapp.factory import create_app

    port = _free_port()
    proc = (_serve_gunicorn if server == "gunicorn" else _serve)(settings, port)
    base = f"http://127.0.0.1:{port}"
    app = create_app(settings, ingest=False)  # only to read the callback map
    stop = threading.Event()
    counts = {"ok": 0, "other": 0}
    lock = threading.Lock()

    try:
        # One login shared by every tab, as tabs of one browser share its cookies
        # (the login form is rate limited per IP).
        login = requests.Session()
        login.get(f"{base}/login")
        login.post(
            f"{base}/auth/login",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrf_token": login.cookies["_csrf_token"],
            },
        )
        headers = {"X-CSRFToken": login.cookies["_csrf_token"]}
        first = login.post(
            f"{base}/_dash-update-component",
            json=poll_payload(app, "market", None),
            headers=headers,
        )
        version = first.json()["response"]["market-version"]["data"]
        body = poll_payload(app, "market", version)

        def tab(i: int) -> None:
            session = requests.Session()
            session.cookies.update(login.cookies)
            time.sleep(TAB_PERIOD_S * i / TABS)  # spread the tabs over the second
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    code = session.post(
                        f"{base}/_dash-update-component", json=body, headers=headers
                    ).status_code
                except requests.RequestException:
                    code = None
                with lock:
                    counts["ok" if code == 204 else "other"] += 1
                stop.wait(max(0.0, TAB_PERIOD_S - (time.monotonic() - t0)))

        threads = [
            threading.Thread(target=tab, args=(i,), daemon=True) for i in range(TABS)
        ]
        for t in threads:
            t.start()
        time.sleep(2)
        cpu0, wall0 = _cpu_seconds(proc.pid), time.monotonic()
        ok0 = counts["ok"]
        time.sleep(seconds)
        cpu = _cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - wall0
        polls = counts["ok"] - ok0
    finally:
        stop.set()
        proc.terminate()
        proc.wait(10)
    return {
        "cpu": cpu / wall,
        "polls_per_s": polls / wall,
        "cpu_ms_per_poll": 1000 * cpu / max(polls, 1),
        "other": counts["other"],
    }


# ------------------------------------------------------------------ report
def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _row(name: str, values: list[float], target: float, unit: str = "ms") -> str:
    med = statistics.median(values)
    return (
        f"{name:<44} {med:>9.1f} {_p(values, 99):>9.1f} {target:>8.1f} "
        f"{med / target:>6.2f}  {unit}"
    )


def _print_tabs(server: str, res: dict) -> None:
    label = "tickstock serve" if server == "dev" else "gunicorn 1 worker x 4 threads"
    wanted = TABS / TAB_PERIOD_S
    at_rate = res["cpu_ms_per_poll"] * wanted / 1000
    print(
        f"{f'{TABS} tabs on Market, 1/s, {label}':<44} "
        f"{res['cpu']:>9.2f} {'':>9} {TARGET_TABS_CPU:>8.2f} "
        f"{res['cpu'] / TARGET_TABS_CPU:>6.2f}  cores "
        f"({res['polls_per_s']:.0f} polls/s, {res['other']} failed, "
        f"{res['cpu_ms_per_poll']:.2f} ms CPU/poll; at {wanted:.0f}/s: {at_rate:.2f})"
    )


def main(argv: list[str] | None = None) -> dict:
    """Build the S&P 500 database, run the selected benchmarks, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", help="poll, browser, tabs (default all)")
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args([] if argv is None else argv)
    only = set(args.parts) or {"poll", "browser", "tabs"}
    if only - {"poll", "browser", "tabs"}:
        parser.error(f"unknown parts: {sorted(only - {'poll', 'browser', 'tabs'})}")
    runs = QUICK if args.quick else FULL
    out: dict = {"skipped": {}}
    if not DAILY_FILE.is_file():
        print(f"skipped: {DAILY_FILE} not found")
        reason = f"{DAILY_FILE} not found (set TICKSTOCK_SHARED_DATA)"
        keys = ("market_page_ready_s", "page_ready_worst_s", "tabs_100_cores")
        out["skipped"] = dict.fromkeys(keys, reason)
        return out
    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    try:
        t0 = time.perf_counter()
        settings, rows, symbols = build_database(folder)
        print(
            f"S&P 500 universe: {symbols} symbols x {SESSIONS} sessions "
            f"({rows:,} daily bars) loaded in {time.perf_counter() - t0:.1f} s"
        )
        print(f"{'benchmark':<44} {'median':>9} {'p99':>9} {'target':>8} {'ratio':>6}")
        if "poll" in only:
            for page, first, same, only_cb, full, render in bench_poll(settings, runs):
                out[f"poll_{page}_unchanged_ms"] = statistics.median(same)
                out[f"poll_{page}_unchanged_p99_ms"] = _p(same, 99)
                out[f"poll_{page}_new_ms"] = statistics.median(full)
                out[f"poll_{page}_new_p99_ms"] = _p(full, 99)
                ms = TARGET_UNCHANGED_MS
                print(f"{'poll ' + page + ': first render':<44} {first:>9.1f}")
                print(_row(f"poll {page}: unchanged (HTTP request)", same, ms))
                print(_row(f"poll {page}: unchanged (callback)", only_cb, ms))
                ms = TARGET_NEW_MS
                print(_row(f"poll {page}: new version (snapshot+view)", full, ms))
                print(_row(f"poll {page}: new version (view only)", render, ms))
        if "browser" in only:
            results = bench_browser(settings, runs["browser"])
            if not results:
                print("page ready: skipped (no chromedriver)")
                out["skipped"]["market_page_ready_s"] = "no chromedriver"
                out["skipped"]["page_ready_worst_s"] = "no chromedriver"
            for page, loads, navs in results:
                out[f"page_ready_{page}_s"] = statistics.median(loads) / 1000
                out[f"page_ready_{page}_p99_s"] = _p(loads, 99) / 1000
                target = TARGET_READY_S * 1000
                print(_row(f"page ready {page}: full load", loads, target))
                if navs:
                    out[f"nav_ready_{page}_s"] = statistics.median(navs) / 1000
                    print(_row(f"page ready {page}: in-app navigation", navs, target))
            if results:
                out["market_page_ready_s"] = out["page_ready_market_s"]
                out["market_page_ready_p99_s"] = out["page_ready_market_p99_s"]
                worst = max(results, key=lambda r: statistics.median(r[1]))
                out["page_ready_worst_s"] = out[f"page_ready_{worst[0]}_s"]
                out["page_ready_worst_page"] = worst[0]
                print(
                    f"{'page ready: worst page (' + worst[0] + ')':<44} "
                    f"{out['page_ready_worst_s'] * 1000:>9.1f} {'':>9} "
                    f"{TARGET_READY_S * 1000:>8.1f}"
                )
        else:
            out["skipped"]["market_page_ready_s"] = "browser part not selected"
            out["skipped"]["page_ready_worst_s"] = "browser part not selected"
        if "tabs" in only:
            for server in ("dev", "gunicorn"):
                res = bench_tabs(settings, server, runs["tab_seconds"])
                _print_tabs(server, res)
                suffix = "" if server == "dev" else "_gunicorn"
                out[f"tabs_{TABS}_cores{suffix}"] = res["cpu"]
                out[f"tabs_{TABS}_polls_per_s{suffix}"] = res["polls_per_s"]
                out[f"tabs_{TABS}_cpu_ms_per_poll{suffix}"] = res["cpu_ms_per_poll"]
                out[f"tabs_{TABS}_failed{suffix}"] = res["other"]
        else:
            out["skipped"]["tabs_100_cores"] = "tabs part not selected"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

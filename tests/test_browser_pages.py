"""Browser tests: every page in headless Chromium through dash[testing].

Each test serves a real app (temp SQLite, the test market from
`tests/test_pages_data.py`) with `DashComposite.start_server`, logs in through
the login form and checks one behaviour. They skip with a reason when
chromedriver is absent, unless TEST_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import re
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.test_pages_data import (
    END,
    MINUTES,
    PASSWORD,
    USERNAME,
    build_app,
    daily_panel,
    minute_frame,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WANT = os.environ.get("TEST_BROWSER", "")
WINDOW = "1280,800"
READY_TIMEOUT = 20
SLACK_S = 0.5  # request + patch + draw after the second poll
PAGES = {
    "/": "market",
    "/rankings": "rankings",
    "/sectors": "sectors",
    "/stages": "stages",
    "/breadth": "breadth",
    "/symbol/AAPL": "symbol",
}
# True once every graph on the page has drawn and the page's status area is filled.
READY_JS = """
const root = document.getElementById('_pages_content');
if (!root) { return false; }
const status = document.querySelector('[id$="-status"]');
if (arguments[0] && (!status || !status.textContent.trim())) { return false; }
for (const g of root.querySelectorAll('.dash-graph')) {
  const plot = g.querySelector('.js-plotly-plot');
  const notes = (plot && plot.layout && plot.layout.annotations) || [];
  const drawn = plot && plot._fullLayout && ((plot.data || []).length || notes.length);
  if (!drawn) { return false; }
}
for (const grid of root.querySelectorAll('.tickstock-grid')) {
  if (!grid.querySelector('.ag-root-wrapper')) { return false; }
}
return root.children.length > 0;
"""


def _require_browser() -> None:
    if WANT == "0":
        pytest.skip("browser tests disabled (TEST_BROWSER=0)")
    if not CHROMEDRIVER:
        if WANT == "1":
            pytest.fail("TEST_BROWSER=1 but chromedriver is not on PATH")
        pytest.skip("chromedriver not found (apt-get install chromium chromium-driver)")


def _online(host: str = "cdn.jsdelivr.net") -> bool:
    try:
        socket.create_connection((host, 443), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def duo(tmp_path):
    """Yield a DashComposite driving headless Chromium at 1280x800."""
    _require_browser()
    from dash.testing.application_runners import ThreadedRunner
    from dash.testing.composite import DashComposite
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for arg in (
        "--headless=new",
        f"--window-size={WINDOW}",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
        "--no-first-run",
    ):
        options.add_argument(arg)
    if CHROMIUM:
        options.binary_location = CHROMIUM
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with ThreadedRunner() as server:
        with DashComposite(
            server=server,
            browser="Chrome",
            headless=True,
            options=[options],
            download_path=str(downloads),
            percy_run=False,
            wait_timeout=READY_TIMEOUT,
        ) as composite:
            yield composite


def unhashed_inline_scripts(app) -> list[str]:
    """Return inline scripts of the served HTML that its CSP does not allow."""
    client = app.server.test_client()
    resp = client.get("/login")
    csp = resp.headers.get("Content-Security-Policy", "")
    html = re.sub(r"<!--.*?-->", "", resp.get_data(as_text=True), flags=re.S)
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, re.S)
    missing = []
    for attrs, body in scripts:
        if "application/json" in attrs:
            continue  # a data block, not executed
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        if f"'sha256-{digest}'" not in csp:
            missing.append(body.strip()[:200])
    return missing


def console_errors(duo, app) -> list[dict]:
    """Return SEVERE console entries not caused by the environment or the shell.

    Left out: CDN stylesheet loads when offline, and, while the shell's CSP
    misses an inline script (Dash registers its page-title clientside callback
    on the first request, after the CSP was computed), that CSP violation and
    the renderer's resulting "reading 'apply'" TypeError. Anything from the
    pages themselves still fails the test.
    """
    logs = duo.get_logs()
    noise: list[str] = []
    if not _online():
        external = [
            s if isinstance(s, str) else s["href"]
            for s in app.config.external_stylesheets
        ]
        noise += [urlparse(u).netloc for u in external]
    if unhashed_inline_scripts(app):
        noise += ["Executing inline script violates", "(reading 'apply')"]
    return [e for e in logs if not any(n in e.get("message", "") for n in noise)]


def start(duo, app) -> None:
    """Serve the app and log in through the login form."""
    duo.start_server(app, navigate=False)
    duo.driver.get(f"{duo.server.url}/login")
    duo.wait_for_element("#login-username").send_keys(USERNAME)
    field = duo.wait_for_element("#login-password")
    field.send_keys(PASSWORD)
    field.submit()
    duo._wait_for(
        lambda d: "/login" not in d.current_url, READY_TIMEOUT, "login failed"
    )
    duo.server_url = duo.server.url


def wait_ready(duo, need_status: bool = True) -> None:
    """Wait until every graph on the page has drawn (and its status is shown)."""
    duo._wait_for(
        lambda d: d.execute_script(READY_JS, need_status),
        READY_TIMEOUT,
        f"page not ready: {duo.driver.current_url}",
    )


def visit(duo, path: str) -> None:
    """Open a path of the served app and wait until it is ready."""
    duo.driver.get(f"{duo.server.url}{path}")
    wait_ready(duo, need_status=path != "/about")


NAV_LINKS = (
    ("Rankings", "/rankings"),
    ("Sectors", "/sectors"),
    ("Stages", "/stages"),
    ("Breadth", "/breadth"),
    ("Methodology", "/about"),
    ("Market", "/"),
)


def test_br01_navbar_opens_every_page_rendered_without_console_errors(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/symbol/AAPL")
    for name, path in NAV_LINKS:
        duo.driver.find_element("link text", name).click()
        duo._wait_for(
            lambda d, p=path: urlparse(d.current_url).path == p,
            READY_TIMEOUT,
            f"navbar link {name} did not open {path}",
        )
        wait_ready(duo, need_status=path != "/about")
        page = PAGES.get(path)
        if page:
            status = duo.find_element(f"#{page}-status").text
            assert "as of" in status and "No data yet" not in status, (path, status)
        else:
            assert duo.find_element("#about-constants")  # methodology rendered
    errors = console_errors(duo, app)
    assert errors == [], "\n".join(e["message"][:300] for e in errors)


def test_br02_every_page_renders_on_an_empty_database(duo, settings):
    app = build_app(settings, seeded=False)
    start(duo, app)
    for path, page in PAGES.items():
        visit(duo, path)
        text = duo.find_element("#_pages_content").text
        if page == "symbol":
            assert "not a known symbol" in text or "No daily bars" in text, text
        else:
            assert "No data yet" in text, (path, text[:300])
    assert console_errors(duo, app) == []


def _candles(duo) -> int:
    return duo.driver.execute_script(
        "const p = document.querySelector('#symbol-chart .js-plotly-plot');"
        "return p && p.data && p.data[0].x ? p.data[0].x.length : -1;"
    )


def test_br03_new_minute_bar_appears_on_symbol_page_within_two_polls(duo, settings):
    import pandas as pd

    poll = 1.0
    app = build_app(settings.replace(poll_seconds=poll))
    store = app.server.extensions["tickstock_store"]
    start(duo, app)
    visit(duo, "/symbol/AAPL?interval=1m")
    duo._wait_for(
        lambda d: _candles(duo) == MINUTES, READY_TIMEOUT, "no minute candles"
    )
    stamp = pd.Timestamp.combine(END, pd.Timestamp("10:30").time()).tz_localize(
        "America/New_York"
    )
    store.upsert_minute_bars(minute_frame("AAPL", pd.DatetimeIndex([stamp]), [123.45]))
    written = time.monotonic()
    from selenium.webdriver.support.wait import WebDriverWait

    # Poll the page every 50 ms so the measured delay is the app's, not ours.
    WebDriverWait(duo.driver, 3 * poll, poll_frequency=0.05).until(
        lambda d: _candles(duo) == MINUTES + 1
    )
    assert time.monotonic() - written <= 2 * poll + SLACK_S
    last = duo.driver.execute_script(
        "const p = document.querySelector('#symbol-chart .js-plotly-plot');"
        "return [p.data[0].x.slice(-1)[0], p.data[0].close.slice(-1)[0]];"
    )
    assert last == [f"{END.isoformat()} 10:30", 123.45]
    assert console_errors(duo, app) == []


def test_br04_rankings_grid_sorts_and_exports_csv(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/rankings")
    duo.wait_for_element("#rankings-grid .ag-row")

    def first_symbols() -> list[str]:
        cells = duo.driver.find_elements(
            "css selector", "#rankings-grid .ag-pinned-left-cols-container .ag-row"
        )
        rows = sorted(cells, key=lambda r: int(r.get_attribute("row-index")))
        return [r.text.strip() for r in rows[:5]]

    header = duo.wait_for_element("#rankings-grid .ag-header-cell[col-id='ret_1d']")
    header.click()  # ascending
    duo._wait_for(lambda d: first_symbols(), READY_TIMEOUT, "no rows")
    daily = daily_panel()
    last_two = daily[daily["date"] >= daily["date"].max() - pd_days(7)]
    expected = _worst_day(last_two)
    duo._wait_for(
        lambda d: first_symbols()[0] == expected, READY_TIMEOUT, "grid did not sort"
    )
    duo.find_element("#rankings-export").click()
    folder = Path(duo.download_path)
    duo._wait_for(
        lambda d: any(p.suffix == ".csv" for p in folder.iterdir()),
        READY_TIMEOUT,
        "no CSV download",
    )
    path = next(p for p in folder.iterdir() if p.suffix == ".csv")
    assert path.name == f"rankings-sp500-{END.isoformat()}.csv"
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["Symbol", "Sector", "RS"]
    assert rows[1][0] == expected  # the export follows the grid's sort
    assert console_errors(duo, app) == []


def pd_days(n: int):
    import pandas as pd

    return pd.Timedelta(days=n)


def _worst_day(daily) -> str:
    """Return the stock with the lowest one-session return at the last session."""
    from tests.test_pages_data import sample_stocks

    stocks = set(sample_stocks()["symbol"])
    wide = daily[daily["symbol"].isin(stocks)].pivot(
        index="date", columns="symbol", values="close"
    )
    ret = wide.iloc[-1] / wide.iloc[-2] - 1
    return str(ret.idxmin())


def test_br05_controls_are_kept_in_the_url(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/sectors?period=daily&tail=5")
    assert duo.find_element("#sectors-period input[value='daily']").is_selected()
    duo.driver.find_element(
        "xpath", "//div[@id='sectors-period']//label[normalize-space()='Weekly']"
    ).click()
    duo._wait_for(
        lambda d: "period=" not in d.current_url and "tail=5" in d.current_url,
        READY_TIMEOUT,
        "URL did not follow the controls",
    )
    assert console_errors(duo, app) == []


def test_br06_tablet_width_has_no_sideways_scroll_and_a_working_menu(duo, settings):
    app = build_app(settings)
    start(duo, app)
    duo.driver.set_window_size(820, 1180)
    for path in ("/", "/rankings"):
        visit(duo, path)
        width = duo.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert width[0] <= width[1], (path, width)
    duo.find_element("#navbar-toggler").click()
    duo._wait_for(
        lambda d: d.find_element("link text", "Sectors").is_displayed(),
        READY_TIMEOUT,
        "the folded navbar did not open",
    )
    duo.driver.find_element("link text", "Sectors").click()
    duo._wait_for(
        lambda d: urlparse(d.current_url).path == "/sectors", READY_TIMEOUT, "no nav"
    )
    wait_ready(duo)
    assert console_errors(duo, app) == []

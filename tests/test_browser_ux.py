"""Browser tests of the analyst UX at desktop (1440x900) and phone (390x844) size.

Same harness as tests/test_browser_pages.py (headless Chromium via dash[testing],
the test market, a login through the form); one behaviour each.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests import test_browser_pages
from tests.test_browser_pages import (
    READY_TIMEOUT,
    console_errors,
    start,
    visit,
    wait_ready,
)
from tests.test_pages_data import END, MINUTES, build_app, minute_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow]
duo = test_browser_pages.duo  # the headless Chromium fixture

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
PAGES = ("/", "/rankings", "/sectors", "/stages", "/breadth", "/symbol/AAPL", "/about")
SHOTS = os.environ.get("TICKSTOCK_SCREENSHOTS", "")  # a folder: keep screenshots
# The document's scroll width and window width, and (to explain a failure) the
# elements that reach past the right edge.
OVERFLOW_JS = """
const width = document.documentElement.clientWidth;
const wide = [];
for (const el of document.querySelectorAll('#_pages_content *, nav *')) {
  const r = el.getBoundingClientRect();
  if (r.width && r.right > width + 1 && !el.closest('.table-responsive, .ag-root,'
      + ' .js-plotly-plot, .modal')) {
    wide.push((el.id || el.className || el.tagName).toString().slice(0, 60));
  }
}
return [document.documentElement.scrollWidth, width, wide.slice(0, 5)];
"""
# The legend box sits outside the price panel (above it), never over the data.
LEGEND_JS = """
const p = document.querySelector('#symbol-chart .js-plotly-plot');
const legend = p.querySelector('.legend');
const plot = p.querySelector('.draglayer .xy .nsewdrag');
if (!legend || !plot) { return null; }
return [legend.getBoundingClientRect().bottom, plot.getBoundingClientRect().top];
"""


def _size(duo, name: str) -> None:
    width, height = SIZES[name]
    duo.driver.set_window_size(width, height)


def _shot(duo, name: str) -> None:
    if SHOTS:
        duo.driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


@pytest.mark.parametrize("size", list(SIZES))
def test_ux01_every_page_fits_the_window_without_console_errors(duo, settings, size):
    app = build_app(settings)
    start(duo, app)
    _size(duo, size)
    for path in PAGES:
        visit(duo, path)
        scroll, width, wide = duo.driver.execute_script(OVERFLOW_JS)
        _shot(duo, f"{size}-{path.strip('/').replace('/', '-') or 'market'}")
        assert scroll <= width, (size, path, scroll, width, wide)
        if path.startswith("/symbol/"):
            legend, plot_top = duo.driver.execute_script(LEGEND_JS)
            assert legend <= plot_top + 1, (size, legend, plot_top)
    errors = console_errors(duo, app)
    assert errors == [], "\n".join(e["message"][:300] for e in errors)


def _options(duo) -> list[str]:
    return duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.dash-dropdown-option'))"
        ".map(o => o.textContent.trim());"
    )


def test_ux02_search_suggests_by_company_name_and_opens_the_symbol(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/rankings")
    duo.find_element("body").send_keys("/")  # the shortcut opens the search
    duo._wait_for(
        lambda d: (
            "dash-dropdown-search"
            in (d.switch_to.active_element.get_attribute("class") or "")
        ),
        READY_TIMEOUT,
        "'/' did not focus the symbol search",
    )
    ActionChains(duo.driver).send_keys("apple").perform()  # typed, as a person
    duo._wait_for(
        lambda d: any(o.startswith("AAPL") for o in _options(duo)),
        READY_TIMEOUT,
        "no suggestion for 'apple'",
    )
    assert "Apple" in _options(duo)[0]
    duo.driver.execute_script(
        "Array.from(document.querySelectorAll('.dash-dropdown-option'))"
        ".find(o => o.textContent.trim().startsWith('AAPL')).click();"
    )
    duo._wait_for(
        lambda d: urlparse(d.current_url).path == "/symbol/AAPL",
        READY_TIMEOUT,
        "choosing a suggestion did not open the symbol page",
    )
    wait_ready(duo)
    assert console_errors(duo, app) == []


def _candle_days(duo) -> list[str]:
    x = duo.driver.execute_script(
        "const p = document.querySelector('#symbol-chart .js-plotly-plot');"
        "return p && p.data && p.data[0].x ? p.data[0].x : [];"
    )
    return sorted({str(v)[:10] for v in x}) if x and len(str(x[0])) > 10 else []


def test_ux03_the_5d_preset_draws_minute_bars_of_several_sessions(duo, settings):
    app = build_app(settings)
    store = app.server.extensions["tickstock_store"]
    before = (pd.Timestamp(END) - pd.offsets.BDay(1)).date()
    stamps = pd.date_range(
        pd.Timestamp.combine(before, pd.Timestamp("09:30").time()),
        periods=MINUTES,
        freq="min",
        tz="America/New_York",
    )
    store.upsert_minute_bars(minute_frame("AAPL", stamps, [200.0] * MINUTES))
    start(duo, app)
    visit(duo, "/symbol/AAPL?range=1D")
    duo._wait_for(lambda d: _candle_days(duo) == [END.isoformat()], READY_TIMEOUT, "1D")
    duo.driver.find_element(
        "xpath", "//div[@id='symbol-range']//label[normalize-space()='5D']"
    ).click()
    duo._wait_for(
        lambda d: _candle_days(duo) == [before.isoformat(), END.isoformat()],
        READY_TIMEOUT,
        "5D did not draw both sessions",
    )
    query = parse_qs(urlparse(duo.driver.current_url).query)
    assert query.get("range") == ["5D"]
    status = duo.find_element("#symbol-status").text
    assert f"{2 * MINUTES} minute bars over 2 sessions" in status
    assert console_errors(duo, app) == []


def test_ux04_keyboard_shortcuts_open_help_and_go_to_pages(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/")
    keys = ActionChains(duo.driver)
    keys.send_keys("?").perform()
    duo._wait_for(
        lambda d: "Go to Rankings" in d.find_element("id", "shortcuts-modal").text,
        READY_TIMEOUT,
        "'?' did not show the shortcuts",
    )
    _shot(duo, "shortcuts")
    ActionChains(duo.driver).send_keys(Keys.ESCAPE).perform()
    duo._wait_for(
        lambda d: not d.find_elements("css selector", "#shortcuts-modal.show"),
        READY_TIMEOUT,
        "Escape did not close the help",
    )
    ActionChains(duo.driver).send_keys("g").send_keys("s").perform()
    duo._wait_for(
        lambda d: urlparse(d.current_url).path == "/sectors",
        READY_TIMEOUT,
        "g s did not open Sectors",
    )
    wait_ready(duo)
    assert console_errors(duo, app) == []

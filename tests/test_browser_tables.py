"""Browser tests of the dense tables (components/grid_dense.py) at 1440x900 and 390x844.

Same harness as tests/test_browser_ux.py (headless Chromium via dash[testing],
the test market, a login through the form); one behaviour each.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests import test_browser_pages
from tests.test_browser_pages import (
    READY_TIMEOUT,
    _worst_day,
    console_errors,
    pd_days,
    start,
    visit,
)
from tests.test_pages_data import END, build_app, daily_panel

pytestmark = [pytest.mark.browser, pytest.mark.slow]
duo = test_browser_pages.duo  # the headless Chromium fixture

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
MIN_ROWS = {"desktop": 20, "phone": 10}  # rows fully visible without scrolling
GRID = "#rankings-grid"
SHOTS = os.environ.get("TICKSTOCK_SCREENSHOTS", "")
NEGATIVE_ZERO = re.compile(r"^[-\u2212]0(\.0+)?%?$")
# Rows fully inside the grid's scrolling box and the window.
VISIBLE_ROWS_JS = """
const grid = document.querySelector(arguments[0]);
const box = grid.querySelector('.ag-body-viewport').getBoundingClientRect();
const bottom = Math.min(box.bottom, window.innerHeight);
return Array.from(grid.querySelectorAll('.ag-center-cols-container .ag-row'))
  .map(r => r.getBoundingClientRect())
  .filter(r => r.height > 0 && r.top >= box.top - 1 && r.bottom <= bottom + 1)
  .length;
"""
# The grid as shown: header names of the displayed columns, then each rendered
# row's cell texts in that order (pinned and centre parts joined by row index).
SHOWN_JS = """
const grid = document.querySelector(arguments[0]);
const cols = Array.from(grid.querySelectorAll('.ag-header-row-column .ag-header-cell'))
  .map(h => [h.getAttribute('col-id'), h.getBoundingClientRect().left,
             h.querySelector('.ag-header-cell-text').textContent.trim()]);
const pinned = new Set(Array.from(grid.querySelectorAll(
  '.ag-pinned-left-header .ag-header-cell')).map(h => h.getAttribute('col-id')));
cols.sort((a, b) => (pinned.has(b[0]) - pinned.has(a[0])) || (a[1] - b[1]));
const rows = {};
for (const cell of grid.querySelectorAll('.ag-row [col-id]')) {
  const i = cell.closest('.ag-row').getAttribute('row-index');
  (rows[i] = rows[i] || {})[cell.getAttribute('col-id')] = cell.textContent.trim();
}
const order = Object.keys(rows).map(Number).sort((a, b) => a - b);
return [cols.map(c => c[2]), order.map(i => cols.map(c => rows[i][c[0]] ?? ''))];
"""


def _size(duo, name: str) -> None:
    width, height = SIZES[name]
    duo.driver.set_window_size(width, height)


def _shot(duo, name: str) -> None:
    if SHOTS:
        duo.driver.save_screenshot(os.path.join(SHOTS, f"tables-{name}.png"))


def _rows_ready(duo, grid: str = GRID) -> None:
    duo._wait_for(
        lambda d: d.find_elements("css selector", f"{grid} .ag-row"),
        READY_TIMEOUT,
        f"{grid} shows no rows",
    )


def _query(duo) -> dict[str, list[str]]:
    return parse_qs(urlparse(duo.driver.current_url).query)


def _first_symbol(duo) -> str:
    return duo.driver.execute_script(
        'const r = document.querySelector("#rankings-grid .ag-pinned-left-cols-'
        "container .ag-row[row-index='0']\"); return r ? r.textContent.trim() : '';"
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_dt01_rankings_shows_a_screen_of_rows(duo, settings, size):
    app = build_app(settings)
    start(duo, app)
    _size(duo, size)
    visit(duo, "/rankings")
    _rows_ready(duo)
    _shot(duo, f"rankings-{size}")
    shown = duo.driver.execute_script(VISIBLE_ROWS_JS, GRID)
    assert shown >= MIN_ROWS[size], (size, shown)
    assert console_errors(duo, app) == []


@pytest.mark.parametrize("size", list(SIZES))
def test_dt02_a_return_that_rounds_to_zero_shows_unsigned(duo, settings, size):
    app = build_app(settings)
    store = app.server.extensions["tickstock_store"]
    daily = daily_panel()
    aapl = daily[daily["symbol"] == "AAPL"].sort_values("date").tail(2)
    last = aapl.iloc[[-1]].copy()
    last["close"] = aapl["close"].iloc[0] * (1 - 3e-4)  # -0.03% on the day
    store.upsert_daily_bars(last)
    start(duo, app)
    _size(duo, size)
    visit(duo, "/rankings?f=symbol:=AAPL")
    _rows_ready(duo)
    duo._wait_for(
        lambda d: [r[0] for r in d.execute_script(SHOWN_JS, GRID)[1]] == ["AAPL"],
        READY_TIMEOUT,
        "the URL's filter was not applied",
    )
    cell = duo.find_element(f"{GRID} .ag-center-cols-container [col-id='ret_1d']")
    assert cell.text == "0.0%"
    assert "neg" not in (cell.get_attribute("class") or "").split()
    headers, rows = duo.driver.execute_script(SHOWN_JS, GRID)
    assert rows and not [v for r in rows for v in r if NEGATIVE_ZERO.match(v)]
    assert console_errors(duo, app) == []


def test_dt03_column_chooser_hides_a_column_and_keeps_it_in_the_url(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/rankings")
    _rows_ready(duo)
    assert duo.driver.find_elements("css selector", f"{GRID} [col-id='sector']")
    duo.find_element("#rankings-columns-button").click()
    box = duo.wait_for_element("#rankings-columns input[value='sector']")
    box.click()
    duo._wait_for(
        lambda d: (
            not d.find_elements(
                "css selector", f"{GRID} .ag-header-cell[col-id='sector']"
            )
        ),
        READY_TIMEOUT,
        "unticking Sector did not hide the column",
    )
    duo._wait_for(lambda d: "cols" in _query(duo), READY_TIMEOUT, "cols not in the URL")
    assert "sector" not in _query(duo)["cols"][0].split(",")
    duo.driver.refresh()
    _rows_ready(duo)
    assert not duo.driver.find_elements(
        "css selector", f"{GRID} .ag-header-cell[col-id='sector']"
    )
    assert console_errors(duo, app) == []


def test_dt04_sort_in_the_url_is_restored_on_reload(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/rankings")
    _rows_ready(duo)
    duo.find_element(f"{GRID} .ag-header-cell[col-id='ret_1d']").click()  # ascending
    duo._wait_for(
        lambda d: _query(duo).get("sort") == ["ret_1d:asc"],
        READY_TIMEOUT,
        "the sort did not reach the URL",
    )
    assert "sort=ret_1d:asc" in duo.driver.current_url  # readable, shareable
    assert "cols" not in _query(duo) and "f" not in _query(duo)  # defaults stay out
    daily = daily_panel()
    expected = _worst_day(daily[daily["date"] >= daily["date"].max() - pd_days(7)])
    duo.driver.refresh()
    _rows_ready(duo)
    duo._wait_for(
        lambda d: _first_symbol(duo) == expected,
        READY_TIMEOUT,
        "the reloaded grid is not sorted by 1D ascending",
    )
    header = duo.find_element(f"{GRID} .ag-header-cell[col-id='ret_1d']")
    assert header.get_attribute("aria-sort") == "ascending"
    assert console_errors(duo, app) == []


def test_dt05_csv_holds_exactly_the_rows_and_columns_shown(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(
        duo,
        "/rankings?f=sector:Energy&sort=rs_rating:desc&cols=sector,rs_rating,ret_1d",
    )
    _rows_ready(duo)
    # AG Grid draws the rows, then applies the URL's filter model to them.
    duo._wait_for(
        lambda d: {r[1] for r in d.execute_script(SHOWN_JS, GRID)[1]} == {"Energy"},
        READY_TIMEOUT,
        "the URL's filter was not applied",
    )
    headers, rows = duo.driver.execute_script(SHOWN_JS, GRID)
    assert headers == ["Symbol", "Sector", "RS", "1D"]
    count = duo.find_element("#rankings-count").text
    total = len(
        duo.driver.execute_script(
            "return window.dash_ag_grid.getApi('rankings-grid')"
            ".getGridOption('rowData');"
        )
    )
    assert count == f"{len(rows)} of {total} rows shown" and len(rows) < total
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
        exported = list(csv.reader(fh))
    assert exported == [headers, *rows]
    assert console_errors(duo, app) == []

"""The /screener page in headless Chromium: a range input filters, a screen saves."""

from __future__ import annotations

import json

import pytest

from tests.test_browser_pages import (
    READY_TIMEOUT,
    console_errors,
    duo,  # noqa: F401 (fixture)
    start,
    wait_ready,
)
from tests.test_pages_data import build_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _input(driver, kind: str, field: str):
    key = json.dumps(
        {"field": field, "type": f"screener-{kind}"}, separators=(",", ":")
    )
    return driver.find_element(f"input[id='{key}']")


def test_sb01_range_input_filters_the_grid_and_a_screen_is_saved(duo, settings):  # noqa: F811
    app = build_app(settings)
    start(duo, app)
    duo.driver.get(f"{duo.server.url}/screener")
    wait_ready(duo)
    assert "as of" in duo.find_element("#screener-status").text
    box = _input(duo, "min", "rs_rating")
    box.send_keys("50\n")
    duo.wait_for_contains_text("#screener-conditions", "rs_rating>=50")
    duo.wait_for_contains_text("#screener-status", "screened names match")
    href = duo.find_element("#screener-csv").get_attribute("href")
    assert "where=rs_rating%3E%3D50" in href and "format=csv" in href
    ratings = duo.driver.execute_script(
        "return Array.from(document.querySelectorAll("
        "'#screener-grid .ag-center-cols-container [col-id=rs_rating]'))"
        ".map(c => c.textContent);"
    )
    assert ratings and all(int(r) >= 50 for r in ratings if r)
    duo.find_element("#screener-name").send_keys("Strong")
    duo.find_element("#screener-save").click()
    duo.wait_for_contains_text("#screener-saved-msg", "Saved", timeout=READY_TIMEOUT)
    errors = console_errors(duo, app)
    assert errors == [], "\n".join(e["message"][:300] for e in errors)

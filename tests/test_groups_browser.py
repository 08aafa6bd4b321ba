"""Browser test of the Groups page drill-down (headless Chromium, dash[testing]).

Clicking a group row opens its members (the rankings filtered to the group) and
the RRG of those stocks against the sector ETF. Skips like the other browser
tests when chromedriver is absent (fails under TEST_BROWSER=1).
"""

from __future__ import annotations

import pytest

from tests.test_browser_pages import (  # noqa: F401 (the duo fixture)
    READY_TIMEOUT,
    console_errors,
    duo,
    start,
    visit,
)
from tests.test_pages_data import build_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FIRST_GROUP_CELL = "#groups-grid .ag-center-cols-container .ag-row[row-index='0']"
PINNED_GROUP_CELL = (
    "#groups-grid .ag-pinned-left-cols-container .ag-row[row-index='0'] "
    "[col-id='group']"
)
MEMBER_ROWS = "#groups-members-grid .ag-pinned-left-cols-container .ag-row"


def test_br_groups_row_click_drills_down_to_members_and_rrg(duo, settings):  # noqa: F811
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/groups")
    cell = duo.wait_for_element(PINNED_GROUP_CELL)
    group = cell.text.strip()
    assert group
    cell.click()
    duo._wait_for(
        lambda d: group in d.find_element("id", "groups-detail-title").text,
        READY_TIMEOUT,
        "the drill-down title did not show the clicked group",
    )
    duo._wait_for(
        lambda d: len(d.find_elements("css selector", MEMBER_ROWS)) > 0,
        READY_TIMEOUT,
        "the members grid stayed empty",
    )
    title = duo.find_element("#groups-detail-title").text
    assert "RRG vs XL" in title, title
    members = len(duo.driver.find_elements("css selector", MEMBER_ROWS))
    assert f"{members} members with data" in title
    assert "group=" in duo.driver.current_url
    traces = duo.driver.execute_script(
        "const p = document.querySelector('#groups-rrg .js-plotly-plot');"
        "return p && p.data ? p.data.length : 0;"
    )
    assert 0 < traces <= members
    errors = console_errors(duo, app)
    assert errors == [], "\n".join(e["message"][:300] for e in errors)

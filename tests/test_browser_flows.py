"""Browser tests of navigation that flows: sector -> members -> symbol -> Back.

Same harness as tests/test_browser_pages.py (headless Chromium via dash[testing],
the test market, a login through the form); one behaviour each, at desktop
(1440x900) and phone (390x844) size.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.action_chains import ActionChains

from tests import test_browser_pages
from tests.test_browser_pages import READY_TIMEOUT, console_errors, start, visit
from tests.test_browser_ux import OVERFLOW_JS, SIZES
from tests.test_pages_data import build_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
duo = test_browser_pages.duo  # the headless Chromium fixture

SECTOR_CELLS = "#sectors-grid .ag-pinned-left-cols-container [col-id='sector']"
SECTOR = "Information Technology"
MEMBER_CELL = "#groups-members-grid .ag-row[row-index='0'] [col-id='symbol']"
RECT_JS = "var r = arguments[0].getBoundingClientRect(); return [r.x, r.y];"


def _click(duo, element) -> None:
    """Move the pointer onto an element (scrolled into view, at rest) and click it."""
    # Bootstrap makes scrolling smooth: scroll at once, then wait until the
    # element stops moving in the viewport (late content above it, Back link,
    # status line) so the pointer does not land on a neighbouring row.
    duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
    )
    seen = []
    duo._wait_for(
        lambda d: (
            seen.append(d.execute_script(RECT_JS, element))
            or (len(seen) > 1 and seen[-2] == seen[-1])
        ),
        READY_TIMEOUT,
        "the element kept moving",
    )
    ActionChains(duo.driver).move_to_element(element).click().perform()


def _wait_url(duo, test, message: str) -> None:
    duo._wait_for(lambda d: test(urlparse(d.current_url)), READY_TIMEOUT, message)


def _sector_cell(duo):
    """Return the sectors grid's cell of SECTOR once the grid shows it."""
    duo._wait_for(
        lambda d: any(c.text == SECTOR for c in d.find_elements("css selector",
                                                               SECTOR_CELLS)),
        READY_TIMEOUT,
        f"the sectors grid never listed {SECTOR}",
    )  # fmt: skip
    cells = duo.driver.find_elements("css selector", SECTOR_CELLS)
    return next(c for c in cells if c.text == SECTOR)


def _member(driver):
    """Return the first member's symbol cell that is drawn, or None."""
    cells = driver.find_elements("css selector", MEMBER_CELL)
    return next((c for c in cells if c.is_displayed() and c.text.strip()), None)


def _members_shown(duo, sector: str) -> None:
    duo._wait_for(
        lambda d: (
            sector in d.find_element("id", "groups-detail-title").text
            and d.find_elements("css selector", MEMBER_CELL)
        ),
        READY_TIMEOUT,
        f"the members of {sector} were not shown",
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_fl01_sector_row_opens_its_members_then_a_member_opens_the_symbol(
    duo, settings, size
):
    app = build_app(settings)
    start(duo, app)
    duo.driver.set_window_size(*SIZES[size])
    visit(duo, "/sectors")
    sector = SECTOR
    _click(duo, _sector_cell(duo))
    _wait_url(duo, lambda u: u.path == "/groups", "the sector did not open /groups")
    query = parse_qs(urlparse(duo.driver.current_url).query)
    assert query.get("by", ["sector"]) == ["sector"] and query["group"] == [sector]
    _members_shown(duo, sector)
    members = {c.text.strip() for c in duo.driver.find_elements("css selector",
               "#groups-members-grid [col-id='symbol']") if c.text.strip()}  # fmt: skip
    _click(duo, _member(duo.driver))
    _wait_url(duo, lambda u: u.path.startswith("/symbol/"), "no symbol page")
    url = urlparse(duo.driver.current_url)
    symbol = url.path.removeprefix("/symbol/")
    assert symbol in members - {"Symbol"}
    assert "group" not in parse_qs(url.query)  # no stale query from /groups
    duo.wait_for_text_to_equal("#symbol-title", symbol, timeout=READY_TIMEOUT)
    scroll, width, wide = duo.driver.execute_script(OVERFLOW_JS)
    assert scroll <= width, f"sideways scroll at {size}: {wide}"
    errors = console_errors(duo, app)
    assert errors == [], "\n".join(e["message"][:300] for e in errors)


def test_fl02_back_returns_from_the_symbol_to_the_members(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/sectors")
    sector = SECTOR
    _click(duo, _sector_cell(duo))
    _members_shown(duo, sector)
    _click(duo, _member(duo.driver))
    _wait_url(duo, lambda u: u.path.startswith("/symbol/"), "no symbol page")
    duo.wait_for_element("#symbol-title")
    back = duo.driver.find_element(
        "css selector", 'button.back-link[id*=\'"page":"symbol"\']'
    )
    assert back.is_displayed()
    _click(duo, back)
    _wait_url(duo, lambda u: u.path == "/groups", "Back did not return to /groups")
    _members_shown(duo, sector)


def test_fl03_a_bookmarked_sector_link_opens_its_members(duo, settings):
    app = build_app(settings)
    start(duo, app)
    visit(duo, "/groups?by=sector&group=Information%20Technology")
    _members_shown(duo, "Information Technology")

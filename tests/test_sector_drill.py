"""Sectors page drill-down links: a clicked sector or industry opens its members."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.test_pages import app, page  # noqa: F401 (the module's app fixture)


def _query(href: str) -> dict:
    url = urlparse(href)
    assert url.path == "/groups"
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def test_sd01_rows_points_and_bars_link_to_the_groups_drill_down(app):  # noqa: F811
    href = page("sectors").drill_href
    row = href("sectors-grid", {"rowId": "Energy"}, "sp500", "now", "")
    assert _query(row) == {"by": "sector", "group": "Energy"}
    industry = {"rowId": "Oil & Gas Refining & Marketing"}
    assert _query(href("industries-grid", industry, "index", "2025-01-02", "")) == {
        "by": "industry",
        "group": "Oil & Gas Refining & Marketing",
        "universe": "index",
        "as_of": "2025-01-02",
    }
    point = {"points": [{"customdata": ["XLK", "Technology", "x", "y"]}]}
    rrg = _query(href("sectors-rrg", point, "sp500", "now", ""))
    assert rrg == {"by": "sector", "group": "Information Technology"}
    bar = {"points": [{"y": "XLE · Energy", "x": 0.01}]}
    assert _query(href("sectors-perf", bar, "sp500", "now", ""))["group"] == "Energy"


@pytest.mark.parametrize(
    "trigger, clicked",
    [
        ("sectors-grid", None),
        ("sectors-grid", {"rowId": None}),
        ("sectors-rrg", {"points": []}),
        ("sectors-rrg", {"points": [{"customdata": ["SPY"]}]}),  # not a sector ETF
        ("sectors-perf", {"points": [{"y": "junk"}]}),
        ("sectors-poll", {}),
    ],
)
def test_sd02_clicks_without_a_sector_go_nowhere(app, trigger, clicked):  # noqa: F811
    assert page("sectors").drill_href(trigger, clicked, "sp500", "now", "") is None

"""The dense tables in process: column rules, number format, URL state, CSV wiring.

The browser side (rows on screen, what AG Grid renders and exports) is in
tests/test_browser_tables.py.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import dash
import dash_ag_grid as dag
import pandas as pd
import plotly
import pytest

from components import grid_columns, grid_state, grids, group_ranks, tables
from components.grid_columns import format_number
from tests.test_pages_data import build_app

DENSE_PREFIXES = (
    "rankings",
    "screener",
    "groups",
    "groups-members",
    "stages-list",
    "stages-changes",
    "breadth-sectors",
    "streaming",
    "sectors",
    "industries",
    "market-new_highs",
    "market-new_lows",
)
FORMATTER = re.compile(
    r"fmtNum\(params\.value, (\d), '(num|int|pct|pp)', (true|false)\)"
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A read-only app with the test market (pages register on import)."""
    from dashapp.settings import load_settings

    path = tmp_path_factory.mktemp("dense")
    env = {
        "DATABASE_URL": f"sqlite:///{path / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(path),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
    }
    return build_app(load_settings(env, env_file=None))


def page(name: str):
    return importlib.import_module(f"pages.{name}")


def _all_defs(app) -> list[dict]:
    return [
        *grids.ranking_column_defs(),
        *grids.group_column_defs("sector", ["median_ret_1d", "pct_above_sma50"]),
        *grids.STAGE_LIST_COLUMNS,
        *group_ranks.group_column_defs("sector"),
        *page("screener").COLUMN_DEFS,
        *page("breadth").SECTOR_COLUMNS,
        *page("groups").MEMBER_DEFS,
    ]


def test_dt10_numeric_columns_are_right_aligned_with_fixed_decimals(app):
    defs = _all_defs(app)
    numeric = [d for d in defs if d.get("filter") == "agNumberColumnFilter"]
    assert len(numeric) > 30
    for spec in numeric:
        assert spec["headerClass"] == grid_columns.RIGHT_HEADER, spec["field"]
        assert "ag-right-aligned-cell" in spec["cellClass"], spec["field"]
        formatter = spec["valueFormatter"]["function"]
        assert FORMATTER.fullmatch(formatter) or formatter in (
            "fmtArrow(params.value)",
            "params.value == null ? '' : d3.format('$.3s')(params.value)",
        ), (spec["field"], formatter)
        for rule in (spec.get("cellClassRules") or {}).values():
            assert "function" in rule  # never a string for AG Grid's `new Function`
    # Sign colours follow the value as shown, so a rounded zero is not red.
    rules = [
        r["function"] for d in numeric for r in (d.get("cellClassRules") or {}).values()
    ]
    assert sum("shownSign(" in r for r in rules) > 10
    assert not [r for r in rules if re.search(r"params\.value [<>] 0\b", r)]
    fields = {d["field"]: d for d in grids.ranking_column_defs()}
    assert FORMATTER.fullmatch(
        fields["ret_1d"]["valueFormatter"]["function"]
    ).groups() == (
        "1",
        "pct",
        "true",
    )
    assert "ag-right-aligned-cell" not in fields["sector"].get("cellClass", "")


def test_dt11_numbers_never_show_a_negative_zero():
    for tiny in (-1e-12, -0.0, 0.0, -0.04, 0.04, -0.049):
        assert format_number(tiny, 1) == "0.0"
        assert format_number(tiny, 1, signed=True) == "0.0"
        assert format_number(tiny / 100, 1, "pct", signed=True) == "0.0%"
    assert format_number(-0.0004, 0, "int") == "0"
    assert format_number(-0.06, 1) == "-0.1"
    assert format_number(0.06, 1, signed=True) == "+0.1"
    assert format_number(0.1234, 1, "pct", signed=True) == "+12.3%"
    assert format_number(1234567.891, 2) == "1,234,567.89"
    assert format_number(57.4, 0, "pp") == "57%"
    assert format_number(None) == "" and format_number(float("nan")) == ""


def test_dt12_grid_state_round_trips_through_the_url():
    defs = grids.ranking_column_defs()
    sort = [("rs_rating", "desc"), ("ret_1d", "asc")]
    model = {
        "sector": {"filterType": "text", "type": "contains", "filter": "Energy"},
        "rs_rating": {
            "filterType": "number",
            "operator": "AND",
            "conditions": [
                {"filterType": "number", "type": "greaterThanOrEqual", "filter": 80},
                {"filterType": "number", "type": "lessThan", "filter": 95},
            ],
        },
        "ret_1d": {"filterType": "number", "type": "greaterThan", "filter": -0.01},
    }
    cols = ["symbol", "sector", "rs_rating", "ret_1d"]
    for key in ("", "chg"):
        query = grid_state.encode_state(sort, model, cols, key)
        pre = f"{key}_" if key else ""
        assert query[f"{pre}sort"] == "rs_rating:desc,ret_1d:asc"
        assert "sector:Energy" in query[f"{pre}f"]
        restored, restored_model = grid_state.apply_state(defs, query, key)
        assert restored_model == model
        by_field = {d["field"]: d for d in restored}
        assert (by_field["rs_rating"]["sort"], by_field["rs_rating"]["sortIndex"]) == (
            "desc",
            0,
        )
        assert (by_field["ret_1d"]["sort"], by_field["ret_1d"]["sortIndex"]) == (
            "asc",
            1,
        )
        assert [d["field"] for d in restored if not d["hide"]] == cols
        # Another grid's keys leave this one alone.
        other, other_model = grid_state.apply_state(defs, query, "x")
        assert other_model == {} and not any(d.get("sort") for d in other)


def test_dt13_bad_url_state_is_dropped_not_applied():
    defs = grids.ranking_column_defs()
    query = {
        "sort": "nope:desc,rs_rating:sideways,ret_1d",
        "f": ["bogus:1", "rs_rating:>=abc", "sector:", "rs_new_high:true", "stage:2"],
        "cols": "<script>,sector",
    }
    restored, model = grid_state.apply_state(defs, query)
    assert [(d["field"], d["sort"]) for d in restored if d.get("sort")] == [
        ("ret_1d", "asc")
    ]
    assert model == {"stage": {"filterType": "number", "type": "equals", "filter": 2}}
    shown = [d["field"] for d in restored if not d["hide"]]
    assert shown == ["symbol", "sector"]  # the symbol column cannot be hidden
    ranges = {
        "f": grid_state.encode_filters(
            {
                "close": {
                    "filterType": "number",
                    "type": "inRange",
                    "filter": 5,
                    "filterTo": 9,
                }
            }
        )
    }
    assert ranges == {"f": ["close:>=5", "close:<=9"]}


def test_dt14_rankings_layout_restores_sort_filters_and_columns(app):
    with app.server.test_request_context():
        tree = page("rankings").layout(
            sort="rs_rating:desc",
            f=["sector:Energy", "rs_rating:>=80"],
            cols="rs_rating",
        )
    grid = _find(tree, "rankings-grid")
    by_field = {d["field"]: d for d in grid.columnDefs}
    assert by_field["rs_rating"]["sort"] == "desc"
    assert [d["field"] for d in grid.columnDefs if not d["hide"]] == [
        "symbol",
        "rs_rating",
    ]
    assert grid.filterModel == {
        "sector": {"filterType": "text", "type": "contains", "filter": "Energy"},
        "rs_rating": {
            "filterType": "number",
            "type": "greaterThanOrEqual",
            "filter": 80,
        },
    }
    chooser = _find(tree, "rankings-columns")
    assert chooser.value == ["rs_rating"]
    assert "symbol" not in [o["value"] for o in chooser.options]
    options = grid.dashGridOptions
    assert (options["rowHeight"], options["headerHeight"]) == (26, 30)
    assert options["floatingFiltersHeight"] >= 30
    assert grid.csvExportParams["allColumns"] is False


def _find(node, wanted: str):
    if getattr(node, "id", None) == wanted:
        return node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            found = _find(child, wanted)
            if found is not None:
                return found
    return None


def test_dt15_every_dense_grid_is_wired_for_csv_count_and_columns(app):
    wired = {
        out: {f"{i['id']}.{i['property']}" for i in spec["inputs"]}
        for out, spec in app.callback_map.items()
    }

    def feeds(output: str, *inputs: str) -> bool:
        return any(
            out.split("@")[0] == output and set(inputs) <= ins
            for out, ins in wired.items()
        )

    for prefix in DENSE_PREFIXES:
        grid = {"stages-list": "stages-list", "stages-changes": "stages-changes"}.get(
            prefix, f"{prefix}-grid"
        )
        grid = "streaming-table" if prefix == "streaming" else grid
        assert feeds(f"{prefix}-count.children", f"{grid}.virtualRowData"), prefix
        assert feeds(f"{grid}.exportDataAsCsv", f"{prefix}-export.n_clicks"), prefix
        assert feeds(f"{prefix}-grid-sink.data", f"{prefix}-columns.value"), prefix
    grids = ("screener-grid", "groups-grid", "stages-list", "breadth-sectors-grid")
    more = ("sectors-grid", "industries-grid", "market-new_highs-grid")
    for grid in (*grids, *more):
        version = {"screener": "screener", "groups": "groups", "stages": "stages"}
        version |= {"sectors": "sectors", "industries": "sectors"}
        version |= {"market": "market-highs-lows"}
        page_id = version.get(grid.split("-")[0], "breadth")
        assert feeds(f"{grid}.csvExportParams", f"{page_id}-version.data"), grid
        sink = f"{grid.removesuffix('-grid')}-grid-sink.data"
        in_url = not grid.startswith("market-")  # the Market lists stay out of it
        assert feeds(sink, f"{grid}.columnState", f"{grid}.filterModel") == in_url


def test_dt16_csv_file_is_named_after_view_universe_and_session(app):
    stages = page("stages")
    with app.server.test_request_context():
        *_, key = stages.refresh_stages(1, "sp500", "now", "", 2, None)
        params = page("_common").csv_params("stages-list", key)
        session = stages.market_state("sp500", "now").session
    assert params == {
        "fileName": f"stages-list-sp500-{session.isoformat()}.csv",
        "allColumns": False,
    }


def test_dt17_simple_table_is_dense_with_fixed_decimals():
    frame = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "ratio": [1.234, -0.001, 2.0],
            "rows": [1, 2000, None],
            "mixed": ["x", 3.14159, 7],
        }
    )
    table = tables.simple_table(frame, {"ratio": "Ratio"}, id="t")
    text = json.dumps(table.to_plotly_json(), cls=plotly.utils.PlotlyJSONEncoder)
    head, body = table.children
    classes = [th.className for th in head.children.children]
    assert classes == [None, "num", "num", None]
    cells = [[td.children for td in tr.children] for tr in body.children]
    assert [r[1] for r in cells] == ["1.23", "0.00", "2.00"]  # fixed per column
    assert [r[2] for r in cells] == ["1", "2,000", "—"]
    assert [r[3] for r in cells] == ["x", "3.14", "7"]
    assert body.children[0].children[3].className is None  # text in a text column
    assert body.children[1].children[3].className == "num"  # a number in it
    assert body.children[1].children[1].className == "num"
    assert "dense-table" in table.className and "-0.00" not in text
    assert "Ratio" in text


def test_dt18_breadth_sector_rows_carry_coverage_and_the_pick(app):
    breadth = page("breadth")
    with app.server.test_request_context():
        *_, rows, _key = breadth.refresh_breadth(1, "sp500", "now", "", "Energy", None)
    assert rows and {r["sector"] for r in rows if r["selected"]} == {"Energy"}
    first = rows[0]
    assert first["coverage"] == f"{first['with_data']} / {first['members']}"
    fields = {c["field"] for c in breadth.SECTOR_COLUMNS}
    assert set(first) - {"selected"} <= fields


NODE = shutil.which("node")
NODE_JS = """
const fs = require('fs');
global.window = {};
global.document = {documentElement: {}, addEventListener() {}};
global.MutationObserver = class { observe() {} };
eval(fs.readFileSync('assets/dashAgGridFunctions.js', 'utf8'));
eval(fs.readFileSync('assets/tickstock.js', 'utf8'));
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const f = window.dashAgGridFunctions;
process.stdout.write(JSON.stringify({
  numbers: input.numbers.map(a => f.fmtNum(...a)),
  signs: input.numbers.map(a => f.shownSign(a[0], a[1], a[2])),
  filters: window.dash_clientside.tickstock.encodeFilters(input.model),
}));
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_dt19_the_browser_formats_and_encodes_like_python():
    values = [-1e-9, -0.0, 0.0, 0.0004, -0.0004, -0.04, 1 / 7, -2 / 3, 1234567.0 / 9]
    values += [-0.0611, 98.76, -12345.678 / 7, None]
    cases = [
        [v, d, kind, signed]
        for v in values
        for d in (0, 1, 2, 3)
        for kind in ("num", "int", "pct", "pp")
        for signed in (False, True)
    ]
    model = {
        "sector": {"filterType": "text", "type": "contains", "filter": "Energy"},
        "name": {"filterType": "text", "type": "notEqual", "filter": "X"},
        "close": {
            "filterType": "number",
            "type": "inRange",
            "filter": 5,
            "filterTo": 9.5,
        },
        "rs_rating": {
            "filterType": "number",
            "operator": "AND",
            "conditions": [
                {"filterType": "number", "type": "greaterThanOrEqual", "filter": 80},
                {"filterType": "number", "type": "lessThan", "filter": 95},
            ],
        },
        "stage": {
            "filterType": "number",
            "operator": "OR",
            "conditions": [{"filterType": "number", "type": "equals", "filter": 2}],
        },
    }
    run = subprocess.run(
        [NODE, "-e", NODE_JS],
        input=json.dumps({"numbers": cases, "model": model}),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    out = json.loads(run.stdout)
    expected = [format_number(*c) for c in cases]
    assert out["numbers"] == expected

    def sign(text: str) -> int:
        digits = text.lstrip("+-").replace(",", "").rstrip("%")
        if not digits or float(digits) == 0:
            return 0
        return -1 if text.startswith("-") else 1

    assert out["signs"] == [sign(e) for e in expected]
    assert out["filters"] == grid_state.encode_filters(model)


def _grids(component) -> list:
    """Return every AG Grid in a layout tree."""
    found = [component] if isinstance(component, dag.AgGrid) else []
    children = getattr(component, "children", None)
    if children is None:
        return found
    for child in children if isinstance(children, list | tuple) else [children]:
        found += _grids(child)
    return found


def test_dt20_every_grid_column_declares_its_data_type(app):
    # Without one, AG Grid infers it from the first rows and drops a filter
    # model set before they arrive: the URL's f= was lost now and then.
    with app.server.test_request_context("/"):
        layouts = [
            p["layout"]() for p in dash.page_registry.values() if callable(p["layout"])
        ]
    found = [g for tree in layouts for g in _grids(tree)]
    assert len(found) >= 10, [g.id for g in found]
    defs = [d for g in found for d in g.columnDefs]
    defs += grids.group_column_defs("sector", ["median_ret_1d", "pct_above_sma50"])
    for spec in defs:
        assert spec.get("cellDataType") in ("number", "text", "boolean"), spec
        if spec.get("filter") == "agNumberColumnFilter":
            assert spec["cellDataType"] == "number", spec
        if spec.get("cellRenderer") == "agCheckboxCellRenderer":
            assert spec["cellDataType"] == "boolean", spec
    assert {d.get("cellDataType") for d in defs} == {"number", "text", "boolean"}

"""Column definitions of the dense tables: right-aligned numbers, fixed decimals.

Numeric columns format through `fmtNum` of `assets/dashAgGridFunctions.js`
(referenced as {"function": ...} so dash-ag-grid's own parser evaluates it:
plain strings would go to AG Grid's `new Function`, which the app's CSP
forbids). `format_number` is the same rule in Python for plain HTML tables:
a value that rounds to zero is shown as an unsigned zero, never "-0.0".
"""

from __future__ import annotations

import math
from typing import Any

KINDS = ("num", "int", "pct", "pp")
SCALE = {"num": 1, "int": 1, "pct": 100, "pp": 1}
RIGHT_CELL = "ag-right-aligned-cell num-cell"
RIGHT_HEADER = "ag-right-aligned-header"
ROW_HEIGHT = 26
HEADER_HEIGHT = 30
FLOATING_FILTER_HEIGHT = 32
DENSE_OPTIONS = {
    "rowHeight": ROW_HEIGHT,
    "headerHeight": HEADER_HEIGHT,
    "floatingFiltersHeight": FLOATING_FILTER_HEIGHT,
}
# Typing 80 in a number column's floating filter means ">= 80".
NUMBER_FILTER_PARAMS = {"defaultOption": "greaterThanOrEqual", "maxNumConditions": 2}


def format_number(
    value: Any, decimals: int = 1, kind: str = "num", signed: bool = False
) -> str:
    """Format a number like the grids do: fixed decimals, no "-0.0", '' for none."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    try:
        x = float(value) * SCALE.get(kind, 1)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return str(value)
    d = 0 if kind == "int" else decimals
    r = round(x, d)
    if r == 0:
        r = 0.0  # drops the sign of -0.0 and of tiny negatives
    sign = "-" if r < 0 else ("+" if signed and r > 0 else "")
    unit = "%" if kind in ("pct", "pp") else ""
    return f"{sign}{abs(r):,.{d}f}{unit}"


def number_formatter(
    decimals: int = 1, kind: str = "num", signed: bool = False
) -> dict[str, str]:
    """Return the valueFormatter of a numeric column."""
    sign = "true" if signed else "false"
    return {"function": f"fmtNum(params.value, {decimals}, '{kind}', {sign})"}


def sign_classes(decimals: int = 1, kind: str = "num") -> dict[str, dict[str, str]]:
    """Return cellClassRules colouring the value's shown sign (0 stays neutral)."""
    shown = f"shownSign(params.value, {decimals}, '{kind}')"
    return {"pos": {"function": f"{shown} > 0"}, "neg": {"function": f"{shown} < 0"}}


def num_col(
    decimals: int = 1,
    kind: str = "num",
    signed: bool = False,
    colour: bool = False,
    cell_class: str = "",
    **spec: Any,
) -> dict[str, Any]:
    """Return a right-aligned numeric column (a number filter, fixed decimals)."""
    out: dict[str, Any] = {
        "cellDataType": "number",
        "filter": "agNumberColumnFilter",
        "type": "rightAligned",
        "headerClass": RIGHT_HEADER,
        "cellClass": f"{RIGHT_CELL} {cell_class}".strip(),
        "valueFormatter": number_formatter(decimals, kind, signed),
        "filterParams": NUMBER_FILTER_PARAMS,
    }
    if colour:
        out["cellClassRules"] = sign_classes(decimals, kind)
    extra_class = spec.pop("cellClass", "")
    out.update(spec)
    out["cellClass"] = f"{out['cellClass']} {extra_class}".strip()
    return out


def text_col(**spec: Any) -> dict[str, Any]:
    """Return a text column with a text filter."""
    return {"cellDataType": "text", "filter": "agTextColumnFilter", **spec}


def symbol_col(width: int, **spec: Any) -> dict[str, Any]:
    """Return the pinned, linked symbol column (a click opens the symbol page)."""
    return text_col(
        field="symbol",
        headerName="Symbol",
        pinned="left",
        width=width,
        cellClass="fw-semibold link-cell",
        **spec,
    )


def is_numeric(spec: dict[str, Any]) -> bool:
    """Return whether a column definition is a numeric (right-aligned) column."""
    return spec.get("filter") == "agNumberColumnFilter" or spec.get("type") in (
        "rightAligned",
        "numericColumn",
    )


def data_type(spec: dict[str, Any]) -> str:
    """Return the AG Grid cellDataType a column definition stands for."""
    if spec.get("cellRenderer") == "agCheckboxCellRenderer":
        return "boolean"
    return "number" if is_numeric(spec) else "text"


def densify(spec: dict[str, Any]) -> dict[str, Any]:
    """Return a column definition with a data type; numbers right-aligned, formatted.

    Definitions built elsewhere (other pages' own columns) get the same number
    rules: a number filter without a formatter becomes an integer column.
    """
    out = dict(spec)
    # A declared type for every column: while AG Grid still has a type to infer
    # from the first rows, a filter set before the rows arrive (the URL's `f=`)
    # is dropped, and dash-ag-grid then writes back an empty filterModel.
    out.setdefault("cellDataType", data_type(spec))
    if not is_numeric(spec) or spec.get("cellRenderer"):
        return out
    out.setdefault("type", "rightAligned")
    out.setdefault("headerClass", RIGHT_HEADER)
    cls = str(out.get("cellClass") or "")
    if "ag-right-aligned-cell" not in cls:
        out["cellClass"] = f"{RIGHT_CELL} {cls}".strip()
    out.setdefault("valueFormatter", number_formatter(0, "int"))
    return out

"""A grid's sort, filters and visible columns as URL query parameters.

`?sort=rs_rating:desc&f=sector:Energy&f=rs_rating:>=80&cols=symbol,sector,rs_rating`
is parsed here when a page's layout is built (the state is baked into the
column definitions and the initial filter model) and written back by
`syncGridUrl` in assets/tickstock.js, which encodes exactly like
`encode_state` below. A second grid on a page uses prefixed keys
(`chg_sort`, `chg_f`, `chg_cols`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from components.grid_columns import is_numeric

NUMBER_OPS = {
    ">=": "greaterThanOrEqual",
    "<=": "lessThanOrEqual",
    "!=": "notEqual",
    ">": "greaterThan",
    "<": "lessThan",
    "=": "equals",
}
TEXT_OPS = {"!=": "notEqual", "=": "equals", "^": "startsWith", "": "contains"}
MAX_CONDITIONS = 2  # AG Grid's filters hold two conditions by default
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def url_keys(key: str = "") -> tuple[str, str, str]:
    """Return the (sort, filter, columns) query keys of a grid."""
    pre = f"{key}_" if key else ""
    return f"{pre}sort", f"{pre}f", f"{pre}cols"


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v not in (None, "")]


def parse_sort(text: Any) -> list[tuple[str, str]]:
    """Parse "col:desc,col2:asc" into [(col, dir)], dropping malformed parts."""
    out = []
    for part in ",".join(_as_list(text)).split(","):
        col, _, way = part.strip().partition(":")
        way = (way or "asc").lower()
        if _FIELD.match(col) and way in ("asc", "desc"):
            out.append((col, way))
    return out


def _condition(value: str, numeric: bool) -> dict[str, Any] | None:
    ops = NUMBER_OPS if numeric else TEXT_OPS
    for op in sorted(ops, key=len, reverse=True):
        if value.startswith(op):
            rest = value[len(op) :]
            break
    else:  # pragma: no cover - TEXT_OPS has ""; numbers need an operator
        op, rest = "=", value
    if not numeric:
        return {"filterType": "text", "type": ops[op], "filter": rest} if rest else None
    try:
        number = float(rest)
    except ValueError:
        return None
    if number.is_integer():
        number = int(number)
    return {"filterType": "number", "type": ops[op], "filter": number}


def parse_filters(
    values: Any, numeric: Mapping[str, bool]
) -> dict[str, dict[str, Any]]:
    """Parse ["col:value", "col2:>=80"] into an AG Grid filter model.

    `numeric` maps each filterable field to whether it has a number filter;
    unknown fields and malformed values are dropped. Two conditions on one
    field combine with AND.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    for item in _as_list(values):
        col, sep, value = item.partition(":")
        if not sep or col not in numeric:
            continue
        cond = _condition(value, numeric[col])
        if cond and len(found.setdefault(col, [])) < MAX_CONDITIONS:
            found[col].append(cond)
    model = {}
    for col, conds in found.items():
        if len(conds) == 1:
            model[col] = conds[0]
        else:
            kind = conds[0]["filterType"]
            model[col] = {"filterType": kind, "operator": "AND", "conditions": conds}
    return model


def parse_cols(text: Any) -> list[str] | None:
    """Parse "a,b,c" into the visible columns (None: the defaults)."""
    cols = [c for c in ",".join(_as_list(text)).split(",") if _FIELD.match(c)]
    return cols or None


def _encode_condition(col: str, cond: Mapping[str, Any]) -> list[str]:
    kind, value = cond.get("type"), cond.get("filter")
    if kind == "inRange":
        return [f"{col}:>={value}", f"{col}:<={cond.get('filterTo')}"]
    ops = NUMBER_OPS if cond.get("filterType") == "number" else TEXT_OPS
    op = next((k for k, v in ops.items() if v == kind), None)
    if op is None or value in (None, ""):
        return []
    return [f"{col}:{op}{value}"]


def encode_filters(model: Mapping[str, Any] | None) -> list[str]:
    """Return the `f` values of an AG Grid filter model (OR models are left out)."""
    out: list[str] = []
    for col, entry in (model or {}).items():
        if "conditions" in entry:
            if str(entry.get("operator", "AND")).upper() != "AND":
                continue
            for cond in entry["conditions"]:
                out += _encode_condition(col, cond)
        else:
            out += _encode_condition(col, entry)
    return out


def encode_state(
    sort: Sequence[tuple[str, str]],
    model: Mapping[str, Any] | None,
    cols: Sequence[str] | None,
    key: str = "",
) -> dict[str, Any]:
    """Return the query parameters of a grid state (empty parts left out)."""
    k_sort, k_filter, k_cols = url_keys(key)
    out: dict[str, Any] = {}
    if sort:
        out[k_sort] = ",".join(f"{c}:{w}" for c, w in sort)
    filters = encode_filters(model)
    if filters:
        out[k_filter] = filters
    if cols:
        out[k_cols] = ",".join(cols)
    return out


def apply_state(
    defs: Sequence[dict[str, Any]],
    query: Mapping[str, Any],
    key: str = "",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return (column defs with the URL's sort and visible columns, filter model)."""
    k_sort, k_filter, k_cols = url_keys(key)
    fields = [d.get("field") for d in defs]
    sort = [(c, w) for c, w in parse_sort(query.get(k_sort)) if c in fields]
    cols = parse_cols(query.get(k_cols))
    numeric = {
        d["field"]: is_numeric(d)
        for d in defs
        if d.get("field") and d.get("filter") is not False
    }
    model = parse_filters(query.get(k_filter), numeric)
    order = {c: i for i, (c, _) in enumerate(sort)}
    out = []
    for spec in defs:
        spec = dict(spec)
        field = spec.get("field")
        if sort:
            spec.pop("sort", None)
            spec.pop("sortIndex", None)
        if field in order:
            spec["sort"] = sort[order[field]][1]
            spec["sortIndex"] = order[field]
        if cols is not None and not spec.get("lockVisible"):
            spec["hide"] = field not in cols
        out.append(spec)
    return out, model

"""Breadth per group (GICS sector): the breadth series restricted to its members.

`breadth_by_group` applies `analytics.breadth.breadth` (same definitions, same
columns) to the columns of each group; `group_breadth_table` keeps one row per
group for the last session, with its member counts: `members` (symbols of the
group in the panel's universe), `with_data` (members with a close on the last
session). Symbols without a group are left out; an empty panel gives no rows.
"""

from __future__ import annotations

import pandas as pd

from analytics.breadth import BREADTH_COLUMNS, INT_COLUMNS, breadth, breadth_panel

GROUP_TABLE_COLUMNS = [
    "sector",
    "members",
    "with_data",
    "pct_above_sma20",
    "pct_above_sma50",
    "pct_above_sma200",
    "new_highs",
    "new_lows",
    "advancers",
    "decliners",
    "unchanged",
]
PANEL_FIELDS = ("high", "low", "volume")


def group_members(groups: pd.Series) -> dict[str, list[str]]:
    """Return group -> sorted member symbols (symbols without a group left out)."""
    groups = groups.dropna().astype(str)
    groups = groups[groups.str.len() > 0]
    return {
        name: sorted(members.index.astype(str))
        for name, members in groups.groupby(groups, sort=True)
    }


def breadth_by_group(
    panels: dict[str, pd.DataFrame], groups: pd.Series
) -> dict[str, pd.DataFrame]:
    """Return the breadth series of each group's members (index = session date)."""
    close = panels.get("close")
    out = {}
    for name, members in group_members(groups).items():
        if close is None:
            out[name] = pd.DataFrame(columns=BREADTH_COLUMNS)
            continue
        cols = [s for s in members if s in close.columns]
        sub = {f: panels[f][cols] for f in PANEL_FIELDS if panels.get(f) is not None}
        out[name] = breadth(
            close[cols], sub.get("high"), sub.get("low"), sub.get("volume")
        )
    return out


def panel_by_group(
    panels: dict[str, pd.DataFrame], groups: pd.Series
) -> dict[str, pd.DataFrame]:
    """Return the 11-row breadth panel of each group's members at the last session."""
    close, opens = panels.get("close"), panels.get("open")
    out = {}
    for name, members in group_members(groups).items():
        cols = [] if close is None else [s for s in members if s in close.columns]
        sub = pd.DataFrame() if close is None else close[cols]
        out[name] = breadth_panel(sub, None if opens is None else opens[cols])
    return out


def group_breadth_table(
    series: dict[str, pd.DataFrame],
    groups: pd.Series,
    close: pd.DataFrame | None,
) -> pd.DataFrame:
    """Return one row per group: the last session's breadth and member counts."""
    rows = []
    members = group_members(groups)
    for name, frame in series.items():
        names = members.get(name, [])
        with_data = 0
        if close is not None and len(close):
            present = [s for s in names if s in close.columns]
            with_data = int(close[present].iloc[-1].notna().sum())
        last = frame.iloc[-1] if len(frame) else pd.Series(dtype=float)
        row = {"sector": name, "members": len(names), "with_data": with_data}
        for col in GROUP_TABLE_COLUMNS[3:]:
            value = last.get(col)
            row[col] = int(value) if col in INT_COLUMNS and value is not None else value
        rows.append(row)
    return pd.DataFrame(rows, columns=GROUP_TABLE_COLUMNS)

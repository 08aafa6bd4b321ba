"""Tabular exports of the market state: one contract for the CLI and REST.

`tickstock export {rankings|stages|rotation|breadth}` (`dashapp.cli.export`) and
the REST `?format=csv` endpoints both call `export_frame`, so they print the same
numbers as the UI.
"""

from __future__ import annotations

import pandas as pd

from dashapp.market import BadRequest, MarketState
from dashapp.market.counts import rs_universe

EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "rankings": (
        "symbol", "sector", "rs_score", "rs_rating", "ret_1d", "ret_5d", "ret_21d",
        "ret_63d", "ret_126d", "ret_252d", "ret_ytd", "stage", "rs_ranked_among",
    ),
    "stages": (
        "symbol", "stage", "weeks_in_stage", "ma30", "pv", "slope", "mansfield_rs",
        "candidate_stage", "candidate_weeks",
    ),
    "rotation": ("symbol", "date", "rs_ratio", "rs_momentum", "quadrant"),
    "breadth": (
        "date", "advancers", "decliners", "unchanged", "pct_above_sma20",
        "pct_above_sma50", "pct_above_sma200", "new_highs", "new_lows",
        "mcclellan_osc", "mcclellan_sum", "up_volume", "down_volume",
    ),
}  # fmt: skip


def export_frame(state: MarketState, kind: str) -> pd.DataFrame:
    """Return the export table of one kind with exactly the contracted columns first."""
    if kind not in EXPORT_COLUMNS:
        raise BadRequest(f"unknown export {kind!r}: use {', '.join(EXPORT_COLUMNS)}")
    frame = getattr(state, kind)
    if frame is None:
        frame = pd.DataFrame()
    index_name = "date" if kind == "breadth" else "symbol"
    if index_name not in frame.columns and frame.index.name == index_name:
        frame = frame.reset_index()
    elif index_name not in frame.columns and len(frame):
        frame = frame.rename_axis(index_name).reset_index()
    required = list(EXPORT_COLUMNS[kind])
    if kind == "rankings":
        frame = frame.assign(rs_ranked_among=rs_universe(frame)["ranked"])
    frame = frame.reindex(columns=required)
    if "date" in frame and len(frame):
        frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return frame.reset_index(drop=True)

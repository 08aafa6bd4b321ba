"""Tabular exports of the market state: one contract for the CLI and REST.

`tickstock export {rankings|stages|rotation|breadth}` and the REST `?format=csv`
endpoints both call `export_frame`, so they print the same numbers as the UI.
"""

from __future__ import annotations

import argparse
import sys

import orjson
import pandas as pd

from dashapp.market import BadRequest, MarketState, market_state
from dashapp.market.counts import rs_universe
from dashapp.settings import Settings

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


def frame_to_json(frame: pd.DataFrame) -> bytes:
    """Serialise a frame as a JSON array of records (NaN -> null)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return orjson.dumps(records, option=orjson.OPT_SERIALIZE_NUMPY)


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Print one market-state table to stdout as CSV or JSON."""
    from dashapp.factory import prepare_store

    store = prepare_store(settings)
    try:
        state = market_state(args.universe, args.as_of, store=store)
        frame = export_frame(state, args.kind)
    except BadRequest as exc:
        print(f"tickstock export: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        sys.stdout.write(frame_to_json(frame).decode() + "\n")
    else:
        frame.to_csv(sys.stdout, index=False)
    if state.session is not None:
        # Say which session a weekend, holiday or "now" resolved to.
        asked = f" (as_of {state.as_of})" if state.as_of != "now" else " (now)"
        print(f"tickstock export: session {state.session}{asked}", file=sys.stderr)
    if state.demo:
        print("tickstock export: DEMO DATA (generated, not real)", file=sys.stderr)
    if args.kind == "rankings":
        label = rs_universe(state.rankings)["label"]
        print(f"tickstock export: {label}", file=sys.stderr)
    if len(state.excluded):
        print(
            f"tickstock export: {len(state.excluded)} symbols excluded "
            "(no price in the as-of session)",
            file=sys.stderr,
        )
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    """Register `tickstock export`."""
    p = sub.add_parser("export", help="print rankings/stages/rotation/breadth")
    p.add_argument("kind", choices=sorted(EXPORT_COLUMNS))
    p.add_argument("--universe", default="sp500")
    p.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD[THH:MM]")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(func=cmd_export)

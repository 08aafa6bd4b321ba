"""`tickstock export`: print one market-state table as CSV or JSON.

The columns are the export contract of `dashapp.api.export`, the same the REST
`?format=csv` endpoints serve.
"""

from __future__ import annotations

import argparse
import sys

import orjson
import pandas as pd

from dashapp.api.export import EXPORT_COLUMNS, export_frame
from dashapp.market import BadRequest, market_state
from dashapp.market.counts import rs_universe
from dashapp.settings import Settings


def frame_to_json(frame: pd.DataFrame) -> bytes:
    """Serialise a frame as a JSON array of records (NaN -> null)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return orjson.dumps(records, option=orjson.OPT_SERIALIZE_NUMPY)


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Print one market-state table to stdout as CSV or JSON."""
    from dashapp.factory import prepare_store  # the whole app: only when run

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

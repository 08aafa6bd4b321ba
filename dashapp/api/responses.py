"""JSON (orjson) and CSV bodies of the REST API."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import orjson
import pandas as pd
from flask import Response

JSON_MIME = "application/json"
CSV_MIME = "text/csv"


def json_response(body: Any, status: int = 200) -> Response:
    """Return an orjson-encoded JSON response."""
    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    data = orjson.dumps(body, option=options, default=_default)
    return Response(data, status=status, mimetype=JSON_MIME)


def _default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return None if value is pd.NaT else value.isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return frame rows as JSON-ready dicts (NaN/NaT -> null, times -> ISO)."""
    if frame is None or frame.empty:
        return []
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_datetime64_any_dtype(series):
            out[col] = series.map(lambda t: None if pd.isna(t) else t.isoformat())
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def csv_response(frame: pd.DataFrame, name: str) -> Response:
    """Return a frame as a CSV download."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    response = Response(buffer.getvalue(), mimetype=CSV_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response

"""Parse the dates and bar times of imported files.

Epoch numbers (s, ms, us or ns by magnitude) and ISO strings with an offset
are exact; naive minute times are read in `--tz` (default America/New_York,
the exchange clock) and stored as the UTC bar start. Daily dates keep the
calendar date as written (epoch values use the New York date).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from ingest.history_read import DAILY, MARKET_TZ

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def _epoch_unit(values: np.ndarray) -> str:
    biggest = np.nanmax(np.abs(values)) if len(values) else 0
    for unit, limit in (("s", 1e11), ("ms", 1e14), ("us", 1e17)):
        if biggest < limit:
            return unit
    return "ns"


def _parse_strings_daily(text: pd.Series) -> pd.Series:
    iso = text.str.match(ISO_DATE).fillna(False).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    if iso.any():
        parsed[iso] = pd.to_datetime(
            text[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce"
        ).astype("datetime64[s]")
    rest = ~iso & text.notna().to_numpy()
    if rest.any():
        parsed[rest] = pd.to_datetime(
            text[rest], format="mixed", errors="coerce"
        ).astype("datetime64[s]")
    return parsed


def _parse_strings_minute(text: pd.Series, tz: str) -> pd.Series:
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    stripped = text.str.strip()
    aware = stripped.str.contains(HAS_OFFSET).fillna(False).to_numpy(dtype=bool)
    if aware.any():
        parsed[aware] = pd.to_datetime(
            stripped[aware], utc=True, format="ISO8601", errors="coerce"
        ).astype("datetime64[us, UTC]")
    naive = ~aware & stripped.notna().to_numpy()
    if naive.any():
        local = pd.to_datetime(stripped[naive], format="mixed", errors="coerce")
        parsed[naive] = (
            local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            .dt.tz_convert("UTC")
            .astype("datetime64[us, UTC]")
        )
    return parsed


def parse_when(values: pd.Series, kind: str, tz: str = MARKET_TZ) -> pd.Series:
    """Parse dates (daily: naive midnight) or bar starts (minute: UTC); NaT if bad."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        stamps = pd.to_datetime(numbers, unit=_epoch_unit(numbers), utc=True)
        series = pd.Series(stamps, index=values.index)
        if kind == DAILY:
            local = series.dt.tz_convert(MARKET_TZ).dt.tz_localize(None)
            return local.dt.normalize().astype("datetime64[s]")
        return series.astype("datetime64[us, UTC]")
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        values
    ):
        series = values
        if kind == DAILY:
            if series.dt.tz is not None:
                series = series.dt.tz_convert(MARKET_TZ).dt.tz_localize(None)
            return series.dt.normalize().astype("datetime64[s]")
        if series.dt.tz is None:
            series = series.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        return series.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    # Few distinct dates/times per file: parse each once, then fan out.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(
        [
            u.isoformat() if isinstance(u, dt.date | dt.datetime) else str(u)
            for u in uniques
        ],
        dtype="string",
    )
    if kind == DAILY:
        parsed = _parse_strings_daily(text)
    else:
        parsed = _parse_strings_minute(text, tz)
    out = parsed.iloc[np.maximum(codes, 0)].set_axis(values.index)
    return out.where(codes >= 0) if (codes < 0).any() else out

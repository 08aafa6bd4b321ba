"""Bars the REST server answers with: buckets, daily roll-ups, daily history."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from ingest.simulator.truth import TRUTH_COLUMNS, GroundTruth
from ingest.synthetic import (
    CALENDAR,
    MS_PER_MINUTE,
    et_datetime,
    et_midnight_ms,
    round4,
)

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
SPAN_MS = {"minute": MS_PER_MINUTE, "hour": 60 * MS_PER_MINUTE}


def _ordinal(d: date) -> int:
    return d.toordinal()


class DailyHistory:
    """Daily bars the simulator serves for dates it has no minutes for."""

    def __init__(self, daily: pd.DataFrame) -> None:
        df = daily.rename(columns=str.lower).copy()
        missing = {"symbol", "date", "open", "high", "low", "close", "volume"} - set(df)
        if missing:
            raise ValueError(f"daily bars lack columns: {sorted(missing)}")
        df["symbol"] = df["symbol"].astype(str)
        stamps = pd.to_datetime(df["date"]).to_numpy().astype("datetime64[D]")
        df["day"] = stamps.astype(np.int64) + EPOCH_ORDINAL
        keep = ["symbol", "day", "open", "high", "low", "close", "volume"]
        keep += [c for c in ("vwap", "trades") if c in df]
        self.df = df[keep].sort_values(["symbol", "day"], ignore_index=True)
        self._rows = self.df.groupby("symbol").indices

    def symbol_days(self, symbol: str, d0: int, d1: int) -> pd.DataFrame:
        """Return one symbol's bars for day ordinals in [d0, d1]."""
        idx = self._rows.get(symbol)
        if idx is None:
            return self.df.iloc[0:0]
        rows = self.df.iloc[idx]
        return rows[(rows["day"] >= d0) & (rows["day"] <= d1)]

    def on_day(self, day: int) -> pd.DataFrame:
        """Return every symbol's bar on one day ordinal."""
        return self.df[self.df["day"] == day]

    def last_closes(self, before: date) -> dict[str, float]:
        """Return each symbol's last close strictly before `before`."""
        past = self.df[self.df["day"] < _ordinal(before)]
        return past.groupby("symbol")["close"].last().astype(float).to_dict()

    def average_volume(self, before: date, days: int = 20) -> dict[str, float]:
        """Return each symbol's mean volume over its last `days` bars before a date."""
        past = self.df[self.df["day"] < _ordinal(before)]
        tail = past.groupby("symbol").tail(days)
        return tail.groupby("symbol")["volume"].mean().astype(float).to_dict()


def rollup_days(
    truth: GroundTruth, symbols: np.ndarray, d0: date, d1: date, sym: int | None
) -> pd.DataFrame:
    """Roll recorded minutes up into daily bars (regular session when present)."""
    lo = et_midnight_ms(d0)
    hi = et_midnight_ms(d1 + timedelta(days=1)) - 1
    cols = truth.arrays(lo, hi, sym)
    if len(cols["t"]) == 0:
        return pd.DataFrame(
            columns=[
                "symbol",
                "day",
                "open",
                "high",
                "low",
                "close",
                "volume",
                "vwap",
                "trades",
            ]
        )
    minutes = np.unique(cols["t"])
    regular = dict(
        zip(
            minutes.tolist(),
            [CALENDAR.is_regular(int(m)) for m in minutes],
            strict=True,
        )
    )
    days = {int(m): _ordinal(et_datetime(int(m)).date()) for m in minutes}
    df = pd.DataFrame(
        {
            "sym": cols["sym"],
            "t": cols["t"],
            "day": [days[t] for t in cols["t"].tolist()],
            "reg": [regular[t] for t in cols["t"].tolist()],
            **{name: cols[name] for name in TRUTH_COLUMNS},
        }
    )
    any_reg = df.groupby(["sym", "day"])["reg"].transform("any")
    df = df[df["reg"] | ~any_reg].sort_values(["sym", "day", "t"])
    df["pv"] = df["vwap"] * df["volume"]
    g = df.groupby(["sym", "day"], sort=True)
    out = g.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        pv=("pv", "sum"),
        trades=("trades", "sum"),
    ).reset_index()
    out["vwap"] = round4(out["pv"] / out["volume"].clip(lower=1))
    out["symbol"] = symbols[out["sym"].to_numpy()].astype(str)
    return out.drop(columns=["sym", "pv"])


def _merge_runs(
    cols: dict[str, np.ndarray], keys: np.ndarray, stamps: np.ndarray
) -> dict[str, np.ndarray]:
    """Merge each run of equal `keys` into one bar stamped from `stamps`."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)] - 1
    volume = np.add.reduceat(cols["volume"], starts)
    pv = np.add.reduceat(cols["vwap"] * cols["volume"], starts)
    out = {
        "t": stamps[starts],
        "open": cols["open"][starts],
        "close": cols["close"][ends],
        "high": np.maximum.reduceat(cols["high"], starts),
        "low": np.minimum.reduceat(cols["low"], starts),
        "volume": volume,
        "vwap": round4(pv / np.maximum(volume, 1)),
        "base": ends - starts + 1,
    }
    if "trades" in cols:
        out["trades"] = np.add.reduceat(cols["trades"], starts)
    return out


def _bucket(cols: dict[str, np.ndarray], width_ms: int) -> dict[str, np.ndarray]:
    """Aggregate time-sorted bars into buckets `width_ms` wide."""
    if len(cols["t"]) == 0 or width_ms <= MS_PER_MINUTE:
        return cols
    keys = cols["t"] // width_ms * width_ms
    return _merge_runs(cols, keys, keys)


def _prefer_minutes(
    rolled: pd.DataFrame | None, history: pd.DataFrame | None, key: str
) -> pd.DataFrame | None:
    """Merge daily bars: days rolled up from emitted minutes win over history."""
    frames = [f for f in (rolled, history) if f is not None and len(f)]
    if len(frames) == 2:
        frames[1] = history[~history[key].isin(set(rolled[key]))]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def _day_columns(df: pd.DataFrame, mult: int) -> dict[str, np.ndarray]:
    """Return REST columns for daily bars (t = midnight ET), grouped by `mult` days."""
    days = df["day"].to_numpy(dtype=np.int64)
    t = np.array(
        [et_midnight_ms(date.fromordinal(int(d))) for d in days], dtype=np.int64
    )
    volume = df["volume"].to_numpy(dtype=np.float64)
    typical = round4((df["high"] + df["low"] + df["close"]).to_numpy() / 3)
    vwap = df["vwap"].to_numpy(dtype=np.float64) if "vwap" in df else typical
    vwap = np.where(np.isnan(vwap), typical, vwap)
    cols = {
        "t": t,
        "open": df["open"].to_numpy(dtype=np.float64),
        "high": df["high"].to_numpy(dtype=np.float64),
        "low": df["low"].to_numpy(dtype=np.float64),
        "close": df["close"].to_numpy(dtype=np.float64),
        "volume": np.rint(volume).astype(np.int64),
        "vwap": vwap,
    }
    if "trades" in df and df["trades"].notna().all():
        cols["trades"] = df["trades"].to_numpy().astype(np.int64)
    if mult > 1:
        return _merge_runs(cols, (days - days.min()) // mult, t)
    return cols


class BarQueries:
    """Answer the REST bar queries (mixed into `Simulator`).

    Reads the facade's `_truth`, `_daily`, `_index`, `_sym_array` and `_otc`.
    """

    def _range_bars(
        self, ticker: str, mult: int, span: str, lo_ms: int, hi_ms: int
    ) -> dict[str, np.ndarray]:
        if span == "day":
            return self._day_bars(ticker, mult, lo_ms, hi_ms)
        sym = self._index.get(ticker)
        if sym is None:
            return self._truth.arrays(0, -1)
        cols = self._truth.arrays(lo_ms, hi_ms, sym)
        cols.pop("sym")
        return _bucket(cols, SPAN_MS[span] * mult)

    def _day_bars(self, ticker: str, mult: int, lo_ms: int, hi_ms: int) -> dict:
        d0, d1 = et_datetime(lo_ms).date(), et_datetime(hi_ms).date()
        sym = self._index.get(ticker)
        rolled = (
            rollup_days(self._truth, self._sym_array, d0, d1, sym)
            if sym is not None
            else None
        )
        history = (
            self._daily.symbol_days(ticker, _ordinal(d0), _ordinal(d1))
            if self._daily is not None
            else None
        )
        df = _prefer_minutes(rolled, history, "day")
        if df is None:
            return self._truth.arrays(0, -1)
        return _day_columns(df.sort_values("day"), mult)

    def _grouped_day(self, day: date, include_otc: bool) -> pd.DataFrame:
        rolled = rollup_days(self._truth, self._sym_array, day, day, None)
        history = self._daily.on_day(_ordinal(day)) if self._daily is not None else None
        df = _prefer_minutes(rolled, history, "symbol")
        if df is None:
            return pd.DataFrame(columns=["symbol"])
        if "vwap" not in df or df["vwap"].isna().any():
            typical = pd.Series(
                round4((df["high"] + df["low"] + df["close"]) / 3), index=df.index
            )
            df["vwap"] = df["vwap"].fillna(typical) if "vwap" in df else typical
        if not include_otc:
            df = df[~df["symbol"].isin(self._otc)]
        return df.sort_values("symbol", ignore_index=True)

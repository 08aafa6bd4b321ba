"""Reconcile daily series from different sources before they are stored.

Two daily series of one symbol that overlap on enough sessions are compared
close by close. A constant price ratio (every ratio within PRICE_TOLERANCE of
the median) is a different split or adjustment basis: the older series (the
one whose data ends earlier) is rescaled to the newer one's basis, prices
times the factor and volumes divided by it. After that, a constant volume
ratio (for example IEX-only against consolidated volume) rescales the older
volumes; a volume ratio that is far from 1 but not constant is flagged. Price
ratios that drift by less than DRIFT_TOLERANCE (series adjusted for dividends
as of different dates, a split apart) rescale the older part by the ratio where
the two series join. An overlap whose price ratios vary more keeps the newer
series on the overlapping sessions and is flagged. The newer series always wins
on the overlapping sessions. Pure pandas: no database access here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

PRICE_TOLERANCE = 0.005
# A median ratio this close to 1 is the same basis (rounding, not a rescale).
SAME_BASIS = 0.001
# Ratios (95 % of them) within this of their median drift (dividend
# adjustments as of different dates) but are one split basis; wider is
# inconsistent.
DRIFT_TOLERANCE = 0.05
JOIN_SESSIONS = 5
VOLUME_TOLERANCE = 0.02
# A median volume ratio beyond this either way is a different volume basis.
VOLUME_FLAG_RATIO = 1.25
MIN_OVERLAP = 5
PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = (*PRICE_COLUMNS, "volume")
STORED = -1
# Stored rows of these origins are never a reference: real data replaces them.
SYNTHETIC_SOURCES = frozenset({"demo", "simulated"})

PRICE, VOLUME = "price", "volume"
INCONSISTENT, VOLUME_FLAG = "inconsistent", "volume_flag"


@dataclass(frozen=True)
class Reconciliation:
    """One rescaling applied (or one overlap flagged) for one symbol."""

    symbol: str
    kind: str
    factor: float
    applied_to_start: dt.date | None
    applied_to_end: dt.date | None
    sessions: int
    reason: str

    def as_row(self) -> dict:
        """Return the record stored in data_adjustments."""
        return {
            "symbol": self.symbol,
            "kind": self.kind,
            "factor": float(self.factor),
            "applied_to_start": self.applied_to_start,
            "applied_to_end": self.applied_to_end,
            "sessions": self.sessions,
            "reason": self.reason,
        }

    def describe(self) -> str:
        """Return one printable line."""
        span = ""
        if self.applied_to_start is not None:
            span = f" to {self.applied_to_start} .. {self.applied_to_end}"
        verb = "rescaled" if self.kind in (PRICE, VOLUME) else "flagged"
        return (
            f"{self.symbol}: {self.kind} {verb} x{self.factor:.6g}{span} "
            f"({self.sessions} overlapping sessions; {self.reason})"
        )


@dataclass
class BatchResult:
    """Reconciled rows per input file, stored rows to rewrite, and what was done."""

    files: list[pd.DataFrame]
    stored_updates: pd.DataFrame
    reconciliations: list[Reconciliation]


def _ratios(numer: pd.Series, denom: pd.Series) -> np.ndarray:
    n, d = numer.to_numpy(np.float64), denom.to_numpy(np.float64)
    ok = (n > 0) & (d > 0) & np.isfinite(n) & np.isfinite(d)
    return n[ok] / d[ok]


def _constant(ratios: np.ndarray) -> tuple[float, float]:
    """Return (median ratio, largest relative deviation from it)."""
    median = float(np.median(ratios))
    return median, float(np.max(np.abs(ratios / median - 1.0)))


def _scale(frame: pd.DataFrame, rows: pd.Index, price: float, volume: float) -> None:
    for col in PRICE_COLUMNS:
        frame.loc[rows, col] = frame.loc[rows, col] * price
    frame.loc[rows, "volume"] = frame.loc[rows, "volume"] * volume
    frame.loc[rows, "_dirty"] = True


def _span(rows: pd.Index) -> tuple[dt.date | None, dt.date | None]:
    if not len(rows):
        return None, None
    return rows.min().date(), rows.max().date()


def merge_symbol(
    symbol: str, current: pd.DataFrame, new: pd.DataFrame
) -> tuple[pd.DataFrame, list[Reconciliation]]:
    """Merge a new series into the current one (both indexed by date)."""
    new_is_newer = new.index.max() >= current.index.max()
    newer, older = (new, current) if new_is_newer else (current, new)
    older = older.copy()
    overlap = older.index.intersection(newer.index).sort_values()
    kept = older.index.difference(newer.index)
    start, end = _span(kept)
    found: list[Reconciliation] = []

    def note(kind: str, factor: float, reason: str, applied: bool = True) -> None:
        first, last = (start, end) if applied else (None, None)
        found.append(
            Reconciliation(symbol, kind, factor, first, last, len(overlap), reason)
        )

    ratios = _ratios(newer.loc[overlap, "close"], older.loc[overlap, "close"])
    if len(ratios) >= MIN_OVERLAP:
        factor, spread = _constant(ratios)
        low, high = float(ratios.min()), float(ratios.max())
        reason = "constant close ratio (split/adjustment basis)"
        if spread > PRICE_TOLERANCE:
            # Ratios that drift a little: adjusted as of different dates.
            # Rescale by the ratio where the series join, so no step is left.
            factor = float(np.median(ratios[:JOIN_SESSIONS]))
            reason = (
                f"close ratio drifts {low:.4g}..{high:.4g} (adjusted as of "
                "different dates): rescaled by the ratio at the join"
            )
        # A few bad prints must not hide a drifting basis: judge 95 % of the days.
        typical = float(np.quantile(np.abs(ratios / np.median(ratios) - 1), 0.95))
        if typical > DRIFT_TOLERANCE:
            note(
                INCONSISTENT,
                float(np.median(ratios)),
                f"close ratios vary {low:.4g}..{high:.4g}; kept the newer source",
                applied=False,
            )
        else:
            if abs(factor - 1.0) > SAME_BASIS:
                _scale(older, kept, factor, 1.0 / factor)
                if len(kept):
                    note(PRICE, factor, reason)
                older.loc[overlap, "volume"] = older.loc[overlap, "volume"] / factor
            _reconcile_volume(older, newer, overlap, kept, note)
    merged = pd.concat([older.loc[kept], newer]).sort_index()
    return merged, found


def _reconcile_volume(older, newer, overlap, kept, note) -> None:
    ratios = _ratios(newer.loc[overlap, "volume"], older.loc[overlap, "volume"])
    if len(ratios) < MIN_OVERLAP:
        return
    factor, spread = _constant(ratios)
    if spread <= VOLUME_TOLERANCE and abs(factor - 1.0) > VOLUME_TOLERANCE:
        older.loc[kept, "volume"] = older.loc[kept, "volume"] * factor
        older.loc[kept, "_dirty"] = True
        if len(kept):
            note(VOLUME, factor, "constant volume ratio (volume basis)")
    elif not 1 / VOLUME_FLAG_RATIO <= factor <= VOLUME_FLAG_RATIO:
        note(
            VOLUME_FLAG,
            factor,
            f"volume ratio not constant ({ratios.min():.4g}..{ratios.max():.4g}): "
            "volume bases differ (e.g. IEX-only vs consolidated)",
            applied=False,
        )


def _indexed(frame: pd.DataFrame, tag: int) -> pd.DataFrame:
    out = frame.copy()
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    out["_tag"] = tag
    out["_dirty"] = tag != STORED
    return out


def reconcile_batch(stored: pd.DataFrame, files: Sequence[pd.DataFrame]) -> BatchResult:
    """Reconcile each file's daily bars with stored bars and with earlier files."""
    reference = stored
    if "source" in stored and len(stored):
        reference = stored[~stored["source"].isin(SYNTHETIC_SOURCES)]
    parts = [_indexed(reference, STORED)]
    parts += [_indexed(f, i) for i, f in enumerate(files)]
    combined = pd.concat([p for p in parts if len(p)], ignore_index=True)
    if combined.empty:
        return BatchResult(list(files), stored.iloc[0:0], [])
    inputs = combined.groupby("symbol")["_tag"].nunique()
    busy = set(inputs.index[inputs > 1])
    plain = combined[~combined["symbol"].isin(busy)]
    merged = [plain]
    found: list[Reconciliation] = []
    for symbol, rows in combined[combined["symbol"].isin(busy)].groupby(
        "symbol", sort=True
    ):
        current = None
        for _tag, series in rows.groupby("_tag", sort=True):
            series = series.set_index("date")
            if current is None:
                current = series
                continue
            current, notes = merge_symbol(str(symbol), current, series)
            found.extend(notes)
        merged.append(current.reset_index())
    final = pd.concat(merged, ignore_index=True)
    out_files = []
    for i, original in enumerate(files):
        part = final[final["_tag"] == i]
        out_files.append(part[list(original.columns)].reset_index(drop=True))
    stored_cols = list(stored.columns)
    updates = final[(final["_tag"] == STORED) & final["_dirty"].astype(bool)]
    updates = updates.reindex(columns=stored_cols).reset_index(drop=True)
    return BatchResult(out_files, updates, found)

"""Sector and industry-group ranking from per-symbol rankings and stages.

For each group (GICS sector or sub-industry; symbols without one are left out):
`members` = symbols of the group present in the rankings, `with_rating` = members with
an RS rating, `median_rs_rating` = median of those ratings (the mean of the two middle
values for an even count), `with_stage` = members with a stage, `pct_stage2` =
100 * members in stage 2 / with_stage, `median_ret_*` = median of each return over the
members that have it, and `pct_above_sma*` = 100 * members above that SMA / members
with one, when the rankings carry `above_sma*` flags. `rank` is 1 for the highest
median RS rating (ties share the better rank; groups without ratings come last).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._numeric import NAN, safe_div
from analytics.constants import PERCENT

GROUP_KEYS = ("sector", "sub_industry")
LEAD_COLUMNS = ["rank", "members", "with_rating", "median_rs_rating", "with_stage"]


def _by_symbol(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(index=pd.Index([], name="symbol"))
    if "symbol" in frame.columns:
        frame = frame.set_index("symbol")
    return frame


def _floats(values) -> np.ndarray:
    """Return values as float64 with NaN for missing (nullable ints/bools included)."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if isinstance(values, pd.api.extensions.ExtensionArray):
        if pd.api.types.is_bool_dtype(values.dtype):
            values = values.astype("Float64")
        return values.to_numpy(dtype=np.float64, na_value=NAN)
    return np.asarray(values, dtype=np.float64)


def group_medians(codes: np.ndarray, groups: int, values: np.ndarray) -> np.ndarray:
    """Return the median of `values` per group code (NaN values ignored)."""
    ok = (codes >= 0) & ~np.isnan(values)
    c, v = codes[ok], values[ok]
    order = np.lexsort((v, c))
    c, v = c[order], v[order]
    counts = np.bincount(c, minlength=groups)
    starts = np.cumsum(counts) - counts
    out = np.full(groups, NAN)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = (v[lo] + v[hi]) / 2
    return out


def _counts(codes: np.ndarray, groups: int, mask: np.ndarray) -> np.ndarray:
    return np.bincount(codes[mask & (codes >= 0)], minlength=groups).astype(np.int64)


def _empty(by: str, ret_cols: list[str], flag_cols: list[str]) -> pd.DataFrame:
    cols = [by, *LEAD_COLUMNS, "pct_stage2", *[f"median_{c}" for c in ret_cols]]
    cols += [f"pct_{c}" for c in flag_cols]
    return pd.DataFrame({c: [] for c in cols})


def group_ranking(
    rankings: pd.DataFrame,
    stages: pd.DataFrame | None,
    meta: pd.DataFrame,
    by: str = "sector",
) -> pd.DataFrame:
    """Rank sectors or sub-industries by the median RS rating of their members."""
    if by not in GROUP_KEYS:
        raise ValueError(f"by must be one of {GROUP_KEYS}, got {by!r}")
    ranks = _by_symbol(rankings)
    ret_cols = [c for c in ranks.columns if str(c).startswith("ret_")]
    flag_cols = [c for c in ranks.columns if str(c).startswith("above_sma")]
    meta_s = _by_symbol(meta)
    if by not in meta_s.columns or ranks.empty:
        return _empty(by, ret_cols, flag_cols)
    group_of = meta_s[by][~meta_s.index.duplicated(keep="last")]
    labels = group_of.reindex(ranks.index).to_numpy(dtype=object)
    labels = np.where(pd.isna(labels) | (labels == ""), None, labels)
    codes, names = pd.factorize(labels, sort=True, use_na_sentinel=True)
    k = len(names)
    if k == 0:
        return _empty(by, ret_cols, flag_cols)
    if stages is not None and "stage" in _by_symbol(stages):
        stage = _floats(_by_symbol(stages)["stage"].reindex(ranks.index))
    elif "stage" in ranks:
        stage = _floats(ranks["stage"])
    else:
        stage = np.full(len(ranks), NAN)
    rating = _floats(ranks["rs_rating"]) if "rs_rating" in ranks else stage * NAN
    every = np.ones(len(codes), dtype=bool)
    with_stage = _counts(codes, k, ~np.isnan(stage))
    data = {
        by: np.asarray(names, dtype=object),
        "members": _counts(codes, k, every),
        "with_rating": _counts(codes, k, ~np.isnan(rating)),
        "median_rs_rating": group_medians(codes, k, rating),
        "with_stage": with_stage,
        "pct_stage2": safe_div(PERCENT * _counts(codes, k, stage == 2), with_stage),
    }
    for c in ret_cols:
        data[f"median_{c}"] = group_medians(codes, k, _floats(ranks[c]))
    for c in flag_cols:
        flags = _floats(ranks[c])
        have = _counts(codes, k, ~np.isnan(flags))
        data[f"pct_{c}"] = safe_div(PERCENT * _counts(codes, k, flags == 1), have)
    out = pd.DataFrame(data)
    med = out["median_rs_rating"].to_numpy()
    out.insert(1, "rank", _rank_desc(med))
    order = np.lexsort((np.arange(k), out["rank"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _rank_desc(values: np.ndarray) -> np.ndarray:
    """Return 1-based "min" ranks of values, highest first, NaN last."""
    key = np.where(np.isnan(values), -np.inf, values)
    order = np.argsort(-key, kind="stable")
    ranks = np.empty(len(values), dtype=np.int64)
    sorted_key = key[order]
    first = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    run_rank = np.maximum.accumulate(np.where(first, np.arange(len(values)), 0)) + 1
    ranks[order] = run_rank
    return ranks

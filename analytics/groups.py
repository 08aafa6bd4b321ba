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
    return grouped_medians([codes], [groups], values)[0]


def grouped_medians(
    code_sets: list[np.ndarray], sizes: list[int], values: np.ndarray
) -> list[np.ndarray]:
    """Return per-group medians of `values` for several groupings, sorting once.

    Values are sorted once; a stable sort by group code then keeps each group's
    values in order, so the median is read off the middle of each block.
    """
    by_value = np.argsort(values)  # NaN sort last; tie order does not matter
    by_value = by_value[~np.isnan(values[by_value])]
    sorted_values = values[by_value]
    out = []
    for codes, groups in zip(code_sets, sizes, strict=True):
        c = codes[by_value]
        keep = c >= 0
        c, v = c[keep], sorted_values[keep]
        order = np.argsort(c, kind="stable")
        c, v = c[order], v[order]
        counts = np.bincount(c.astype(np.intp), minlength=groups)
        starts = np.cumsum(counts) - counts
        med = np.full(groups, NAN)
        has = counts > 0
        lo = starts[has] + (counts[has] - 1) // 2
        hi = starts[has] + counts[has] // 2
        med[has] = (v[lo] + v[hi]) / 2
        out.append(med)
    return out


def _counts(codes: np.ndarray, groups: int, mask: np.ndarray) -> np.ndarray:
    picked = codes[mask & (codes >= 0)].astype(np.intp)
    return np.bincount(picked, minlength=groups).astype(np.int64)


def _empty(by: str, ret_cols: list[str], flag_cols: list[str]) -> pd.DataFrame:
    cols = [by, *LEAD_COLUMNS, "pct_stage2", *[f"median_{c}" for c in ret_cols]]
    cols += [f"pct_{c}" for c in flag_cols]
    return pd.DataFrame({c: [] for c in cols})


def group_codes(labels) -> tuple[np.ndarray, np.ndarray]:
    """Return (code per symbol, -1 for no group; sorted group names)."""
    values = np.asarray(labels, dtype=object)
    missing = pd.isna(values) | (values == "")
    values = np.where(missing, None, values)
    codes, names = pd.factorize(values, sort=True, use_na_sentinel=True)
    # Small integer codes let numpy use a radix sort in grouped_medians.
    small = np.int16 if len(names) < np.iinfo(np.int16).max else np.intp
    return codes.astype(small), np.asarray(names, dtype=object)


PADDED_LIMIT = 4_000_000  # cells of the padded (group x member x column) block


def block_medians(codes: np.ndarray, groups: int, values: np.ndarray) -> np.ndarray:
    """Return medians (groups x columns) of the columns of `values` (n x columns).

    Members are laid out in a NaN-padded (group, member, column) block that is
    sorted along the member axis; the median is the mean of the two middle valid
    values (the single middle one for an odd count). NaN values are ignored.
    """
    ok = codes >= 0
    members = np.flatnonzero(ok)
    members = members[np.argsort(codes[members], kind="stable")]
    c = codes[members].astype(np.intp)
    counts = np.bincount(c, minlength=groups)
    width = int(counts.max(initial=0))
    if groups * width * values.shape[1] > PADDED_LIMIT:
        cols = [grouped_medians([codes], [groups], v)[0] for v in values.T]
        return np.stack(cols, axis=1) if cols else np.zeros((groups, 0))
    starts = np.cumsum(counts) - counts
    block = np.full((groups, max(width, 1), values.shape[1]), NAN)
    block[c, np.arange(len(members)) - starts[c]] = values[members]
    block.sort(axis=1)  # NaN sort last
    valid = np.count_nonzero(~np.isnan(block), axis=1)
    lo = np.maximum(valid - 1, 0) // 2
    hi = valid // 2
    low = np.take_along_axis(block, lo[:, None, :], axis=1)[:, 0, :]
    high = np.take_along_axis(block, np.minimum(hi, block.shape[1] - 1)[:, None, :], 1)
    med = (low + high[:, 0, :]) / 2
    return np.where(valid > 0, med, NAN)


def group_tables(
    groupings: dict[str, tuple[np.ndarray, np.ndarray]],
    rating: np.ndarray,
    stage: np.ndarray,
    rets: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
) -> dict[str, pd.DataFrame]:
    """Aggregate per-symbol float arrays (NaN = missing) for several groupings.

    `groupings` maps a key (sector, sub_industry) to (code per symbol, names).
    """
    values = np.column_stack([rating, *rets.values()])
    out = {}
    for by, (codes, names) in groupings.items():
        k = len(names)
        if k == 0:
            out[by] = _empty(by, list(rets), list(flags))
            continue
        medians = block_medians(codes, k, values)
        every = np.ones(len(codes), dtype=bool)
        with_stage = _counts(codes, k, ~np.isnan(stage))
        data = {
            by: names,
            "members": _counts(codes, k, every),
            "with_rating": _counts(codes, k, ~np.isnan(rating)),
            "median_rs_rating": medians[:, 0],
            "with_stage": with_stage,
            "pct_stage2": safe_div(PERCENT * _counts(codes, k, stage == 2), with_stage),
        }
        for i, c in enumerate(rets):
            data[f"median_{c}"] = medians[:, i + 1]
        for c, flag in flags.items():
            have = _counts(codes, k, ~np.isnan(flag))
            data[f"pct_{c}"] = safe_div(PERCENT * _counts(codes, k, flag == 1), have)
        rank = _rank_desc(data["median_rs_rating"])
        order = np.lexsort((np.arange(k), rank))
        data = {c: v[order] for c, v in data.items()}
        data = {by: pd.Series(data.pop(by), dtype=object), "rank": rank[order], **data}
        out[by] = pd.DataFrame(data)
    return out


def group_table(
    by: str,
    codes: np.ndarray,
    names: np.ndarray,
    rating: np.ndarray,
    stage: np.ndarray,
    rets: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Aggregate per-symbol float arrays (NaN = missing) by one grouping."""
    return group_tables({by: (codes, names)}, rating, stage, rets, flags)[by]


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
    codes, names = group_codes(group_of.reindex(ranks.index).to_numpy(dtype=object))
    if stages is not None and "stage" in _by_symbol(stages):
        stage = _floats(_by_symbol(stages)["stage"].reindex(ranks.index))
    elif "stage" in ranks:
        stage = _floats(ranks["stage"])
    else:
        stage = np.full(len(ranks), NAN)
    rating = _floats(ranks["rs_rating"]) if "rs_rating" in ranks else stage * NAN
    rets = {c: _floats(ranks[c]) for c in ret_cols}
    flags = {c: _floats(ranks[c]) for c in flag_cols}
    return group_table(by, codes, names, rating, stage, rets, flags)


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

"""Sector and industry-group ranking from per-symbol rankings and stages.

For each group (GICS sector or sub-industry; symbols without one are left out):
`members` = symbols of the group present in the rankings, `with_rating` = members with
an RS rating, `median_rs_rating` = median of those ratings, `pct_stage2` = 100 * members
in stage 2 / members with a stage (`with_stage`), `median_ret_*` = median of each
return over members that have it, and `pct_above_sma*` = 100 * share of members above
that SMA among those with one, when the rankings carry `above_sma*` flags. `rank` is
1 for the highest median RS rating (ties share the better rank; no rating = last).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.constants import PERCENT

GROUP_KEYS = ("sector", "sub_industry")


def _by_symbol(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(index=pd.Index([], name="symbol"))
    if "symbol" in frame.columns:
        frame = frame.set_index("symbol")
    return frame


def _empty(by: str, ret_cols: list[str], flag_cols: list[str]) -> pd.DataFrame:
    cols = [by, "rank", "members", "with_rating", "median_rs_rating", "with_stage"]
    cols += ["pct_stage2", *[f"median_{c}" for c in ret_cols]]
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
    ret_cols = [c for c in ranks.columns if c.startswith("ret_")]
    flag_cols = [c for c in ranks.columns if c.startswith("above_sma")]
    meta_s = _by_symbol(meta)
    if by not in meta_s.columns or ranks.empty:
        return _empty(by, ret_cols, flag_cols)
    groups = meta_s[by][~meta_s.index.duplicated(keep="last")]
    data = pd.DataFrame(index=ranks.index)
    data["group"] = groups.reindex(ranks.index).astype(object)
    rating = (
        ranks["rs_rating"] if "rs_rating" in ranks else pd.Series(index=ranks.index)
    )
    data["rs_rating"] = pd.to_numeric(rating, errors="coerce").astype(np.float64)
    stage_src = _by_symbol(stages)
    stage = stage_src["stage"] if "stage" in stage_src else ranks.get("stage")
    stage = pd.Series(np.nan, index=ranks.index) if stage is None else stage
    stage = pd.to_numeric(stage.reindex(ranks.index), errors="coerce").astype(float)
    data["has_stage"] = stage.notna().astype(np.float64)
    data["stage2"] = (stage == 2).astype(np.float64)
    for c in ret_cols:
        data[c] = pd.to_numeric(ranks[c], errors="coerce").astype(np.float64)
    for c in flag_cols:
        flags = ranks[c].astype("boolean").astype("Float64")
        data[c] = flags.to_numpy(dtype=np.float64, na_value=np.nan)
    data = data[data["group"].notna() & (data["group"] != "")]
    if data.empty:
        return _empty(by, ret_cols, flag_cols)
    g = data.groupby("group", sort=True)
    out = pd.DataFrame(
        {
            "members": g.size(),
            "with_rating": g["rs_rating"].count(),
            "median_rs_rating": g["rs_rating"].median(),
            "with_stage": g["has_stage"].sum().astype(np.int64),
        }
    )
    out["pct_stage2"] = (
        PERCENT * g["stage2"].sum() / out["with_stage"].where(out["with_stage"] > 0)
    )
    for c in ret_cols:
        out[f"median_{c}"] = g[c].median()
    for c in flag_cols:
        out[f"pct_{c}"] = PERCENT * g[c].mean()
    out["rank"] = (
        out["median_rs_rating"].rank(method="min", ascending=False, na_option="bottom")
    ).astype(np.int64)
    out = out.sort_values(["rank"], kind="stable")
    out.index.name = by
    out = out.reset_index()
    lead = [by, "rank", "members", "with_rating", "median_rs_rating", "with_stage"]
    return out[lead + [c for c in out.columns if c not in lead]]

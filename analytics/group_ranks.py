"""Group ranks by the mean RS score of the members (DESIGN.md, "Group ranks").

For each group (GICS sector or sub-industry; symbols without one are left out):

* `group_rs_score` = equal-weight mean of the members' RS scores
  `S = 0.4*R63 + 0.2*R126 + 0.2*R189 + 0.2*R252` over the members that have one
  (`scored` of them); null when none has.
* `rank`: 1 = highest group score; ties share the lowest rank (pandas
  `rank(method="min")`); null for a group without a score.
* `rank_prev_week` / `rank_prev_month`: the same ranking with every member's S
  computed 5 / 21 sessions before the as-of session (today's membership).
* `members` = members with a price in the as-of session; `pct_stage2` =
  100 * members in stage 2 / members with a stage; `median_ret_21d` = median of
  the 21-session return over the members that have it (mean of the two middle
  values for an even count); `top_members` = the three members with the highest
  S (ties by symbol).

Rows come in rank order (groups without a rank last, then by name).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.constants import PERCENT
from analytics.returns import rs_score_array

GROUP_COLUMNS = {"sector": "sector", "industry": "sub_industry"}
SESSIONS_BACK = {"prev_week": 5, "prev_month": 21}
TOP_MEMBERS = 3
STAGE2 = 2
MEMBER_COLUMNS = (
    "symbol",
    "group",
    "rs_score",
    "rs_score_prev_week",
    "rs_score_prev_month",
    "has_data",
    "stage",
    "ret_21d",
)
RANK_COLUMNS = [
    "group",
    "rank",
    "group_rs_score",
    "rank_prev_week",
    "rank_prev_month",
    "group_rs_score_prev_week",
    "group_rs_score_prev_month",
    "members",
    "scored",
    "pct_stage2",
    "median_ret_21d",
    "top_members",
]


def rs_scores_at(close: pd.DataFrame, row: int) -> pd.Series:
    """Return each column's RS score S at panel row `row` (negative from the end).

    NaN when the row is outside the panel or a close it needs is missing.
    """
    t = close.shape[0]
    pos = row + t if row < 0 else row
    if not 0 <= pos < t:
        values = np.full(close.shape[1], np.nan)
    else:
        block = close.iloc[: pos + 1].to_numpy(dtype=np.float64)
        values = rs_score_array(block)
    return pd.Series(values, index=close.columns.copy(), name="rs_score")


def min_rank(scores: pd.Series) -> pd.Series:
    """Return 1-based ranks, highest first, ties sharing the lowest (nullable Int64)."""
    ranks = scores.rank(method="min", ascending=False)
    return ranks.astype("Int64")


def _group_frame(members: pd.DataFrame) -> pd.DataFrame:
    frame = members.reindex(columns=list(MEMBER_COLUMNS)).copy()
    group = frame["group"].astype(object)
    keep = group.notna() & (group.astype(str).str.strip() != "")
    frame = frame.loc[keep]
    for col in ("rs_score", "rs_score_prev_week", "rs_score_prev_month", "ret_21d"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    frame["stage"] = pd.to_numeric(frame["stage"], errors="coerce").astype(float)
    frame["has_data"] = frame["has_data"].fillna(False).astype(bool)
    frame["group"] = frame["group"].astype(str)
    return frame


def _top(frame: pd.DataFrame) -> pd.Series:
    scored = frame[frame["rs_score"].notna()]
    ordered = scored.sort_values(
        ["group", "rs_score", "symbol"], ascending=[True, False, True], kind="stable"
    )
    top = ordered.groupby("group", sort=True)["symbol"].apply(
        lambda s: list(s.head(TOP_MEMBERS))
    )
    return top


def group_ranks(members: pd.DataFrame) -> pd.DataFrame:
    """Rank groups by the mean RS score of their members (see the module docstring).

    `members` has one row per universe symbol with the columns of MEMBER_COLUMNS
    (`group` = the symbol's sector or sub-industry).
    """
    frame = _group_frame(members)
    if frame.empty:
        return pd.DataFrame({c: [] for c in RANK_COLUMNS})
    grouped = frame.groupby("group", sort=True)
    out = pd.DataFrame(index=pd.Index(sorted(frame["group"].unique()), name="group"))
    out["group_rs_score"] = grouped["rs_score"].mean()
    out["rank"] = min_rank(out["group_rs_score"])
    for key in SESSIONS_BACK:
        out[f"group_rs_score_{key}"] = grouped[f"rs_score_{key}"].mean()
        out[f"rank_{key}"] = min_rank(out[f"group_rs_score_{key}"])
    out["members"] = grouped["has_data"].sum().astype(np.int64)
    out["scored"] = grouped["rs_score"].count().astype(np.int64)
    with_stage = grouped["stage"].count()
    stage2 = frame.assign(s2=frame["stage"] == STAGE2).groupby("group")["s2"].sum()
    pct = PERCENT * stage2 / with_stage.where(with_stage > 0)
    out["pct_stage2"] = pct.astype(float)
    out["median_ret_21d"] = grouped["ret_21d"].median()
    top = _top(frame)
    out["top_members"] = [top.get(g, []) for g in out.index]
    out = out.reset_index()
    order = np.lexsort(
        (out["group"].to_numpy(), out["rank"].fillna(len(out) + 1).to_numpy())
    )
    return out.iloc[order][RANK_COLUMNS].reset_index(drop=True)

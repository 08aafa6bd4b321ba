"""Alert conditions: what each one observes and when it fires (pure, no I/O).

Every alert observes one number per evaluation (`observe_prices` and the
rankings give them) and keeps an armed flag:

* level conditions (`price_above`, `price_below`, `rs_rating_above`,
  `rs_rating_below`, `new_52w_high`) hold while the observed number is past
  the threshold; an armed alert fires when its condition holds, is then
  disarmed, and re-arms when the condition is false again;
* change conditions (`stage_change`, `crosses_sma50`) hold on the evaluation
  where the observed number changed (the stage) or changed sign (the percent
  distance from SMA50) since the previous evaluation.

A crossing needs a previous observation: the first evaluation of an alert only
records where it stands (an alert created while the price is already above its
level fires the next time the price crosses it), so an alert fires exactly once
per crossing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PRICE_ABOVE = "price_above"
PRICE_BELOW = "price_below"
RS_ABOVE = "rs_rating_above"
RS_BELOW = "rs_rating_below"
STAGE_CHANGE = "stage_change"
NEW_52W_HIGH = "new_52w_high"
CROSSES_SMA50 = "crosses_sma50"
CONDITIONS: tuple[str, ...] = (
    PRICE_ABOVE,
    PRICE_BELOW,
    RS_ABOVE,
    RS_BELOW,
    STAGE_CHANGE,
    NEW_52W_HIGH,
    CROSSES_SMA50,
)
NEEDS_VALUE = frozenset({PRICE_ABOVE, PRICE_BELOW, RS_ABOVE, RS_BELOW})
CHANGE_CONDITIONS = frozenset({STAGE_CHANGE, CROSSES_SMA50})
# Which observation each condition reads (columns of `observe_prices` + rankings).
OBSERVES = {
    PRICE_ABOVE: "price",
    PRICE_BELOW: "price",
    RS_ABOVE: "rs_rating",
    RS_BELOW: "rs_rating",
    STAGE_CHANGE: "stage",
    NEW_52W_HIGH: "pct_vs_prior_52w_high",
    CROSSES_SMA50: "pct_vs_sma50",
}
SMA_WINDOW = 50
PRIOR_HIGH_SESSIONS = 251  # DESIGN.md breadth: high >= max of the prior 251 highs
RS_RANGE = (1.0, 99.0)
STAGES = (1.0, 2.0, 3.0, 4.0)
OBSERVATION_COLUMNS = ("price", "high", "pct_vs_sma50", "pct_vs_prior_52w_high")


def check_alert_value(condition: str, value: float | None) -> str | None:
    """Return why a condition/value pair is invalid, or None when it is valid."""
    if condition not in CONDITIONS:
        return f"condition must be one of {', '.join(CONDITIONS)}"
    if condition in NEEDS_VALUE and value is None:
        return f"{condition} needs a value"
    if value is None:
        return None
    if not np.isfinite(value):
        return "value must be finite"
    if condition in (PRICE_ABOVE, PRICE_BELOW) and value <= 0:
        return "a price level must be > 0"
    if condition in (RS_ABOVE, RS_BELOW) and not RS_RANGE[0] <= value <= RS_RANGE[1]:
        return "an RS rating level must be 1..99"
    if condition == STAGE_CHANGE and value not in STAGES:
        return "stage_change value (the stage to watch for) must be 1, 2, 3 or 4"
    if condition == NEW_52W_HIGH:
        return "new_52w_high takes no value"
    if condition == CROSSES_SMA50 and value not in (-1.0, 1.0):
        return "crosses_sma50 value must be 1 (upward), -1 (downward) or omitted"
    return None


def condition_holds(
    condition: np.ndarray,
    value: np.ndarray,
    previous: np.ndarray,
    observed: np.ndarray,
) -> np.ndarray:
    """Return, per alert, whether its condition holds on `observed` (vs `previous`)."""
    condition = np.asarray(condition, dtype=object)
    value = np.asarray(value, dtype=float)
    prev = np.asarray(previous, dtype=float)
    obs = np.asarray(observed, dtype=float)
    out = np.zeros(len(obs), dtype=bool)
    if not len(obs):
        return out
    with np.errstate(invalid="ignore"):
        has_prev = ~np.isnan(prev)
        no_value = np.isnan(value)
        rules = {
            PRICE_ABOVE: obs > value,
            PRICE_BELOW: obs < value,
            RS_ABOVE: obs > value,
            RS_BELOW: obs < value,
            NEW_52W_HIGH: obs >= 0,
            STAGE_CHANGE: has_prev & (obs != prev) & (no_value | (obs == value)),
            CROSSES_SMA50: has_prev
            & (
                ((prev <= 0) & (obs > 0) & (no_value | (value > 0)))
                | ((prev >= 0) & (obs < 0) & (no_value | (value < 0)))
            ),
        }
    for name, mask in rules.items():
        pick = condition == name
        out[pick] = mask[pick]
    return out & ~np.isnan(obs)


def evaluate_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """Step every alert once; return `fired`, `armed` and `last_observed` per row.

    `alerts` has `condition`, `value`, `armed`, `previous` (the last observed
    number, NaN before the first evaluation) and `observed` (NaN when there is
    nothing to observe now: the alert then keeps its state).
    """
    out = pd.DataFrame(index=alerts.index, columns=["fired", "armed", "last_observed"])
    if alerts.empty:
        return out.astype({"fired": bool, "armed": bool, "last_observed": float})
    prev = alerts["previous"].to_numpy(dtype=float)
    obs = alerts["observed"].to_numpy(dtype=float)
    armed = alerts["armed"].to_numpy(dtype=bool)
    condition = alerts["condition"].to_numpy(dtype=object)
    holds = condition_holds(condition, alerts["value"].to_numpy(float), prev, obs)
    seen = ~np.isnan(obs)
    first_look = seen & np.isnan(prev) & ~np.isin(condition, list(CHANGE_CONDITIONS))
    fired = seen & ~first_look & armed & holds
    kept = np.where(fired | first_look, False, armed)
    new_armed = np.where(seen & ~holds, True, kept)
    new_armed = np.where(first_look, ~holds, new_armed)
    out["fired"] = fired
    out["armed"] = new_armed.astype(bool)
    out["last_observed"] = np.where(seen, obs, prev)
    return out.astype({"fired": bool, "armed": bool, "last_observed": float})


def observe_prices(daily: pd.DataFrame) -> pd.DataFrame:
    """Return per symbol the newest close and high and where it stands.

    `daily` has `symbol, date, high, close` (the running session last). Columns:
    `price` (newest close), `high`, `date`, `pct_vs_sma50 = 100*(C/SMA50 - 1)`
    (NaN below 50 sessions) and `pct_vs_prior_52w_high = 100*(H / max of the
    prior 251 highs - 1)` (NaN below 252 sessions).
    """
    cols = ["date", *OBSERVATION_COLUMNS]
    if daily is None or daily.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="symbol"))
    rows = {}
    for symbol, group in daily.sort_values("date").groupby("symbol", sort=True):
        close = group["close"].to_numpy(dtype=float)
        high = group["high"].to_numpy(dtype=float)
        sma = close[-SMA_WINDOW:].mean() if len(close) >= SMA_WINDOW else np.nan
        prior = high[-PRIOR_HIGH_SESSIONS - 1 : -1]
        enough = len(high) > PRIOR_HIGH_SESSIONS
        rows[symbol] = {
            "date": group["date"].iloc[-1],
            "price": close[-1],
            "high": high[-1],
            "pct_vs_sma50": 100 * (close[-1] / sma - 1) if sma == sma else np.nan,
            "pct_vs_prior_52w_high": 100 * (high[-1] / prior.max() - 1)
            if enough
            else np.nan,
        }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    out.index.name = "symbol"
    return out

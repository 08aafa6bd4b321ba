"""Methodology (/about): every formula and parameter, generated from the code.

Numbers come from `analytics.constants` and the method notes are the
analytics modules' own docstrings, so this page cannot drift from the code.
"""

from __future__ import annotations

import inspect
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

import analytics.breadth
import analytics.constants as C
import analytics.groups
import analytics.regime as R
import analytics.returns
import analytics.rrg
import analytics.stages
from components.tables import simple_table

dash.register_page(
    __name__,
    path="/about",
    name="Methodology",
    order=80,
    title="TickStock — Methodology",
)

SNAPSHOT_NOTES = """
* **As of** picks *now* (newest session plus today's minute bars and the
  in-progress live bar), a stored session (its close), or a minute of a session
  (the prior sessions plus that day's minute bars up to that minute).
* Symbols without a price in the as-of session are **excluded** and counted with
  the reason.
* Every view is computed once per **data version** (write sequence + newest bar
  times) and shared by all viewers.
"""
SURVIVORSHIP_NOTE = """
**Survivorship bias.** Universes are today's constituent lists (the S&P 500
members in `dashapp/store/refdata/sp500_constituents.csv`, a 2026 list),
applied to every past date. A company that left the index (acquired, delisted,
demoted) is missing from past sessions, and one that joined later counts before
it was a member, so past breadth, rankings and group figures lean towards
today's winners. Read history on these pages as "today's members, back then",
not as the index was.
"""
MODULES = (
    ("Returns and RS rating", analytics.returns),
    ("Relative Rotation Graph", analytics.rrg),
    ("Weinstein stages", analytics.stages),
    ("Breadth", analytics.breadth),
    ("Sector and industry-group ranking", analytics.groups),
    ("Market regime", R),
)


def _formula(text: str) -> html.Code:
    return html.Code(text, className="formula")


def constants_table() -> Any:
    """Return every public constant of analytics.constants with its value."""
    import pandas as pd

    rows = [
        {"name": name, "value": repr(getattr(C, name))}
        for name in sorted(vars(C))
        if name.isupper() and not name.startswith("_")
    ]
    return simple_table(
        pd.DataFrame(rows), {"name": "Constant", "value": "Value"}, id="about-constants"
    )


def rs_formula() -> str:
    """Return the RS score formula built from RS_WEIGHTS."""
    terms = " + ".join(f"{w:g}*R{n}" for n, w in C.RS_WEIGHTS)
    return f"S = {terms}"


def _returns_section() -> list:
    windows = ", ".join(str(n) for n in C.RETURN_WINDOWS)
    span = f"{C.RS_RATING_MIN}..{C.RS_RATING_MIN + C.RS_RATING_SPAN}"
    bench = C.DEFAULT_BENCHMARK
    return [
        html.H3("Returns", className="h5"),
        _formula("R_n = C_t / C_{t-n} - 1"),
        html.P(
            f"n in trading sessions: {windows}; plus YTD (vs the last close of the "
            "previous year). Intraday, C_t is the latest price."
        ),
        html.H3("RS rating (IBD style)", className="h5"),
        _formula(rs_formula()),
        _formula(
            f"rating = round(pct_rank(S) * {C.RS_RATING_SPAN} + {C.RS_RATING_MIN})"
        ),
        html.P(
            "pct_rank is pandas rank(pct=True) within the chosen universe; ratings "
            f"run {span}. Symbols with fewer than {C.RS_MIN_SESSIONS} sessions get "
            f"no rating (null), not a guess. RS line = {C.RS_LINE_SCALE:g} * P / "
            f"{bench}; RS new high = RS line at a {C.RS_NEW_HIGH_WINDOW}-session high."
        ),
    ]


def _rrg_section() -> list:
    center = f"{C.RRG_CENTER:g}"
    etfs = ", ".join(f"{s} ({n})" for s, n in C.SECTOR_ETFS.items())
    quadrants = (
        f"{C.LEADING} (ratio >= {center}, momentum >= {center}), {C.WEAKENING} "
        f"(>=, <), {C.LAGGING} (<, <), {C.IMPROVING} (<, >=)"
    )
    return [
        html.H3("Sector rotation (RRG, ratio-of-averages)", className="h5"),
        _formula(f"RS = {C.RS_LINE_SCALE:g} * P / B   (B = {C.DEFAULT_BENCHMARK})"),
        _formula(f"RS-Ratio = {center} * SMA{C.RRG_SHORT}(RS) / SMA{C.RRG_LONG}(RS)"),
        _formula(
            f"RS-Momentum = {center} * RS-Ratio_t / RS-Ratio_(t-{C.RRG_MOMENTUM_LAG})"
        ),
        html.P(
            f"Periods in bars: {', '.join(C.RRG_PERIODS)} (weekly = last session of "
            f"each ISO week, the default). Quadrants: {quadrants}. Tails show the "
            f"last N points (default {C.RRG_DEFAULT_TAIL}). Sector ETFs: {etfs}."
        ),
    ]


def _stage_section() -> list:
    ma = f"MA{C.STAGE_MA_WEEKS}"
    pv, sl = f"{C.STAGE_PV_THRESHOLD:g}", f"{C.STAGE_SLOPE_THRESHOLD:g}"
    return [
        html.H3("Weinstein stage", className="h5"),
        _formula(f"{ma} = {C.STAGE_MA_WEEKS}-week SMA of weekly closes"),
        _formula(f"pv = 100 * (C - {ma}) / {ma}"),
        _formula(f"slope = 100 * ({ma}_t / {ma}_(t-{C.STAGE_SLOPE_LAG}) - 1)"),
        html.P(
            f"Candidate: stage 2 if pv > {pv} and slope > {sl}; stage 4 if pv < -{pv} "
            f"and slope < -{sl}; otherwise stage 3 after a confirmed stage 2, stage 1 "
            "after a confirmed stage 4, and with no trend yet stage 1 if pv < 0 else "
            f"3. A candidate becomes the stage after it holds "
            f"{C.STAGE_CONFIRM_WEEKS} consecutive weeks. weeks_in_stage counts the "
            "weeks of the run that became the stage, the current week included."
        ),
        _formula(
            f"Mansfield RS = 100 * (RP / SMA{C.MANSFIELD_WEEKS}(RP) - 1),  "
            f"RP = 100 * C / {C.DEFAULT_BENCHMARK}"
        ),
        html.P(
            "Volume ratio = this week's volume / mean of the prior "
            f"{C.VOLUME_RATIO_WEEKS} weeks."
        ),
    ]


def _breadth_section() -> list:
    sma = ", ".join(str(n) for n in C.BREADTH_SMA_WINDOWS)
    panel = ", ".join(f"{label} ({n})" for label, n in C.PANEL_CHANGE_WINDOWS)
    emas = " / ".join(f"EMA{n}" for n in C.PANEL_EMA_WINDOWS)
    smas = " / ".join(f"SMA{n}" for n in C.PANEL_SMA_WINDOWS)
    alphas = f"alpha {C.MCCLELLAN_FAST_ALPHA:g} / {C.MCCLELLAN_SLOW_ALPHA:g}"
    return [
        html.H3("Breadth", className="h5"),
        html.P(
            "Advancers / decliners / unchanged vs the prior close; A/D line = "
            f"running sum of A - D; % above SMA {sma} (of names with a valid SMA); "
            "new 52-week highs: high >= max of the prior "
            f"{C.NEW_HIGH_LOOKBACK} highs (lows symmetric); up / down volume."
        ),
        _formula(
            "McClellan oscillator = EMA19 - EMA39 of "
            f"{C.MCCLELLAN_SCALE:g} * (A - D) / (A + D)   "
            f"({alphas}, first value as seed)"
        ),
        html.P(
            "Summation index = running sum of the oscillator. The 11-row panel: "
            f"day, open, {panel} sessions, and price vs {emas} / {smas}, with real "
            "symbol counts."
        ),
    ]


def _sections() -> list:
    return [
        *_returns_section(),
        *_rrg_section(),
        *_stage_section(),
        *_breadth_section(),
        *_screener_section(),
        *_regime_section(),
    ]


def layout(**_kwargs: Any) -> html.Div:
    """Return the methodology page (static; no polling)."""
    notes = [
        dbc.AccordionItem(dcc.Markdown(inspect.getdoc(module) or ""), title=title)
        for title, module in MODULES
    ]
    return html.Div(
        [
            html.H2("Methodology", className="h4"),
            html.P(
                "Every number on TickStock comes from these formulas; the "
                "parameters below are read from the code that computes them.",
                className="text-body-secondary",
            ),
            dbc.Alert(
                dcc.Markdown(SURVIVORSHIP_NOTE, className="mb-0"),
                color="warning",
                id="about-survivorship",
                className="py-2",
            ),
            dbc.Row(
                [
                    dbc.Col(_sections(), xs=12, xl=7),
                    dbc.Col(
                        [html.H3("Parameters", className="h5"), constants_table()],
                        xs=12,
                        xl=5,
                    ),
                ],
                className="g-4",
            ),
            html.H3("Implementation notes (from the code)", className="h5 mt-3"),
            dbc.Accordion(
                notes, start_collapsed=True, always_open=True, className="mb-3"
            ),
            html.H3("Data and snapshots", className="h5"),
            dcc.Markdown(SNAPSHOT_NOTES),
            group_ranks_block(),
        ],
        className="methodology",
    )


# -- Group ranks and new 52-week highs / lows ---------------------------------------
def group_ranks_block() -> html.Div:
    """Return the group-rank and new-high definitions, from their modules."""
    import analytics.group_ranks
    import analytics.new_highs

    back = analytics.group_ranks.SESSIONS_BACK
    return html.Div(
        [
            html.H3("Group ranks", className="h5"),
            _formula(
                "group score = mean of the members' RS scores S (members with "
                "one); rank 1 = highest, ties share the lowest rank (min)"
            ),
            html.P(
                f"Previous ranks: the same computed {back['prev_week']} and "
                f"{back['prev_month']} sessions earlier (today's members).",
                className="mt-2",
            ),
            dcc.Markdown(inspect.getdoc(analytics.group_ranks) or ""),
            html.H3("New 52-week highs and lows", className="h5"),
            _formula(
                f"new high: high >= max(high of the prior {C.NEW_HIGH_LOOKBACK} "
                "sessions); new low: low <= min(low of the prior "
                f"{C.NEW_HIGH_LOOKBACK} sessions)"
            ),
            dcc.Markdown(inspect.getdoc(analytics.new_highs) or ""),
        ],
        className="group-ranks-methodology mt-3",
    )


# ------------------------------------------------------------ screener (issue 17)
def _screener_section() -> list:
    import analytics.screener as S

    high_low = S.HIGH_LOW_SESSIONS
    return [
        html.H3("Screener fields", className="h5"),
        _formula("change_pct = 100 * R1"),
        _formula(
            f"pct_from_52w_high = 100 * (C / max(H, last {high_low} sessions) - 1)"
        ),
        _formula(
            f"pct_from_52w_low = 100 * (C / min(L, last {high_low} sessions) - 1)"
        ),
        _formula(
            " ; ".join(f"pct_vs_sma{n} = 100 * (C / SMA{n} - 1)" for n in S.SMA_WINDOWS)
        ),
        html.P(
            f"avg_volume_50d = mean volume of the last {S.AVG_VOLUME_SESSIONS} "
            "sessions; avg_dollar_volume_50d = mean of C * V over them; rel_volume = "
            "volume / avg_volume_50d. Windows are the symbol's own last N sessions "
            f"up to and including the as-of session (today included; the "
            f"{high_low}-session figures are null below {high_low} sessions, the "
            "others below their N). ret_5d .. ret_252d (fractions), RS score / "
            "rating, stage and weeks in stage are the Rankings' values; industry is "
            "the stored GICS sub-industry. Only names with a price in the as-of "
            "session are screened. Conditions are FIELD OP VALUE "
            f"({' '.join(S.NUMERIC_OPS)}; "
            f"text fields {', '.join(S.TEXT_FIELDS)}: {' '.join(S.TEXT_OPS)}, "
            "case-insensitive), all ANDed; a null field never matches."
        ),
    ]


# -- Market regime (issue 17, item 3) ------------------------------------------------
def _regime_section() -> list:
    """Return the market-regime block: distribution / follow-through days, regime."""
    drop = -100 * R.DISTRIBUTION_DROP
    cancel = 100 * R.DISTRIBUTION_CANCEL_GAIN
    gain = 100 * R.FOLLOW_THROUGH_GAIN
    drawdown = -100 * R.CORRECTION_DRAWDOWN
    return [
        html.H3("Market regime (SPY; QQQ / IWM when stored)", className="h5"),
        html.P(
            f"A distribution day is a session whose close is at least {drop:g} % "
            "below the prior close on higher volume than the prior session; it counts "
            f"for {R.DISTRIBUTION_SESSIONS} sessions (itself included) and stops "
            f"counting once a later close is ≥ {cancel:g} % above its close."
        ),
        html.P(
            "A rally attempt counts from the lowest close since the last uptrend "
            "(day 1 = the first up close after it); a close below that low undercuts "
            "it and restarts the attempt. A follow-through day is, on day "
            f"{R.FOLLOW_THROUGH_MIN_DAY} or later, a close ≥ {gain:g} % above the "
            "prior close on higher volume, with the low not undercut."
        ),
        _formula(
            f"correction: C < SMA{R.SMA_FAST} and (distribution days ≥ "
            f"{R.CORRECTION_DISTRIBUTION_DAYS} or C ≤ (1 - {drawdown:g} %) × highest "
            f"close of {R.HIGH_LOOKBACK} sessions), until a follow-through day"
        ),
        html.P(
            "An uptrend with ≥ "
            f"{R.PRESSURE_DISTRIBUTION_DAYS} distribution days is 'uptrend under "
            "pressure', otherwise 'confirmed uptrend'. The state machine runs over "
            "the whole stored daily series and starts on the first session with an "
            f"SMA{R.SMA_SLOW}: 'confirmed uptrend' when C > SMA{R.SMA_FAST} > "
            f"SMA{R.SMA_SLOW}, else 'correction'. Also shown: close vs "
            f"EMA{R.EMA_WINDOW} / SMA{R.SMA_FAST} / SMA{R.SMA_SLOW} in %, and the "
            f"last {R.STRIP_SESSIONS} sessions with their distribution days."
        ),
    ]

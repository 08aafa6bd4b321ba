"""Named constants of the pinned analytics methods (DESIGN.md, "Analytics methods")."""

from __future__ import annotations

# Returns, in trading sessions of the panel.
RETURN_WINDOWS: tuple[int, ...] = (1, 5, 21, 63, 126, 252)

# IBD-style RS score S = 0.4*R63 + 0.2*R126 + 0.2*R189 + 0.2*R252, summed in order.
RS_WEIGHTS: tuple[tuple[int, float], ...] = (
    (63, 0.4),
    (126, 0.2),
    (189, 0.2),
    (252, 0.2),
)
RS_MIN_SESSIONS = 253
RS_RATING_MIN = 1
RS_RATING_SPAN = 98
RS_NEW_HIGH_WINDOW = 252
RS_LINE_SCALE = 100.0

# Relative Rotation Graph (ratio-of-averages family).
RRG_SHORT = 10
RRG_LONG = 30
RRG_MOMENTUM_LAG = 4
RRG_CENTER = 100.0
RRG_DEFAULT_TAIL = 10
RRG_PERIODS = ("weekly", "daily")
LEADING, WEAKENING, LAGGING, IMPROVING = "Leading", "Weakening", "Lagging", "Improving"

# Weinstein stage analysis, on weekly bars.
STAGE_MA_WEEKS = 30
STAGE_SLOPE_LAG = 4
STAGE_PV_THRESHOLD = 2.0
STAGE_SLOPE_THRESHOLD = 0.5
STAGE_CONFIRM_WEEKS = 2
STAGE_CHANGE_WEEKS = 13  # weeks of stage changes listed in a snapshot
MANSFIELD_WEEKS = 52
VOLUME_RATIO_WEEKS = 4

# Breadth.
BREADTH_SMA_WINDOWS: tuple[int, ...] = (20, 50, 200)
NEW_HIGH_LOOKBACK = 251  # prior sessions; with today a 252-session (52-week) window
MCCLELLAN_FAST_ALPHA = 0.10  # EMA19
MCCLELLAN_SLOW_ALPHA = 0.05  # EMA39
MCCLELLAN_SCALE = 1000.0
PANEL_CHANGE_WINDOWS: tuple[tuple[str, int], ...] = (
    ("week", 5),
    ("month", 21),
    ("quarter", 63),
    ("half", 126),
    ("year", 252),
)
PANEL_EMA_WINDOWS: tuple[int, ...] = (10, 20)
PANEL_SMA_WINDOWS: tuple[int, ...] = (50, 200)

PERCENT = 100.0

# The 11 SPDR sector ETFs and the GICS sector each one tracks.
SECTOR_ETFS: dict[str, str] = {
    "XLB": "Materials",
    "XLC": "Communication Services",
    "XLE": "Energy",
    "XLF": "Financials",
    "XLI": "Industrials",
    "XLK": "Information Technology",
    "XLP": "Consumer Staples",
    "XLRE": "Real Estate",
    "XLU": "Utilities",
    "XLV": "Health Care",
    "XLY": "Consumer Discretionary",
}
DEFAULT_BENCHMARK = "SPY"
BAR_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")

# Reasons a symbol gets no RS rating (rankings column `excluded_reason`).
REASON_NO_DATA = "no price data"
REASON_STALE = "no price on the last session"
REASON_SHORT_HISTORY = "fewer than 253 sessions"
REASON_MISSING_LAG = "missing price at a required lag"

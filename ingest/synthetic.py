"""Deterministic one-second market data: a correlated synthetic market and CSV replay.

Both generators produce `SecondBars` (per-second OHLCV for one minute) and
`rollup` turns them into the minute bar, so per-second (`A`) and per-minute
(`AM`) events are consistent by construction.
"""

from __future__ import annotations

import itertools
import logging
import string
import warnings
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

ET = ZoneInfo("America/New_York")
SECONDS = 60
MS_PER_SECOND = 1000
MS_PER_MINUTE = 60_000
HOURS_MODES = ("all", "extended", "regular")

EXTENDED_OPEN_MIN = 4 * 60
REGULAR_OPEN_MIN = 9 * 60 + 30
REGULAR_CLOSE_MIN = 16 * 60
EXTENDED_CLOSE_MIN = 20 * 60

# Share of a day's volume by session part; overnight is per minute (24/7 demo).
REGULAR_SHARE = 0.88
PRE_SHARE = 0.05
POST_SHARE = 0.07
OVERNIGHT_MINUTE_SHARE = 1e-4

TRADING_SECONDS_PER_YEAR = 252 * 390 * 60
MARKET_VOL = 0.16
SECTOR_VOL = 0.10
OVERNIGHT_VOL_SHARE = 0.4
EXTENDED_VOL_MULT = 0.5
OVERNIGHT_VOL_MULT = 0.25
SECTOR_BUCKETS = 11
SHARES_PER_REPLAY_TRADE = 100

INDEX_ETFS = frozenset({"SPY", "QQQ", "IWM", "DIA", "RSP", "VTI", "VOO", "IVV"})
SECTOR_ETFS = frozenset(
    {"XLK", "XLF", "XLV", "XLE", "XLI", "XLY", "XLP", "XLU", "XLB", "XLRE", "XLC"}
)
DEFAULT_ETFS = INDEX_ETFS | SECTOR_ETFS


def round_price(p: np.ndarray) -> np.ndarray:
    """Round prices to the tick: cents at or above $1, 1/100 cent below."""
    p = np.asarray(p, dtype=np.float64)
    scale = np.where(p >= 1.0, 100.0, 10_000.0)
    return np.maximum(np.rint(p * scale) / scale, 0.0001)


def round4(x: np.ndarray) -> np.ndarray:
    """Round to 4 decimals so the value prints exactly as sent."""
    return np.rint(np.asarray(x, dtype=np.float64) * 10_000.0) / 10_000.0


def et_datetime(ms: int) -> datetime:
    """Return the America/New_York wall time of an epoch-ms instant."""
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).astimezone(ET)


def et_midnight_ms(d: date) -> int:
    """Return epoch ms of midnight America/New_York on date `d`."""
    return int(datetime(d.year, d.month, d.day, tzinfo=ET).timestamp() * 1000)


def to_epoch_ms(value: datetime | date | str | int | float | pd.Timestamp) -> int:
    """Convert a datetime, date (midnight ET), ISO string or epoch ms to epoch ms."""
    if isinstance(value, int | float | np.integer | np.floating):
        return int(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return et_midnight_ms(value)
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(ET)
    return int(ts.value // 1_000_000)


class SessionCalendar:
    """NYSE sessions (holidays, early closes) with a weekday fallback."""

    def __init__(self) -> None:
        self._sessions: dict[date, tuple[int, int] | None] = {}
        self._cal = None
        self._bounds: tuple[date, date] | None = None

    def regular_minutes(self, d: date) -> tuple[int, int] | None:
        """Return (open, close) minute-of-day ET of the session on `d`, else None."""
        if d not in self._sessions:
            self._sessions[d] = self._lookup(d)
        return self._sessions[d]

    def _lookup(self, d: date) -> tuple[int, int] | None:
        cal = self._calendar(d)
        if cal is None:
            if d.weekday() >= 5:
                return None
            return REGULAR_OPEN_MIN, REGULAR_CLOSE_MIN
        day = pd.Timestamp(d)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library's own pandas deprecations
            if not cal.is_session(day):
                return None
            opened = cal.session_open(day).tz_convert(ET)
            closed = cal.session_close(day).tz_convert(ET)
        return opened.hour * 60 + opened.minute, closed.hour * 60 + closed.minute

    def _calendar(self, d: date):
        if self._bounds and self._bounds[0] <= d <= self._bounds[1]:
            return self._cal
        try:
            import exchange_calendars as xcals

            lo = min(d, date.today()) - timedelta(days=400)
            hi = max(d, date.today()) + timedelta(days=400)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cal = xcals.get_calendar(
                    "XNYS", start=lo.isoformat(), end=hi.isoformat()
                )
            first, last = cal.first_session.date(), cal.last_session.date()
        except Exception as exc:  # noqa: BLE001 - any calendar failure: weekday rule
            log.debug("exchange calendar unavailable for %s: %s", d, exc)
            return None
        self._cal, self._bounds = cal, (first, last)
        return cal if first <= d <= last else None

    def phase(self, minute_ms: int) -> tuple[str, float]:
        """Return (pre|regular|post|closed, position 0..1 within the part)."""
        local = et_datetime(minute_ms)
        mod = local.hour * 60 + local.minute
        bounds = self.regular_minutes(local.date())
        if bounds is None:
            return "closed", 0.0
        opened, closed = bounds
        if opened <= mod < closed:
            return "regular", (mod - opened + 0.5) / (closed - opened)
        if EXTENDED_OPEN_MIN <= mod < opened:
            return "pre", (mod - EXTENDED_OPEN_MIN + 0.5) / (opened - EXTENDED_OPEN_MIN)
        if closed <= mod < EXTENDED_CLOSE_MIN:
            return "post", (mod - closed + 0.5) / (EXTENDED_CLOSE_MIN - closed)
        return "closed", 0.0

    def session_length(self, minute_ms: int) -> tuple[int, int, int]:
        """Return the minute counts of (pre, regular, post) on this minute's date."""
        bounds = self.regular_minutes(et_datetime(minute_ms).date())
        opened, closed = bounds or (REGULAR_OPEN_MIN, REGULAR_CLOSE_MIN)
        return (
            opened - EXTENDED_OPEN_MIN,
            closed - opened,
            EXTENDED_CLOSE_MIN - closed,
        )

    def is_open(self, minute_ms: int, hours: str) -> bool:
        """Tell whether the minute is traded under `hours` (all|extended|regular)."""
        if hours == "all":
            return True
        part, _ = self.phase(minute_ms)
        if hours == "regular":
            return part == "regular"
        return part != "closed"

    def is_regular(self, minute_ms: int) -> bool:
        """Tell whether the minute lies in the regular session."""
        return self.phase(minute_ms)[0] == "regular"

    def last_open_at_or_before(self, ms: int) -> int:
        """Return epoch ms of the latest regular-session open at or before `ms`."""
        d = et_datetime(ms).date()
        for back in range(30):
            day = d - timedelta(days=back)
            bounds = self.regular_minutes(day)
            if bounds is None:
                continue
            opened = et_midnight_ms(day) + bounds[0] * MS_PER_MINUTE
            if opened <= ms:
                return opened
        return ms - ms % MS_PER_MINUTE


CALENDAR = SessionCalendar()


def _u_shape(x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return 0.55 + 2.2 * np.exp(-x / 0.035) + 1.1 * np.exp(-(1.0 - x) / 0.03)


_U_MEAN = float(_u_shape((np.arange(390) + 0.5) / 390).mean())


def intraday_profile(
    minute_ms: int, calendar: SessionCalendar = CALENDAR
) -> tuple[float, float]:
    """Return (fraction of daily volume, volatility multiplier) for one minute."""
    part, x = calendar.phase(minute_ms)
    if part == "closed":
        return OVERNIGHT_MINUTE_SHARE, OVERNIGHT_VOL_MULT
    pre, regular, post = calendar.session_length(minute_ms)
    if part == "regular":
        u = float(_u_shape(x))
        vol_mult = float(np.clip(np.sqrt(u / _U_MEAN), 0.6, 2.5))
        return REGULAR_SHARE * u / (_U_MEAN * regular), vol_mult
    if part == "pre":
        ramp = 0.2 + 1.6 * x  # mean 1: volume builds toward the open
        return PRE_SHARE * ramp / pre, EXTENDED_VOL_MULT
    fade = 1.8 - 1.6 * x  # mean 1: volume fades after the close
    return POST_SHARE * fade / post, EXTENDED_VOL_MULT


@dataclass
class SecondBars:
    """One minute of per-second bars for the symbols that traded in it.

    Arrays are (k, 60): row r is symbol `sym_idx[r]`, column j the second j.
    Prices are NaN and volumes 0 where `active` is False.
    """

    minute_ms: int
    sym_idx: np.ndarray
    active: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    vwap: np.ndarray
    volume: np.ndarray
    trades: np.ndarray

    def keep_from(self, first_second: int) -> SecondBars:
        """Return a copy with no trades before `first_second` (a partial minute)."""
        active = self.active.copy()
        active[:, :first_second] = False
        rows = np.flatnonzero(active.any(axis=1))
        mask = active[rows]

        def cut(a: np.ndarray, fill: float | int) -> np.ndarray:
            return np.where(mask, a[rows], fill)

        return SecondBars(
            self.minute_ms,
            self.sym_idx[rows],
            mask,
            cut(self.open, np.nan),
            cut(self.high, np.nan),
            cut(self.low, np.nan),
            cut(self.close, np.nan),
            cut(self.vwap, np.nan),
            cut(self.volume, 0),
            cut(self.trades, 0),
        )


@dataclass
class MinuteBars:
    """The minute bars of one minute, one row per symbol that traded."""

    minute_ms: int
    sym_idx: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    vwap: np.ndarray
    volume: np.ndarray
    trades: np.ndarray

    def __len__(self) -> int:
        return len(self.sym_idx)


def rollup(sb: SecondBars) -> MinuteBars:
    """Roll per-second bars up into the minute bar (first open, last close...)."""
    act = sb.active
    rows = np.arange(len(sb.sym_idx))
    first = act.argmax(axis=1)
    last = SECONDS - 1 - act[:, ::-1].argmax(axis=1)
    volume = sb.volume.sum(axis=1)
    pv = np.where(act, sb.vwap * sb.volume, 0.0).sum(axis=1)
    close = sb.close[rows, last]
    vwap = np.where(volume > 0, round4(pv / np.maximum(volume, 1)), close)
    return MinuteBars(
        sb.minute_ms,
        sb.sym_idx.astype(np.int64),
        sb.open[rows, first],
        np.where(act, sb.high, -np.inf).max(axis=1),
        np.where(act, sb.low, np.inf).min(axis=1),
        close,
        vwap,
        volume.astype(np.int64),
        sb.trades.sum(axis=1).astype(np.int64),
    )


def _stable_bucket(symbol: str) -> int:
    return zlib.crc32(symbol.encode()) % SECTOR_BUCKETS


class SyntheticMarket:
    """Correlated synthetic market: market + sector + idiosyncratic returns.

    Deterministic for a given seed, symbol list and sequence of minutes: the
    random draws of each minute are seeded by (seed, minute).
    """

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        seed: int = 0,
        sectors: Mapping[str, str | None] | None = None,
        last_close: Mapping[str, float] | None = None,
        adv: Mapping[str, float] | None = None,
        etfs: Collection[str] | None = None,
        volume_scale: float = 1.0,
        calendar: SessionCalendar = CALENDAR,
    ) -> None:
        self.symbols = list(symbols)
        if len(set(self.symbols)) != len(self.symbols) or not self.symbols:
            raise ValueError("symbols must be a non-empty list of unique tickers")
        self.seed = int(seed)
        self.calendar = calendar
        self.volume_scale = float(volume_scale)
        etfs = DEFAULT_ETFS if etfs is None else frozenset(etfs)
        self._init_params(sectors or {}, last_close or {}, adv or {}, etfs)
        self._last_date: date | None = None

    def _init_params(
        self,
        sectors: Mapping[str, str | None],
        last_close: Mapping[str, float],
        adv: Mapping[str, float],
        etfs: frozenset[str],
    ) -> None:
        n = len(self.symbols)
        rng = np.random.default_rng([self.seed, 0])
        names = [
            sectors.get(s) or (None if s in INDEX_ETFS else f"#{_stable_bucket(s)}")
            for s in self.symbols
        ]
        uniq = sorted({x for x in names if x is not None})
        self.sector_names = uniq
        self.sector_idx = np.array([uniq.index(x) if x else 0 for x in names])
        has_sector = np.array([x is not None for x in names])
        is_etf = np.array([s in etfs for s in self.symbols])
        self.beta = np.where(is_etf, 1.0, np.clip(rng.normal(1.0, 0.25, n), 0.3, 2.0))
        load = np.where(is_etf, 1.0, np.clip(rng.normal(1.0, 0.25, n), 0.0, 2.0))
        self.sector_load = np.where(has_sector, load, 0.0)
        idio = np.clip(rng.lognormal(np.log(0.25), 0.35, n), 0.08, 1.2)
        self.idio_vol = np.where(is_etf, 0.03, idio)
        drift = np.where(is_etf, rng.normal(0.06, 0.05, n), rng.normal(0.06, 0.2, n))
        self.drift_sec = drift / TRADING_SECONDS_PER_YEAR
        stock_adv = np.clip(rng.lognormal(np.log(1.5e6), 1.0, n), 5e4, 8e7)
        etf_adv = np.clip(rng.lognormal(np.log(1.5e7), 0.8, n), 1e6, 9e7)
        default_adv = np.where(is_etf, etf_adv, stock_adv)
        self.adv = np.array(
            [
                float(adv.get(s, d))
                for s, d in zip(self.symbols, default_adv, strict=True)
            ]
        )
        self.avg_trade = rng.uniform(60, 220, n)
        default_px = np.clip(rng.lognormal(np.log(60), 0.9, n), 3, 2000)
        self.price = np.array(
            [
                float(last_close.get(s, p))
                for s, p in zip(self.symbols, default_px, strict=True)
            ]
        )
        if not np.all(np.isfinite(self.price) & (self.price > 0)):
            raise ValueError("last_close prices must be positive numbers")

    def _factor_returns(
        self, rng: np.random.Generator, scale: float, width: int
    ) -> np.ndarray:
        """Return (n, width) log returns at `scale` x the per-second volatility."""
        per_sec = scale / np.sqrt(TRADING_SECONDS_PER_YEAR)
        m = rng.standard_normal(width) * MARKET_VOL * per_sec
        s = rng.standard_normal((len(self.sector_names) or 1, width))
        s *= SECTOR_VOL * per_sec
        e = rng.standard_normal((len(self.symbols), width))
        e *= (self.idio_vol * per_sec)[:, None]
        r = (
            self.beta[:, None] * m[None, :]
            + self.sector_load[:, None] * s[self.sector_idx]
        )
        return r + e

    def _overnight(self, rng: np.random.Generator) -> None:
        day_scale = OVERNIGHT_VOL_SHARE * np.sqrt(390 * 60)
        self.price = self.price * np.exp(self._factor_returns(rng, day_scale, 1)[:, 0])

    def generate(self, minute_ms: int) -> SecondBars:
        """Generate the next minute (advances the market state)."""
        rng = np.random.default_rng([self.seed, 7, minute_ms // MS_PER_MINUTE])
        day = et_datetime(minute_ms).date()
        if self._last_date is not None and day != self._last_date:
            self._overnight(rng)
        self._last_date = day
        frac, vol_mult = intraday_profile(minute_ms, self.calendar)
        r = self._factor_returns(rng, vol_mult, SECONDS) + self.drift_sec[:, None]
        path = self.price[:, None] * np.exp(np.cumsum(r, axis=1))
        prev = np.concatenate([self.price[:, None], path[:, :-1]], axis=1)
        self.price = path[:, -1]
        burst = rng.gamma(4.0, 0.25, len(self.symbols))
        per_sec = self.adv * self.volume_scale * frac * burst / self.avg_trade / SECONDS
        trades = rng.poisson(np.broadcast_to(per_sec[:, None], path.shape))
        rows = np.flatnonzero((trades > 0).any(axis=1))
        sig = (self.idio_vol * vol_mult / np.sqrt(TRADING_SECONDS_PER_YEAR))[rows, None]
        return self._second_bars(
            minute_ms, rows, trades[rows], prev[rows], path[rows], sig, rng
        )

    def _second_bars(
        self,
        minute_ms: int,
        rows: np.ndarray,
        trades: np.ndarray,
        prev: np.ndarray,
        path: np.ndarray,
        sig: np.ndarray,
        rng: np.random.Generator,
    ) -> SecondBars:
        """Build per-second OHLC around the latent path, only where trades happened."""
        active = trades > 0
        ai, aj = np.nonzero(active)
        n = trades[ai, aj]
        px, vol_px = path[ai, aj], sig[ai, 0] * path[ai, aj]
        single = n == 1
        close = round_price(px)
        jitter = np.exp(0.3 * sig[ai, 0] * rng.standard_normal(len(ai)))
        opened = np.where(single, close, round_price(prev[ai, aj] * jitter))
        top, bottom = np.maximum(opened, close), np.minimum(opened, close)
        wick = np.abs(rng.standard_normal((2, len(ai)))) * 0.7 * vol_px
        high = np.where(single, close, np.maximum(round_price(top + wick[0]), top))
        low = np.where(single, close, np.minimum(round_price(bottom - wick[1]), bottom))
        mid = (opened + high + low + 2.0 * close) / 5.0
        vwap = np.where(single, close, np.clip(round4(mid), low, high))
        size = self.avg_trade[rows[ai]] * rng.lognormal(0.0, 0.4, len(ai))
        volume = np.maximum(n, np.rint(n * size)).astype(np.int64)

        def scatter(values: np.ndarray, fill: float) -> np.ndarray:
            out = np.full(trades.shape, fill, dtype=values.dtype)
            out[ai, aj] = values
            return out

        return SecondBars(
            minute_ms,
            rows.astype(np.int64),
            active,
            scatter(opened, np.nan),
            scatter(high, np.nan),
            scatter(low, np.nan),
            scatter(close, np.nan),
            scatter(vwap, np.nan),
            scatter(volume, 0),
            trades.astype(np.int64),
        )


def normalize_minute_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Return long minute bars as symbol, ts (epoch ms), open, high, low, close, volume.

    Accepts a `datetime`, `timestamp` or `ts` column: ISO strings (naive ones
    are taken as America/New_York), datetimes, or epoch seconds / milliseconds.
    """
    df = bars.rename(columns=str.lower)
    time_col = next((c for c in ("ts", "timestamp", "datetime", "t") if c in df), None)
    if time_col is None or "symbol" not in df:
        raise ValueError("minute bars need a symbol and a datetime/timestamp column")
    raw = df[time_col]
    if pd.api.types.is_numeric_dtype(raw):
        ms = raw.astype("int64")
        ms = ms.where(ms > 10**11, ms * 1000)
    else:
        stamps = pd.to_datetime(raw, utc=False, format="ISO8601")
        if getattr(stamps.dt, "tz", None) is None:
            stamps = stamps.dt.tz_localize(ET)
        ms = stamps.dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64")
    out = pd.DataFrame(
        {
            "symbol": df["symbol"].astype(str).to_numpy(),
            "ts": (ms - ms % MS_PER_MINUTE).to_numpy(dtype=np.int64),
            "open": df["open"].to_numpy(dtype=np.float64),
            "high": df["high"].to_numpy(dtype=np.float64),
            "low": df["low"].to_numpy(dtype=np.float64),
            "close": df["close"].to_numpy(dtype=np.float64),
            "volume": np.rint(df["volume"].to_numpy(dtype=np.float64)).astype(np.int64),
        }
    )
    out = out.drop_duplicates(["symbol", "ts"], keep="last")
    return out.sort_values(["ts", "symbol"], ignore_index=True)


def load_minute_bars(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read long-format minute bars from a CSV (optionally .gz) or a DataFrame."""
    if isinstance(source, pd.DataFrame):
        return normalize_minute_bars(source)
    return normalize_minute_bars(pd.read_csv(source))


class ReplayMarket:
    """Replays minute bars, splitting each into per-second bars that roll back up."""

    def __init__(
        self,
        bars: str | Path | pd.DataFrame,
        *,
        seed: int = 0,
        symbols: Collection[str] | None = None,
    ) -> None:
        df = load_minute_bars(bars)
        if symbols is not None:
            df = df[df["symbol"].isin(set(symbols))].reset_index(drop=True)
        if df.empty:
            raise ValueError("no minute bars to replay")
        self.seed = int(seed)
        self.symbols = sorted(df["symbol"].unique().tolist())
        index = {s: i for i, s in enumerate(self.symbols)}
        self._sym = df["symbol"].map(index).to_numpy(dtype=np.int64)
        self._ts = df["ts"].to_numpy()
        self._ohlcv = df[["open", "high", "low", "close", "volume"]].to_numpy(
            dtype=np.float64
        )
        self.minutes, self._starts = np.unique(self._ts, return_index=True)
        self._ends = np.append(self._starts[1:], len(self._ts))

    def next_minute(self, after_ms: int | None) -> int | None:
        """Return the first replayed minute strictly after `after_ms` (None: first)."""
        if after_ms is None:
            return int(self.minutes[0])
        pos = int(np.searchsorted(self.minutes, after_ms, side="right"))
        return int(self.minutes[pos]) if pos < len(self.minutes) else None

    def generate(self, minute_ms: int) -> SecondBars:
        """Return per-second bars for the replayed bars of this minute."""
        pos = int(np.searchsorted(self.minutes, minute_ms))
        if pos >= len(self.minutes) or self.minutes[pos] != minute_ms:
            lo = hi = 0
        else:
            lo, hi = int(self._starts[pos]), int(self._ends[pos])
        rng = np.random.default_rng([self.seed, 11, minute_ms // MS_PER_MINUTE])
        o, h, lw, c, v = (self._ohlcv[lo:hi, k] for k in range(5))
        return bridge_bars(
            minute_ms, self._sym[lo:hi], o, h, lw, c, v.astype(np.int64), rng
        )


def _pick_active(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Return a (k, 60) mask with `counts[r]` random seconds set in row r."""
    order = np.argsort(rng.random((len(counts), SECONDS)), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(SECONDS)[None, :], axis=1)
    return ranks < counts[:, None]


def _random_active_column(rng: np.random.Generator, active: np.ndarray) -> np.ndarray:
    return np.where(active, rng.random(active.shape), -1.0).argmax(axis=1)


def _split_volume(
    rng: np.random.Generator, active: np.ndarray, volume: np.ndarray
) -> np.ndarray:
    """Split each row's volume over its active seconds (>= 1 share each)."""
    counts = active.sum(axis=1)
    extra = np.maximum(volume - counts, 0)
    weights = np.where(active, rng.random(active.shape), 0.0)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    alloc = np.floor(weights * extra[:, None]).astype(np.int64)
    rest = extra - alloc.sum(axis=1)
    alloc[np.arange(len(volume)), _random_active_column(rng, active)] += rest
    return np.where(active, alloc + (volume > 0)[:, None], 0)


def bridge_bars(
    minute_ms: int,
    sym_idx: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    low: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    rng: np.random.Generator,
) -> SecondBars:
    """Split minute bars into per-second bars that roll up to exactly o/h/l/c/v."""
    k = len(sym_idx)
    rows = np.arange(k)
    counts = np.clip(np.rint(v / SHARES_PER_REPLAY_TRADE), 1, SECONDS).astype(np.int64)
    counts = np.where(v > 0, np.minimum(counts, np.maximum(v, 1)), 1)
    active = _pick_active(rng, counts)
    pos = np.cumsum(active, axis=1) - 1
    frac = (pos + 1) / counts[:, None]
    base = o[:, None] + (c - o)[:, None] * frac
    noise = rng.standard_normal((k, SECONDS)) * ((h - low) / 4.0)[:, None]
    noise *= np.sqrt(np.clip(frac * (1.0 - frac), 0.0, None))
    close = np.clip(round_price(base + noise), low[:, None], h[:, None])
    close = np.where(pos == (counts - 1)[:, None], c[:, None], close)
    cols = np.where(active, np.arange(SECONDS)[None, :], -1)
    last_before = np.maximum.accumulate(cols, axis=1)
    prev = np.concatenate([np.full((k, 1), -1), last_before[:, :-1]], axis=1)
    prev_close = np.take_along_axis(close, np.maximum(prev, 0), axis=1)
    opened = np.where(prev >= 0, prev_close, o[:, None])
    high = np.maximum(opened, close)
    lowest = np.minimum(opened, close)
    jh = _random_active_column(rng, active)
    jl = _random_active_column(rng, active)
    high[rows, jh] = np.maximum(high[rows, jh], h)
    lowest[rows, jl] = np.minimum(lowest[rows, jl], low)
    vwap = np.clip(round4((high + lowest + close) / 3.0), lowest, high)
    volume = _split_volume(rng, active, v)
    trades = np.where(
        active, np.maximum(1, np.rint(volume / SHARES_PER_REPLAY_TRADE)), 0
    ).astype(np.int64)

    def masked(a: np.ndarray) -> np.ndarray:
        return np.where(active, a, np.nan)

    return SecondBars(
        minute_ms,
        np.asarray(sym_idx, dtype=np.int64),
        active,
        masked(opened),
        masked(high),
        masked(lowest),
        masked(close),
        masked(vwap),
        volume.astype(np.int64),
        trades,
    )


def make_symbols(n: int) -> list[str]:
    """Return `n` distinct synthetic tickers (AAA, AAB, ...; then four letters)."""
    letters = string.ascii_uppercase
    combos = itertools.chain(
        ("".join(p) for p in itertools.product(letters, repeat=3)),
        ("".join(p) for p in itertools.product(letters, repeat=4)),
    )
    return list(itertools.islice(combos, n))


FALLBACK_UNIVERSE = {
    "SPY": None, "QQQ": None, "IWM": None, "DIA": None,
    "XLK": "Information Technology", "XLF": "Financials", "XLV": "Health Care",
    "XLE": "Energy", "XLI": "Industrials", "XLY": "Consumer Discretionary",
    "XLP": "Consumer Staples", "XLU": "Utilities", "XLB": "Materials",
    "XLRE": "Real Estate", "XLC": "Communication Services",
    "AAPL": "Information Technology", "MSFT": "Information Technology",
    "NVDA": "Information Technology", "JPM": "Financials", "BAC": "Financials",
    "UNH": "Health Care", "JNJ": "Health Care", "XOM": "Energy", "CVX": "Energy",
    "CAT": "Industrials", "GE": "Industrials", "AMZN": "Consumer Discretionary",
    "TSLA": "Consumer Discretionary", "PG": "Consumer Staples",
    "KO": "Consumer Staples", "NEE": "Utilities", "LIN": "Materials",
    "PLD": "Real Estate", "GOOGL": "Communication Services",
    "META": "Communication Services",
}  # fmt: skip


def default_universe() -> dict[str, str | None]:
    """Return symbol -> GICS sector for the S&P 500, sector ETFs and index ETFs."""
    try:
        from dashapp.store import reference
    except Exception as exc:  # noqa: BLE001 - fall back to the built-in list
        log.debug("reference data unavailable: %s", exc)
        return dict(FALLBACK_UNIVERSE)
    universe: dict[str, str | None] = {}
    for row in reference.index_etfs().itertuples():
        universe[row.symbol] = None
    for row in reference.sector_etfs().itertuples():
        universe[row.symbol] = row.sector
    for row in reference.sp500().itertuples():
        universe[row.symbol] = row.sector or None
    return universe

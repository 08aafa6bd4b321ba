"""Shared test data for the page tests: a small deterministic market and app helpers.

No tests here: `tests/test_pages*.py` and `tests/test_browser*.py` import the
generator, `build_app` and `login` from this module.

The panel: SPY, QQQ, IWM, DIA, the 11 sector ETFs and four S&P 500 stocks per
sector, 320 weekday sessions ending 2025-03-28, built from a market factor,
rotating sector factors (so the RRG has all four quadrants) and per-stock
trends (so stages 1-4 all occur). Minute bars cover 09:30-10:29 ET of the last
session for a few symbols.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from dashapp.store.reference import sector_etfs, sp500

END = dt.date(2025, 3, 28)
SESSIONS = 320
STOCKS_PER_SECTOR = 4
INDEXES = ("SPY", "QQQ", "IWM", "DIA")
MINUTE_SYMBOLS = ("SPY", "QQQ", "IWM", "DIA", "AAPL")
MINUTES = 60
SEED = 11
USERNAME = "analyst"
PASSWORD = "Tickstock-test-pw-2025"
MARKET_TZ = "America/New_York"


def sample_stocks() -> pd.DataFrame:
    """Return the S&P 500 members the test market covers (4 per sector, + AAPL)."""
    members = sp500().sort_values("symbol")
    picked = members.groupby("sector", sort=True).head(STOCKS_PER_SECTOR)
    extra = members[members["symbol"] == "AAPL"]
    return pd.concat([picked, extra]).drop_duplicates("symbol").reset_index(drop=True)


def sessions(n: int = SESSIONS, end: dt.date = END) -> pd.DatetimeIndex:
    """Return n weekday sessions ending at `end`."""
    return pd.bdate_range(end=end, periods=n)


def _ohlcv(rng: np.random.Generator, close: np.ndarray, dollar: float) -> dict:
    prev = np.r_[close[0], close[:-1]]
    gap = 1 + 0.003 * rng.standard_normal(len(close))
    open_ = prev * gap
    top = np.maximum(open_, close) * (
        1 + np.abs(0.006 * rng.standard_normal(len(close)))
    )
    bottom = np.minimum(open_, close) * (
        1 - np.abs(0.006 * rng.standard_normal(len(close)))
    )
    volume = np.round(dollar / close * np.exp(0.3 * rng.standard_normal(len(close))))
    return {
        "open": np.round(open_, 2),
        "high": np.round(top, 2),
        "low": np.round(bottom, 2),
        "close": np.round(close, 2),
        "volume": volume,
    }


def make_daily(n: int = SESSIONS, end: dt.date = END, seed: int = SEED) -> pd.DataFrame:
    """Return long daily bars (symbol, date, open, high, low, close, volume)."""
    rng = np.random.default_rng(seed)
    dates = sessions(n, end)
    t = np.arange(n)
    market = 0.0004 + 0.009 * rng.standard_normal(n)
    etfs = sector_etfs()
    sector_ret = {}
    for j, sector in enumerate(etfs["sector"]):
        phase = 2 * np.pi * j / len(etfs)
        period = 110 + 7 * j
        sector_ret[sector] = 0.0025 * np.sin(2 * np.pi * t / period + phase)
        sector_ret[sector] += 0.004 * rng.standard_normal(n)
    closes: dict[str, np.ndarray] = {"SPY": 480 * np.exp(np.cumsum(market))}
    for sym, beta, start in (("QQQ", 1.2, 420), ("IWM", 1.3, 205), ("DIA", 0.9, 390)):
        noise = 0.003 * rng.standard_normal(n)
        closes[sym] = start * np.exp(np.cumsum(beta * market + noise))
    for etf, sector in zip(etfs["symbol"], etfs["sector"], strict=True):
        closes[etf] = 80 * np.exp(np.cumsum(market + sector_ret[sector]))
    for i, row in enumerate(sample_stocks().itertuples()):
        trend = rng.choice([-0.002, -0.0005, 0.0008, 0.002])
        turn = rng.integers(n // 3, n)
        drift = np.where(t < turn, trend, -trend)
        idio = 0.014 * rng.standard_normal(n)
        ret = market + sector_ret.get(row.sector, 0) + drift + idio
        closes[row.symbol] = (30 + 7 * i) * np.exp(np.cumsum(ret))
    frames = []
    for sym, close in closes.items():
        dollar = 2e10 if sym in INDEXES else 3e8
        data = _ohlcv(rng, close, dollar)
        frames.append(pd.DataFrame({"symbol": sym, "date": dates, **data}))
    return pd.concat(frames, ignore_index=True)


def make_minutes(
    daily: pd.DataFrame,
    symbols: tuple[str, ...] = MINUTE_SYMBOLS,
    minutes: int = MINUTES,
    day: dt.date = END,
    seed: int = SEED,
) -> pd.DataFrame:
    """Return minute bars from 09:30 ET on `day` drifting from the prior close."""
    rng = np.random.default_rng(seed + 1)
    start = pd.Timestamp.combine(day, dt.time(9, 30)).tz_localize(MARKET_TZ)
    stamps = start + pd.to_timedelta(np.arange(minutes), unit="min")
    frames = []
    prior = daily[daily["date"] < pd.Timestamp(day)].sort_values("date")
    for sym in symbols:
        base = float(prior[prior["symbol"] == sym]["close"].iloc[-1])
        path = base * np.exp(np.cumsum(0.0008 * rng.standard_normal(minutes)))
        frames.append(minute_frame(sym, stamps, path))
    return pd.concat(frames, ignore_index=True)


def minute_frame(
    symbol: str, stamps: pd.DatetimeIndex, close: np.ndarray
) -> pd.DataFrame:
    """Return minute bars for one symbol with a small range around each close."""
    close = np.round(np.asarray(close, dtype=float), 2)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "ts": stamps.tz_convert("UTC"),
            "open": close,
            "high": close + 0.05,
            "low": close - 0.05,
            "close": close,
            "volume": 1000.0,
            "vwap": close,
            "trades": 10,
        }
    )


_DAILY: pd.DataFrame | None = None


def daily_panel() -> pd.DataFrame:
    """Return the (cached) deterministic daily panel."""
    global _DAILY
    if _DAILY is None:
        _DAILY = make_daily()
    return _DAILY


def seed_store(store, minutes: bool = True) -> None:
    """Write the test market into a store (daily bars, and minute bars if asked)."""
    daily = daily_panel()
    store.upsert_daily_bars(daily)
    if minutes:
        store.upsert_minute_bars(make_minutes(daily))


def add_user(store) -> None:
    """Create the test user (idempotent)."""
    from dashapp import auth

    try:
        auth.create_user(store, USERNAME, PASSWORD)
    except auth.AuthError:
        pass


def login(client) -> str:
    """Log the Flask test client in as the test user; return the CSRF token."""
    client.get("/login")
    token = client.get_cookie("_csrf_token").value
    resp = client.post(
        "/auth/login",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/",
        },
    )
    assert resp.status_code == 303 and "/login" not in resp.headers["Location"]
    return client.get_cookie("_csrf_token").value


_TEMPLATES: dict[bool, Path] = {}


def _template_db(minutes: bool) -> Path:
    """Return a SQLite file holding the seeded test market (built once per run)."""
    if minutes not in _TEMPLATES:
        from dashapp.store import Store
        from dashapp.store.reference import load_reference

        folder = Path(tempfile.mkdtemp(prefix="tickstock-pages-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "seed.db"
        store = Store(f"sqlite:///{path}")
        store.init_schema()
        load_reference(store)
        seed_store(store, minutes=minutes)
        add_user(store)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        store.dispose()
        _TEMPLATES[minutes] = path
    return _TEMPLATES[minutes]


def build_app(settings, seeded: bool = True, minutes: bool = True):
    """Return a TickStock app on `settings`' SQLite, seeded with the test market."""
    from dashapp.factory import create_app

    if seeded and settings.database_url.startswith("sqlite:///"):
        target = Path(settings.database_url.removeprefix("sqlite:///"))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_template_db(minutes), target)
        return create_app(settings, ingest=False)
    app = create_app(settings, ingest=False)
    store = app.server.extensions["tickstock_store"]
    if seeded:
        seed_store(store, minutes=minutes)
    add_user(store)
    return app

"""The simulator's market generators: determinism, consistency, realism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest.synthetic import (
    CALENDAR,
    SecondBars,
    SyntheticMarket,
    bridge_bars,
    load_minute_bars,
    make_symbols,
    rollup,
    to_epoch_ms,
)

DATA = Path(__file__).parent / "data"
REPLAY_CSV = DATA / "minute_bars_spy_xlk_xlf_2019-12-18.csv"
SESSION_OPEN = to_epoch_ms("2024-03-05 09:30")  # a Tuesday, naive = ET
MINUTE = 60_000
TECH = ["T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08"]
BANKS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08"]


def _session(market: SyntheticMarket, minutes: int = 390) -> list[SecondBars]:
    return [market.generate(SESSION_OPEN + k * MINUTE) for k in range(minutes)]


def _closes(market: SyntheticMarket, bars: list[SecondBars]) -> pd.DataFrame:
    """Return minute closes (last traded price, forward-filled) per symbol."""
    rows = []
    for sb in bars:
        mb = rollup(sb)
        rows += [
            (sb.minute_ms, market.symbols[i], c)
            for i, c in zip(mb.sym_idx, mb.close, strict=True)
        ]
    df = pd.DataFrame(rows, columns=["t", "symbol", "close"])
    return df.pivot(index="t", columns="symbol", values="close").ffill()


def test_same_seed_same_market_other_seed_differs():
    def bars(seed: int) -> list:
        market = SyntheticMarket(make_symbols(50), seed=seed)
        return [rollup(sb) for sb in _session(market, 30)]

    first, again, other = bars(7), bars(7), bars(8)
    for a, b in zip(first, again, strict=True):
        for name in ("sym_idx", "open", "high", "low", "close", "vwap", "volume"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert any(
        len(a) != len(c) or not np.array_equal(a.close, c.close)
        for a, c in zip(first, other, strict=True)
    )


def test_minute_bar_is_the_roll_up_of_its_seconds():
    market = SyntheticMarket(make_symbols(200), seed=3)
    for sb in _session(market, 5):
        mb = rollup(sb)
        act = sb.active
        for r in range(0, len(mb), 17):
            secs = np.flatnonzero(act[r])
            assert mb.open[r] == sb.open[r, secs[0]]
            assert mb.close[r] == sb.close[r, secs[-1]]
            assert mb.high[r] == sb.high[r, secs].max()
            assert mb.low[r] == sb.low[r, secs].min()
            assert mb.volume[r] == sb.volume[r].sum()
        assert np.all(mb.low <= np.minimum(mb.open, mb.close))
        assert np.all(mb.high >= np.maximum(mb.open, mb.close))
        assert np.all((mb.vwap >= mb.low) & (mb.vwap <= mb.high))
        assert np.all(sb.volume[act] >= sb.trades[act])
        # prices sit on the tick grid (cents above $1)
        cents = mb.close[mb.close >= 1] * 100
        np.testing.assert_allclose(cents, np.rint(cents), atol=1e-6)


def test_sector_factor_correlates_members_with_their_sector_etf():
    symbols = ["SPY", "XLK", "XLF", *TECH, *BANKS]
    sectors = {"XLK": "Tech", "XLF": "Banks"}
    sectors |= dict.fromkeys(TECH, "Tech") | dict.fromkeys(BANKS, "Banks")
    adv = dict.fromkeys(symbols, 5e7)  # liquid enough to trade every minute
    market = SyntheticMarket(symbols, seed=5, sectors=sectors, adv=adv)
    returns = np.log(_closes(market, _session(market))).diff().dropna()
    corr = returns.corr()
    own = np.mean(
        [corr.loc[s, "XLK"] for s in TECH] + [corr.loc[s, "XLF"] for s in BANKS]
    )
    cross = np.mean(
        [corr.loc[s, "XLF"] for s in TECH] + [corr.loc[s, "XLK"] for s in BANKS]
    )
    assert own > cross + 0.1
    assert corr.loc[TECH, "SPY"].mean() > 0.2  # the market factor is shared


def test_intraday_volume_is_u_shaped():
    market = SyntheticMarket(make_symbols(40), seed=2)
    volume = np.array([rollup(sb).volume.sum() for sb in _session(market)])
    open_, midday, close = volume[:15].sum(), volume[180:195].sum(), volume[-15:].sum()
    assert open_ > 2 * midday
    assert close > 1.5 * midday


def test_prices_start_from_the_given_last_closes():
    last = {"AAA": 12.5, "BBB": 480.0, "CCC": 0.75}
    market = SyntheticMarket(
        list(last), seed=1, last_close=last, adv=dict.fromkeys(last, 1e8)
    )
    first = rollup(market.generate(SESSION_OPEN))
    for i, o in zip(first.sym_idx, first.open, strict=True):
        assert abs(o / last[market.symbols[i]] - 1) < 0.02


def test_overnight_gap_moves_prices_between_sessions():
    market = SyntheticMarket(["SPY"], seed=4, adv={"SPY": 1e8})
    market.generate(SESSION_OPEN + 389 * MINUTE)
    before = market.price.copy()
    market.generate(SESSION_OPEN + 86_400_000)  # next session's open
    assert not np.allclose(before, market.price, rtol=1e-4)


def test_calendar_knows_holidays_and_early_closes():
    assert CALENDAR.regular_minutes(pd.Timestamp("2019-12-25").date()) is None
    assert CALENDAR.regular_minutes(pd.Timestamp("2019-12-24").date()) == (570, 780)
    assert CALENDAR.is_open(to_epoch_ms("2024-03-05 09:29"), "regular") is False
    assert CALENDAR.is_open(to_epoch_ms("2024-03-05 09:29"), "extended") is True
    assert CALENDAR.is_open(to_epoch_ms("2024-03-09 12:00"), "extended") is False
    assert CALENDAR.is_open(to_epoch_ms("2024-03-09 12:00"), "all") is True


def test_replay_bridge_rolls_back_up_to_the_csv_bars():
    bars = load_minute_bars(REPLAY_CSV)
    assert len(bars) == 60
    rng = np.random.default_rng(0)
    cols = [bars[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    sb = bridge_bars(0, np.arange(len(bars)), *cols, rng)
    mb = rollup(sb)
    np.testing.assert_array_equal(mb.open, bars["open"])
    np.testing.assert_array_equal(mb.high, bars["high"])
    np.testing.assert_array_equal(mb.low, bars["low"])
    np.testing.assert_array_equal(mb.close, bars["close"])
    np.testing.assert_array_equal(mb.volume, bars["volume"])
    assert (sb.active.sum(axis=1) > 1).all()


@pytest.mark.parametrize("value", [0, 1, 2, 59, 61, 1_000_000])
def test_replay_bridge_handles_tiny_and_huge_volumes(value):
    rng = np.random.default_rng(1)
    one = np.array([10.0])
    sb = bridge_bars(
        0,
        np.array([0]),
        one,
        one + 0.05,
        one - 0.05,
        one + 0.01,
        np.array([value]),
        rng,
    )
    mb = rollup(sb)
    assert mb.volume[0] == value
    assert (mb.open[0], mb.high[0], mb.low[0], mb.close[0]) == (
        10.0,
        10.05,
        9.95,
        10.01,
    )


def test_minute_csv_timestamps_normalise_to_utc_minute_starts():
    bars = load_minute_bars(REPLAY_CSV)
    first = bars.iloc[0]
    assert first["ts"] == to_epoch_ms("2019-12-18 09:30")
    assert pd.Timestamp(first["ts"], unit="ms", tz="UTC").hour == 14
    epoch = pd.DataFrame(
        {
            "symbol": ["X"],
            "timestamp": [first["ts"] // 1000],
            "open": [1.0],
            "high": [1.0],
            "low": [1.0],
            "close": [1.0],
            "volume": [5],
        }
    )
    assert load_minute_bars(epoch)["ts"].iloc[0] == first["ts"]

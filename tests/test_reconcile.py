"""Reconciled daily imports and `tickstock data-health` (issue 13, item 3).

The split-basis pair is cut from the committed MIT slice of real AlphaVantage
bars (AAPL 4:1 and TSLA 5:1 on 2020-08-31): the "old" file holds the prices as
traded before the split (what a file adjusted before 2020-08-31 holds), the
"new" file the split- and dividend-adjusted prices from `adjusted_close`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashapp.store.datahealth import BIG_MOVE, data_health, sessions_between
from ingest.history import DAILY, import_files
from ingest.reconcile import PRICE_TOLERANCE
from tests.conftest import STORE_KINDS, make_store, pg_url

SLICE = Path(__file__).parent / "data" / "sp500_raw_adj_2020-08_2020-09_split_slice.csv"
SPLIT_DAY = "2020-08-31"
OVERLAP_FROM = "2020-08-17"
BASE = ["symbol", "date", "open", "high", "low", "close", "volume"]
RATIOS = {"AAPL": 4.0, "TSLA": 5.0}  # the splits in the slice


def real_slice() -> pd.DataFrame:
    frame = pd.read_csv(SLICE)
    return frame[frame["symbol"].isin(list(RATIOS))].reset_index(drop=True)


def write_pair(tmp_path: Path) -> tuple[Path, Path]:
    """Write the old-basis file (ends before the split) and the adjusted one."""
    rows = real_slice()
    old = rows[rows["date"] < SPLIT_DAY][BASE]
    new = rows[rows["date"] >= OVERLAP_FROM][[*BASE, "adjusted_close"]]
    paths = tmp_path / "old_basis.csv", tmp_path / "new_basis.csv"
    old.to_csv(paths[0], index=False)
    new.to_csv(paths[1], index=False)
    return paths


def oracle() -> pd.DataFrame:
    """Return the adjusted closes and volumes straight from the source file."""
    rows = real_slice()
    factor = rows["adjusted_close"] / rows["close"]
    return pd.DataFrame(
        {
            "symbol": rows["symbol"],
            "date": pd.to_datetime(rows["date"]),
            "close": rows["adjusted_close"],
            "volume": rows["volume"] / factor,
        }
    )


def biggest_move(frame: pd.DataFrame) -> float:
    moves = frame.groupby("symbol")["close"].pct_change().abs()
    return float(moves.max())


@pytest.mark.parametrize("order", ["old_then_new", "new_then_old", "one_batch"])
def test_rc01_split_basis_pair_is_rescaled_to_the_newer_basis(store, tmp_path, order):
    old, new = write_pair(tmp_path)
    raw = real_slice()
    raw = raw[raw["date"] < SPLIT_DAY]
    assert biggest_move(raw) < BIG_MOVE  # the old file has no gap of its own
    if order == "old_then_new":
        import_files(store, [old], DAILY)
        result = import_files(store, [new], DAILY)
    elif order == "new_then_old":
        import_files(store, [new], DAILY)
        result = import_files(store, [old], DAILY)
    else:
        result = import_files(store, [old, new], DAILY)
    assert result.committed
    stored = store.read_daily(list(RATIOS))
    assert len(stored) == len(real_slice())
    assert biggest_move(stored) < BIG_MOVE  # no split-sized jump anywhere
    expect = oracle().merge(stored, on=["symbol", "date"], suffixes=("", "_stored"))
    assert len(expect) == len(stored)
    price_err = (expect["close_stored"] / expect["close"] - 1).abs().max()
    volume_err = (expect["volume_stored"] / expect["volume"] - 1).abs().max()
    assert price_err < PRICE_TOLERANCE and volume_err < PRICE_TOLERANCE
    recorded = store.list_adjustments()
    assert sorted(recorded["symbol"]) == sorted(RATIOS)
    for item in result.reconciled:
        assert item.kind == "price" and item.sessions == 10
        assert abs(item.factor * RATIOS[item.symbol] - 1) < PRICE_TOLERANCE
        assert str(item.applied_to_start) == "2020-08-03"
        assert str(item.applied_to_end) == "2020-08-14"
    row = recorded.set_index("symbol").loc["TSLA"]
    assert row["kind"] == "price" and row["sessions"] == 10
    assert abs(row["factor"] - 1 / RATIOS["TSLA"]) < 1e-6


def synthetic(symbol: str, start: str, sessions: int, seed: int) -> pd.DataFrame:
    """Return a random-walk daily series on XNYS weekdays."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range(start, periods=sessions)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, sessions)))
    return pd.DataFrame(
        {
            "symbol": symbol,
            "date": days.strftime("%Y-%m-%d"),
            "open": close.round(4),
            "high": (close * 1.01).round(4),
            "low": (close * 0.99).round(4),
            "close": close.round(4),
            "volume": rng.integers(1_000_000, 3_000_000, sessions).astype(float),
        }
    )


def test_rc02_volume_bases_constant_rescaled_and_iex_like_flagged(store, tmp_path):
    older = pd.concat([synthetic("VOLA", "2024-01-01", 40, 1),
                       synthetic("VOLB", "2024-01-01", 40, 2)])  # fmt: skip
    newer = older[older["date"] >= "2024-01-22"].copy()
    extra = pd.concat([synthetic("VOLA", "2024-02-26", 10, 3),
                       synthetic("VOLB", "2024-02-26", 10, 4)])  # fmt: skip
    newer = pd.concat([newer, extra], ignore_index=True)
    a, b = newer["symbol"] == "VOLA", newer["symbol"] == "VOLB"
    newer.loc[a, "volume"] = newer.loc[a, "volume"] * 0.5  # constant basis change
    noise = np.random.default_rng(9).lognormal(0, 0.3, int(b.sum()))
    newer.loc[b, "volume"] = (newer.loc[b, "volume"] * 0.015 * noise).round()
    older.to_csv(tmp_path / "older.csv", index=False)
    newer.to_csv(tmp_path / "newer.csv", index=False)
    import_files(store, [tmp_path / "older.csv"], DAILY)
    result = import_files(store, [tmp_path / "newer.csv"], DAILY)
    kinds = {(r.symbol, r.kind): r for r in result.reconciled}
    assert set(kinds) == {("VOLA", "volume"), ("VOLB", "volume_flag")}
    assert abs(kinds["VOLA", "volume"].factor - 0.5) < 1e-9
    stored = store.read_daily().set_index(["symbol", "date"])
    early = older[older["date"] < "2024-01-22"].copy()
    early["date"] = pd.to_datetime(early["date"])
    early = early.set_index(["symbol", "date"])
    got = stored.loc[early.index, "volume"]
    want = early["volume"] * np.where(early.index.get_level_values(0) == "VOLA", 0.5, 1)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9)
    # Prices were on one basis: nothing rescaled them.
    np.testing.assert_allclose(stored.loc[early.index, "close"], early["close"])


@pytest.mark.parametrize("stored_first", ["older", "newer"])
def test_rc03_inconsistent_overlap_is_flagged_and_newer_kept(
    store, tmp_path, stored_first
):
    older = synthetic("MIXD", "2024-03-01", 30, 5)
    newer = synthetic("MIXD", "2024-03-01", 45, 5).iloc[15:].copy()
    wobble = 1 + 0.2 * (-1.0) ** np.arange(len(newer))  # 1.2, 0.8, 1.2, ...
    for col in ("open", "high", "low", "close"):
        newer[col] = (newer[col] * wobble).round(4)
    older.to_csv(tmp_path / "older.csv", index=False)
    newer.to_csv(tmp_path / "newer.csv", index=False)
    files = [tmp_path / "older.csv", tmp_path / "newer.csv"]
    if stored_first == "newer":
        files.reverse()
    import_files(store, [files[0]], DAILY)
    before = store.read_daily()
    result = import_files(store, [files[1]], DAILY)
    assert [(r.symbol, r.kind) for r in result.reconciled] == [("MIXD", "inconsistent")]
    assert result.reconciled[0].sessions == 15
    stored = store.read_daily().set_index("date")
    expect_new = newer.assign(date=pd.to_datetime(newer["date"])).set_index("date")
    np.testing.assert_allclose(
        stored.loc[expect_new.index, "close"], expect_new["close"]
    )
    expect_old = older.assign(date=pd.to_datetime(older["date"])).set_index("date")
    kept = expect_old.index.difference(expect_new.index)
    np.testing.assert_allclose(stored.loc[kept, "close"], expect_old.loc[kept, "close"])
    assert len(before) == 30 and len(stored) == 45
    flags = data_health(store)["rows"][0]["flags"]
    assert flags.startswith("inconsistent x")


def test_rc03b_drifting_ratio_is_rescaled_at_the_join(store, tmp_path):
    # The GE case: a 1-for-8 reverse split apart, dividends adjusted differently.
    older = synthetic("DRFT", "2024-03-01", 40, 7)
    newer = synthetic("DRFT", "2024-03-01", 60, 7).iloc[20:].copy()
    step = np.where(np.arange(len(newer)) < 10, 8.0, 8.0 * 1.012)
    for col in ("open", "high", "low", "close"):
        newer[col] = (newer[col] * step).round(4)
    newer["volume"] = newer["volume"] / 8  # a faithful reverse split: fewer shares
    older.to_csv(tmp_path / "older.csv", index=False)
    newer.to_csv(tmp_path / "newer.csv", index=False)
    result = import_files(
        store, [tmp_path / "newer.csv", tmp_path / "older.csv"], DAILY
    )
    (item,) = result.reconciled
    assert item.kind == "price" and item.factor == pytest.approx(8.0, rel=1e-5)
    assert "drifts" in item.reason and item.sessions == 20
    stored = store.read_daily()
    assert biggest_move(stored) < 0.05  # a 1 % random walk, no 8x step
    np.testing.assert_allclose(
        stored["close"].iloc[:20], older["close"].iloc[:20] * 8.0, rtol=1e-6
    )


def test_rc04_rejected_file_changes_nothing(store, tmp_path):
    old, new = write_pair(tmp_path)
    import_files(store, [old], DAILY)
    before = store.read_daily()
    bad = tmp_path / "bad.csv"
    bad.write_text(new.read_text() + "AAPL,2020-10-01,1,0.5,2,1,1,1\n")
    result = import_files(store, [new, bad], DAILY)
    assert not result.committed and result.reconciled == []
    (reject,) = result.reports[1].rejects
    assert reject.line == len(bad.read_text().splitlines())
    assert "high < low" in reject.message
    pd.testing.assert_frame_equal(before, store.read_daily())
    assert store.list_adjustments().empty


@pytest.fixture(params=STORE_KINDS)
def db_url(request, tmp_path):
    """Return an empty initialised database URL (SQLite file or PostgreSQL schema)."""
    make_store(request.param, tmp_path).dispose()
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return pg_url()


def health_fixture(tmp_path: Path) -> list[Path]:
    """Write the split pair plus an unadjusted split, a gap and a stale symbol."""
    old, new = write_pair(tmp_path)
    rows = real_slice()
    cols = [*BASE, "adjusted_close"]
    raw = rows[rows["symbol"] == "AAPL"][cols].assign(symbol="RAWSPLIT")
    raw["adjusted_close"] = raw["close"]  # as traded: the split day jumps
    gappy = rows[rows["symbol"] == "TSLA"][cols].assign(symbol="GAPPY")
    gappy = gappy.drop(index=gappy.index[[5, 6, 7]])
    stale = rows[(rows["symbol"] == "TSLA") & (rows["date"] <= "2020-09-21")][cols]
    extra = pd.concat([raw, gappy, stale.assign(symbol="STALE")])
    extra_path = tmp_path / "extra.csv"
    extra.to_csv(extra_path, index=False)
    return [old, new, extra_path]


def check_report(report: dict) -> None:
    rows = {r["symbol"]: r for r in report["rows"]}
    assert report["newest_session"] == "2020-09-30"
    assert rows["AAPL"]["rescalings"].startswith("price x0.249")
    assert rows["TSLA"]["rescalings"] == "price x0.2 2020-08-03..2020-08-14"
    assert rows["AAPL"]["missing_sessions"] == 0 and not rows["AAPL"]["stale"]
    assert rows["GAPPY"]["missing_sessions"] == 3
    assert rows["STALE"]["stale"] and rows["STALE"]["sessions_behind"] == 7
    assert rows["RAWSPLIT"]["suspect_moves"] == 1
    (move,) = report["suspect_moves"]
    assert move["symbol"] == "RAWSPLIT" and move["date"] == SPLIT_DAY
    assert move["move_pct"] < -70 and move["looks_like"] == "1-for-4 forward split"
    assert report["summary"]["split_like_moves"] == 1
    factors = {a["symbol"]: a["factor"] for a in report["adjustments"]}
    assert abs(factors["TSLA"] - 0.2) < 1e-6
    assert "import" in rows["AAPL"]["sources"]


def test_rc05_cli_import_prints_and_data_health_json_reports(
    db_url, tmp_path, monkeypatch, capsys
):
    from dashapp.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TICKSTOCK_DATA_DIR", str(tmp_path))
    old, new, extra = health_fixture(tmp_path)
    for path in (old, extra, new):
        with pytest.raises(SystemExit) as done:
            main(["import-daily", str(path)])
        assert done.value.code == 0
    out = capsys.readouterr().out
    assert "reconciled TSLA: price rescaled x0.2 to 2020-08-03 .. 2020-08-14" in out
    assert "(10 overlapping sessions" in out
    with pytest.raises(SystemExit) as done:
        main(["data-health", "--format", "json"])
    assert done.value.code == 0
    check_report(json.loads(capsys.readouterr().out))
    with pytest.raises(SystemExit):
        main(["data-health"])
    text = capsys.readouterr().out
    assert "1 stale" in text and "suspect move RAWSPLIT 2020-08-31" in text


def test_rc06_api_data_health_json_csv_and_admin_only(db_url, tmp_path):
    from dashapp.factory import create_app
    from dashapp.settings import load_settings
    from tests.auth_helpers import bearer, login

    env = {
        "DATABASE_URL": db_url,
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
    }
    app = create_app(load_settings(env, env_file=None), ingest=False)
    store = app.server.extensions["tickstock_store"]
    old, new, extra = health_fixture(tmp_path)
    import_files(store, [old, extra], DAILY)
    import_files(store, [new], DAILY)
    client = app.server.test_client()
    admin, user = bearer(app, "ada", "admin"), bearer(app, "ursula", "user")
    answer = client.get("/api/admin/data-health", headers=admin)
    assert answer.status_code == 200
    check_report(answer.get_json())
    csv = client.get("/api/admin/data-health?format=csv", headers=admin)
    assert csv.mimetype == "text/csv"
    frame = pd.read_csv(pd.io.common.StringIO(csv.get_data(as_text=True)))
    assert set(frame["symbol"]) == {"AAPL", "TSLA", "RAWSPLIT", "GAPPY", "STALE"}
    assert client.get("/api/admin/data-health", headers=user).status_code == 403
    spec = client.get("/api/openapi.json", headers=admin).get_json()
    assert "/api/admin/data-health" in spec["paths"]
    # The admin page's data-health card (admins only).
    check = {
        "output": "admin-health.children",
        "outputs": {"id": "admin-health", "property": "children"},
        "inputs": [{"id": "admin-health-check", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["admin-health-check.n_clicks"],
    }
    as_user = login(app.server.test_client(), app, "ulla", role="user")
    assert as_user.post("/_dash-update-component", json=check).status_code == 204
    as_admin = login(app.server.test_client(), app, "adam", role="admin")
    page = as_admin.post("/_dash-update-component", json=check)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "5 symbols" in text and "1 stale" in text
    assert "RAWSPLIT" in text and "price x0.2 2020-08-03..2020-08-14" in text
    store.dispose()


def test_rc07_sessions_between_uses_the_exchange_calendar():
    # 2020-08-31 .. 2020-09-08: Labor Day (09-07) is not a session.
    assert sessions_between("2020-08-31", "2020-09-08") == 6
    assert sessions_between("2020-09-07", "2020-09-07") == 0

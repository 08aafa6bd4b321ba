"""Universes: user-defined edits, built-in protection, honest counts, the CLI."""

from __future__ import annotations

import pandas as pd
import pytest

from dashapp.cli.universes import UniverseError, check_name, parse_symbols
from dashapp.store import StoreError
from dashapp.store.reference import load_reference


def bars(symbols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"symbol": symbols, "date": "2026-11-20", "open": 1.0, "high": 1.0,
         "low": 1.0, "close": 1.0, "volume": 1.0}
    )  # fmt: skip


def counts(store, name: str) -> tuple[int, int]:
    row = store.list_universes().set_index("name").loc[name]
    return int(row["members"]), int(row["with_data"])


def test_un01_edit_user_universe(store):
    load_reference(store)
    store.upsert_daily_bars(bars(["AAPL", "MSFT", "XLK"]))
    store.set_universe("Mine", ["AAPL", "NEWCO"], label="my list")
    assert counts(store, "mine") == (2, 1)
    assert store.add_universe_members("MINE", ["MSFT", "AAPL", "XLK"]) == 2
    assert counts(store, "mine") == (4, 3)
    assert store.remove_universe_members("mine", ["AAPL", "ZZZ"]) == 1
    assert store.universe_symbols("mine") == ["MSFT", "NEWCO", "XLK"]
    store.rename_universe("MINE", "Tech")
    assert store.universe_info("tech")["label"] == "my list"
    assert store.universe_info("mine") is None
    union = store.universe_symbols("tech+INDEX")
    assert union == sorted({"MSFT", "NEWCO", "XLK", "SPY", "QQQ", "IWM", "DIA", "RSP"})
    assert store.delete_universe("TECH") and store.universe_info("tech") is None
    # Symbols of a deleted universe stay known; their bars are untouched.
    assert len(store.read_daily()) == 3


def test_un02_builtin_universes_are_protected(store):
    load_reference(store)
    store.set_universe("other", ["AAPL"])
    for action in (
        lambda: store.rename_universe("sp500", "x"),
        lambda: store.add_universe_members("SECTORS", ["AAPL"]),
        lambda: store.remove_universe_members("index", ["SPY"]),
        lambda: store.delete_universe("sp500"),
    ):
        with pytest.raises(StoreError, match="built in"):
            action()
    with pytest.raises(StoreError, match="already exists"):
        store.rename_universe("other", "SP500")
    with pytest.raises(KeyError, match="unknown universe: nope"):
        store.add_universe_members("nope", ["AAPL"])
    assert counts(store, "sp500") == (503, 0)


def test_un03_names_and_symbols_are_checked():
    assert check_name(" My.List-2 ") == "my.list-2"
    for bad in ("a+b", "", "x" * 65, "two words", "-lead"):
        with pytest.raises(UniverseError):
            check_name(bad)
    assert parse_symbols(["brk.b,aapl", "AAPL", "^gspc"]) == ["AAPL", "BRK.B", "^GSPC"]
    with pytest.raises(UniverseError, match="bad symbol"):
        parse_symbols(["AA PL;"])


def test_un04_cli(tmp_path, monkeypatch, capsys):
    from dashapp.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TICKSTOCK_DATA_DIR", str(tmp_path))

    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(["universes", *argv])
        out = capsys.readouterr()
        return info.value.code, out.out, out.err

    code, out, _ = run("create", "Growth", "nvda,tsla", "META", "--label", "G")
    assert code == 0 and "created universe 'growth' with 3 members" in out
    assert run("create", "growth")[2].endswith("already exists (use add/remove)\n")
    assert "added 1 symbol(s) to 'growth' (4 members)" in run("add", "growth", "amd")[1]
    assert "removed 1 symbol(s)" in run("remove", "GROWTH", "tsla")[1]
    code, out, _ = run("show", "growth")
    assert "growth: 3 members, 0 with daily data" in out and "Nvidia" in out
    code, out, _ = run("list")
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines()[1:]}
    assert lines["growth"][:4] == ["growth", "user", "3", "0"]
    assert lines["sp500"][:4] == ["sp500", "built-in", "503", "0"]
    code, out, _ = run("create", "copy", "--from", "index+growth")
    assert "with 8 members" in out
    assert run("rename", "growth", "momentum")[0] == 0
    code, _, err = run("delete", "sp500")
    assert code == 1 and "built in" in err
    code, _, err = run("show", "growth")
    assert code == 1 and "unknown universe: growth" in err
    assert run("delete", "momentum")[0] == 0

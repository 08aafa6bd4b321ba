"""`tickstock universes`: list, show, create, rename, edit and delete universes.

Names are case-insensitive (stored lower case) and `a+b` means the union of
universes wherever a universe is read. Built-in universes (sp500, sectors,
index) are reloaded from the reference data on every start, so they cannot be
renamed, edited or deleted; copy one with `create NAME --from sp500` instead.
Counts are honest: "with data" is how many members have daily bars.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import Any

import pandas as pd

from dashapp.store import Store, StoreError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
SYMBOL_RE = re.compile(r"^[A-Z0-9^][A-Z0-9.\-^=/]{0,23}$")


class UniverseError(ValueError):
    """A universe command got a bad name or symbol."""


def check_name(name: str) -> str:
    """Return the canonical (lower-case) universe name or raise UniverseError."""
    key = name.strip().lower()
    if not NAME_RE.match(key):
        raise UniverseError(
            f"bad universe name {name!r}: use 1-64 letters, digits, '_', '.', '-' "
            "('+' joins universes when reading)"
        )
    return key


def parse_symbols(items: Iterable[str]) -> list[str]:
    """Return upper-case symbols from arguments (spaces or commas separate them)."""
    out = []
    for item in items:
        for part in item.replace(",", " ").split():
            sym = part.strip().upper()
            if not SYMBOL_RE.match(sym):
                raise UniverseError(f"bad symbol {part!r}")
            out.append(sym)
    return sorted(set(out))


def list_table(store: Store) -> list[tuple[str, str, int, int, str]]:
    """Return (name, kind, members, with data, label) rows for every universe."""
    frame = store.list_universes()
    return [
        (
            r.name,
            "built-in" if r.builtin else "user",
            int(r.members),
            int(r.with_data),
            r.label or "",
        )
        for r in frame.itertuples()
    ]


def show_table(store: Store, spec: str) -> list[tuple[str, str, str, int, str, str]]:
    """Return (symbol, name, sector, rows, first, last) for each member of `spec`."""
    members = store.universe_symbols(spec)
    meta = store.symbols_frame(members).set_index("symbol")
    cover = store.daily_coverage(members).set_index("symbol")
    rows = []
    for sym in members:
        info = meta.loc[sym] if sym in meta.index else {}
        name, sector = (_text(info.get(k)) for k in ("name", "sector"))
        if sym in cover.index:
            c = cover.loc[sym]
            rows.append(
                (sym, name, sector, int(c["rows"]), str(c["first"].date()),
                 str(c["last"].date()))
            )  # fmt: skip
        else:
            rows.append((sym, name, sector, 0, "", ""))
    return rows


def _text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _print(rows: list[tuple], headers: tuple[str, ...]) -> None:
    text = [tuple(str(v) for v in r) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in text)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in text:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _list(store: Store, args: argparse.Namespace) -> int:
    _print(list_table(store), ("name", "kind", "members", "with data", "label"))
    return 0


def _show(store: Store, args: argparse.Namespace) -> int:
    rows = show_table(store, args.name)
    with_data = sum(1 for r in rows if r[3])
    print(f"{args.name.lower()}: {len(rows)} members, {with_data} with daily data")
    _print(rows, ("symbol", "name", "sector", "days", "first", "last"))
    return 0


def _create(store: Store, args: argparse.Namespace) -> int:
    key = check_name(args.name)
    if store.universe_info(key) is not None:
        raise UniverseError(f"universe '{key}' already exists (use add/remove)")
    members = parse_symbols(args.symbols)
    if args.source:
        members = sorted(set(members) | set(store.universe_symbols(args.source)))
    n = store.set_universe(key, members, label=args.label, builtin=False)
    print(f"created universe '{key}' with {n} members")
    return 0


def _rename(store: Store, args: argparse.Namespace) -> int:
    new = check_name(args.new)
    store.rename_universe(args.old, new)
    print(f"renamed universe '{args.old.lower()}' to '{new}'")
    return 0


def _add(store: Store, args: argparse.Namespace) -> int:
    added = store.add_universe_members(args.name, parse_symbols(args.symbols))
    total = len(store.universe_symbols(args.name))
    print(f"added {added} symbol(s) to '{args.name.lower()}' ({total} members)")
    return 0


def _remove(store: Store, args: argparse.Namespace) -> int:
    removed = store.remove_universe_members(args.name, parse_symbols(args.symbols))
    total = len(store.universe_symbols(args.name))
    print(f"removed {removed} symbol(s) from '{args.name.lower()}' ({total} members)")
    return 0


def _delete(store: Store, args: argparse.Namespace) -> int:
    if not store.delete_universe(args.name):
        raise KeyError(f"unknown universe: {args.name.lower()}")
    print(f"deleted universe '{args.name.lower()}'")
    return 0


def cmd_universes(settings: Any, args: argparse.Namespace) -> int:
    """Run one `tickstock universes` action; exit 1 with one line on errors."""
    from dashapp.factory import prepare_store

    store = prepare_store(settings)
    try:
        return args.action(store, args)
    except (KeyError, StoreError, UniverseError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"tickstock: {message}", file=sys.stderr)
        return 1
    finally:
        store.dispose()


def add_cli(subparsers: Any) -> None:
    """Register `tickstock universes ...`."""
    p = subparsers.add_parser("universes", help="list and edit symbol universes")
    sub = p.add_subparsers(dest="universes_command", required=True, metavar="ACTION")
    p.set_defaults(func=cmd_universes)

    q = sub.add_parser("list", help="universes with member and with-data counts")
    q.set_defaults(action=_list)
    q = sub.add_parser("show", help="members of a universe (a+b = union)")
    q.add_argument("name")
    q.set_defaults(action=_show)
    q = sub.add_parser("create", help="create a user-defined universe")
    q.add_argument("name")
    q.add_argument("symbols", nargs="*", metavar="SYMBOL")
    q.add_argument("--label", default=None)
    q.add_argument("--from", dest="source", default=None, help="copy members of")
    q.set_defaults(action=_create)
    q = sub.add_parser("rename", help="rename a user-defined universe")
    q.add_argument("old")
    q.add_argument("new")
    q.set_defaults(action=_rename)
    q = sub.add_parser("add", help="add symbols to a user-defined universe")
    q.add_argument("name")
    q.add_argument("symbols", nargs="+", metavar="SYMBOL")
    q.set_defaults(action=_add)
    q = sub.add_parser("remove", help="remove symbols from a user-defined universe")
    q.add_argument("name")
    q.add_argument("symbols", nargs="+", metavar="SYMBOL")
    q.set_defaults(action=_remove)
    q = sub.add_parser("delete", help="delete a user-defined universe")
    q.add_argument("name")
    q.set_defaults(action=_delete)

"""The symbol catalog: symbol metadata and universes (built-in and user-defined)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Connection

from dashapp.store.base import StoreBase, StoreError, utcnow
from dashapp.store.schema import symbols, universes


class CatalogMixin(StoreBase):
    """Symbols and universes: look-ups and edits."""

    def upsert_symbols(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert or update symbol metadata rows."""
        cols = ("symbol", "name", "kind", "sector", "sub_industry", "sector_etf")
        data = [tuple(r.get(c) for c in cols) for r in rows]
        if not data:
            return 0
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols[1:])
        marks = ", ".join(f":{c}" for c in cols)
        sql = text(
            f"INSERT INTO symbols ({', '.join(cols)}) VALUES ({marks}) "
            f"ON CONFLICT (symbol) DO UPDATE SET {updates}"
        )
        with self.engine.begin() as conn:
            conn.execute(sql, [dict(zip(cols, d, strict=True)) for d in data])
        return len(data)

    def ensure_symbols(self, names: Iterable[str]) -> None:
        """Insert bare symbol rows for names not yet known."""
        sql = text(
            "INSERT INTO symbols (symbol, kind) VALUES (:s, 'stock') "
            "ON CONFLICT (symbol) DO NOTHING"
        )
        params = [{"s": n} for n in sorted(set(names))]
        if params:
            with self.engine.begin() as conn:
                conn.execute(sql, params)

    def symbols_frame(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Return symbol metadata (optionally only for `names`)."""
        cols = ("symbol", "name", "kind", "sector", "sub_industry", "sector_etf")
        where, params = self._bar_filter("symbol", names, None, None, str)
        sql = f"SELECT {', '.join(cols)} FROM symbols {where} ORDER BY symbol"
        return self._read(sql, params, cols)

    def search_symbols(
        self,
        search: str | None = None,
        members: Sequence[str] | None = None,
        limit: int = 100,
    ) -> pd.DataFrame:
        """Return symbols whose ticker starts with or whose name contains `search`."""
        query = select(
            symbols.c.symbol, symbols.c.name, symbols.c.kind, symbols.c.sector,
            symbols.c.sub_industry, symbols.c.sector_etf,
        ).order_by(symbols.c.symbol).limit(int(limit))  # fmt: skip
        if search:
            pattern = search.replace("\\", "\\\\").replace("%", "\\%")
            pattern = pattern.replace("_", "\\_")
            query = query.where(
                or_(
                    symbols.c.symbol.like(f"{pattern.upper()}%", escape="\\"),
                    func.lower(symbols.c.name).like(
                        f"%{pattern.lower()}%", escape="\\"
                    ),
                )
            )
        if members is not None:
            query = query.where(symbols.c.symbol.in_(list(members)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).fetchall()
        cols = ["symbol", "name", "kind", "sector", "sub_industry", "sector_etf"]
        return pd.DataFrame(rows, columns=cols)

    def set_universe(
        self,
        name: str,
        members: Iterable[str],
        label: str | None = None,
        builtin: bool = False,
    ) -> int:
        """Create or replace a universe with exactly `members`; return its size."""
        key = name.strip().lower()
        members = sorted(set(members))
        self.ensure_symbols(members)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO universes (name, label, builtin, created_at) "
                    "VALUES (:n, :l, :b, :c) ON CONFLICT (name) DO UPDATE SET "
                    "label = COALESCE(excluded.label, universes.label)"
                ),
                {"n": key, "l": label, "b": builtin, "c": utcnow()},
            )
            uid = conn.execute(
                text("SELECT id FROM universes WHERE name = :n"), {"n": key}
            ).scalar_one()
            conn.execute(
                text("DELETE FROM universe_members WHERE universe_id = :u"), {"u": uid}
            )
            if members:
                conn.execute(
                    text("INSERT INTO universe_members VALUES (:u, :s)"),
                    [{"u": uid, "s": s} for s in members],
                )
        return len(members)

    def universe_symbols(self, spec: str) -> list[str]:
        """Return the sorted members of `spec` (case-insensitive; `a+b` = union)."""
        names = [p.strip().lower() for p in spec.split("+") if p.strip()]
        if not names:
            return []
        marks = ", ".join(f":n{i}" for i in range(len(names)))
        sql = text(
            "SELECT DISTINCT m.symbol FROM universe_members m "
            f"JOIN universes u ON u.id = m.universe_id WHERE u.name IN ({marks}) "
            "ORDER BY m.symbol"
        )
        with self.engine.connect() as conn:
            known = conn.execute(
                text(f"SELECT name FROM universes WHERE name IN ({marks})"),
                {f"n{i}": n for i, n in enumerate(names)},
            ).scalars()
            missing = set(names) - set(known)
            if missing:
                raise KeyError(f"unknown universe: {', '.join(sorted(missing))}")
            rows = conn.execute(sql, {f"n{i}": n for i, n in enumerate(names)})
            return [r[0] for r in rows]

    def list_universes(self) -> pd.DataFrame:
        """Return universes with member counts and how many members have data."""
        sql = text(
            "SELECT u.name, u.label, u.builtin, count(m.symbol) AS members, "
            "count(d.symbol) AS with_data FROM universes u "
            "LEFT JOIN universe_members m ON m.universe_id = u.id "
            "LEFT JOIN (SELECT DISTINCT symbol FROM ohlcv_daily) d "
            "ON d.symbol = m.symbol GROUP BY u.id, u.name, u.label, u.builtin "
            "ORDER BY u.name"
        )
        cols = ("name", "label", "builtin", "members", "with_data")
        with self.engine.connect() as conn:
            rows = conn.execute(sql).fetchall()
        return pd.DataFrame(rows, columns=list(cols))

    def universe_info(self, name: str) -> dict[str, Any] | None:
        """Return one universe's name, label, builtin flag and creation time."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT name, label, builtin, created_at FROM universes "
                    "WHERE name = :n"
                ),
                {"n": name.strip().lower()},
            ).first()
        return dict(row._mapping) if row else None

    def _editable_universe(self, conn: Connection, name: str, action: str) -> int:
        key = name.strip().lower()
        row = conn.execute(
            text("SELECT id, builtin FROM universes WHERE name = :n"), {"n": key}
        ).first()
        if row is None:
            raise KeyError(f"unknown universe: {key}")
        if row.builtin:
            raise StoreError(f"universe '{key}' is built in and cannot be {action}")
        return row.id

    def rename_universe(self, old: str, new: str) -> None:
        """Rename a user-defined universe (names are case-insensitive)."""
        new_key = new.strip().lower()
        with self.engine.begin() as conn:
            uid = self._editable_universe(conn, old, "renamed")
            taken = conn.execute(
                text("SELECT id FROM universes WHERE name = :n"), {"n": new_key}
            ).scalar()
            if taken is not None and taken != uid:
                raise StoreError(f"universe '{new_key}' already exists")
            conn.execute(
                text("UPDATE universes SET name = :n WHERE id = :u"),
                {"n": new_key, "u": uid},
            )

    def add_universe_members(self, name: str, members: Iterable[str]) -> int:
        """Add symbols to a user-defined universe; return how many were new."""
        members = sorted(set(members))
        self.ensure_symbols(members)
        with self.engine.begin() as conn:
            uid = self._editable_universe(conn, name, "edited")
            have = set(
                conn.execute(
                    text("SELECT symbol FROM universe_members WHERE universe_id = :u"),
                    {"u": uid},
                ).scalars()
            )
            new = [s for s in members if s not in have]
            if new:
                conn.execute(
                    text("INSERT INTO universe_members VALUES (:u, :s)"),
                    [{"u": uid, "s": s} for s in new],
                )
        return len(new)

    def remove_universe_members(self, name: str, members: Iterable[str]) -> int:
        """Remove symbols from a user-defined universe; return how many were removed."""
        members = sorted(set(members))
        with self.engine.begin() as conn:
            uid = self._editable_universe(conn, name, "edited")
            removed = 0
            for sym in members:
                removed += conn.execute(
                    text(
                        "DELETE FROM universe_members "
                        "WHERE universe_id = :u AND symbol = :s"
                    ),
                    {"u": uid, "s": sym},
                ).rowcount
        return removed

    def delete_universe(self, name: str) -> bool:
        """Delete a user-defined universe; built-in ones cannot be deleted."""
        key = name.strip().lower()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(universes.c.builtin).where(universes.c.name == key)
            ).first()
            if row is None:
                return False
            if row[0]:
                raise StoreError(f"universe {key!r} is built in")
            conn.execute(universes.delete().where(universes.c.name == key))
        return True

"""Per-user watchlists: named symbol lists, also usable as `universe=watchlist:NAME`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from dashapp.store.base import StoreBase, utcnow
from dashapp.store.schema import watchlist_symbols, watchlists


def aware(value: Any) -> Any:
    """Return a datetime as timezone-aware UTC (SQLite returns naive values)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class WatchlistsMixin(StoreBase):
    """Watchlists, always scoped to one user id."""

    def list_watchlists(self, user_id: int) -> list[dict[str, Any]]:
        """Return the user's watchlists (name, symbols, times), by name."""
        with self.engine.connect() as conn:
            lists = conn.execute(
                select(watchlists)
                .where(watchlists.c.user_id == user_id)
                .order_by(watchlists.c.name)
            ).mappings()
            lists = [dict(r) for r in lists]
            ids = [w["id"] for w in lists]
            members: dict[int, list[str]] = {i: [] for i in ids}
            if ids:
                rows = conn.execute(
                    select(watchlist_symbols)
                    .where(watchlist_symbols.c.watchlist_id.in_(ids))
                    .order_by(watchlist_symbols.c.symbol)
                )
                for wid, symbol in rows:
                    members[wid].append(symbol)
        return [_watchlist_dict(w, members[w["id"]]) for w in lists]

    def get_watchlist(self, user_id: int, name: str) -> dict[str, Any] | None:
        """Return one of the user's watchlists, or None."""
        for item in self.list_watchlists(user_id):
            if item["name"] == name:
                return item
        return None

    def watchlist_members(self, user_id: int, name: str) -> list[str]:
        """Return a watchlist's sorted symbols (KeyError when the user has none)."""
        found = self.get_watchlist(user_id, name)
        if found is None:
            raise KeyError(f"unknown universe: watchlist:{name}")
        return found["symbols"]

    def put_watchlist(
        self, user_id: int, name: str, symbols: Sequence[str]
    ) -> tuple[dict[str, Any], bool]:
        """Create or replace a watchlist; return it and whether it was created."""
        now = utcnow()
        with self.engine.begin() as conn:
            wid = conn.execute(
                select(watchlists.c.id).where(
                    watchlists.c.user_id == user_id, watchlists.c.name == name
                )
            ).scalar()
            created = wid is None
            if created:
                wid = conn.execute(
                    watchlists.insert().values(
                        user_id=user_id, name=name, created_at=now, updated_at=now
                    )
                ).inserted_primary_key[0]
            else:
                conn.execute(
                    watchlists.update()
                    .where(watchlists.c.id == wid)
                    .values(updated_at=now)
                )
                conn.execute(
                    delete(watchlist_symbols).where(
                        watchlist_symbols.c.watchlist_id == wid
                    )
                )
            unique = sorted(set(symbols))
            if unique:
                conn.execute(
                    watchlist_symbols.insert(),
                    [{"watchlist_id": wid, "symbol": s} for s in unique],
                )
        return self.get_watchlist(user_id, name), created

    def delete_watchlist(self, user_id: int, name: str) -> bool:
        """Delete one of the user's watchlists; return whether it existed."""
        with self.engine.begin() as conn:
            wid = conn.execute(
                select(watchlists.c.id).where(
                    watchlists.c.user_id == user_id, watchlists.c.name == name
                )
            ).scalar()
            if wid is None:
                return False
            conn.execute(
                delete(watchlist_symbols).where(watchlist_symbols.c.watchlist_id == wid)
            )
            conn.execute(delete(watchlists).where(watchlists.c.id == wid))
        return True


def _watchlist_dict(row: dict[str, Any], symbols: list[str]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "symbols": symbols,
        "count": len(symbols),
        "created_at": aware(row["created_at"]),
        "updated_at": aware(row["updated_at"]),
    }

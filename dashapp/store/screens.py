"""Saved screener screens, one set per user: every read and write names its owner."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select

from dashapp.store.base import StoreBase, StoreError, utcnow
from dashapp.store.schema import saved_screens

SCREEN_COLUMNS = ("id", "name", "definition", "created_at")


class ScreensMixin(StoreBase):
    """Saved screens: list, save (create or replace by name) and delete per user."""

    def list_screens(self, user_id: int) -> list[dict[str, Any]]:
        """Return one user's saved screens, by name."""
        query = (
            select(*(saved_screens.c[c] for c in SCREEN_COLUMNS))
            .where(saved_screens.c.user_id == user_id)
            .order_by(saved_screens.c.name, saved_screens.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_screen(r) for r in rows]

    def save_screen(
        self, user_id: int, name: str, definition: str, max_screens: int
    ) -> tuple[dict[str, Any], bool]:
        """Create or replace a user's screen by name; return (screen, replaced)."""
        mine = saved_screens.c.user_id == user_id
        with self.engine.begin() as conn:
            found = conn.execute(
                select(saved_screens.c.id).where(mine, saved_screens.c.name == name)
            ).first()
            if found is not None:
                conn.execute(
                    saved_screens.update()
                    .where(saved_screens.c.id == found[0])
                    .values(definition=definition, created_at=utcnow())
                )
                screen_id, replaced = found[0], True
            else:
                count = conn.execute(
                    select(func.count()).select_from(saved_screens).where(mine)
                ).scalar_one()
                if count >= max_screens:
                    raise StoreError(f"at most {max_screens} saved screens per user")
                screen_id = conn.execute(
                    saved_screens.insert().values(
                        user_id=user_id,
                        name=name,
                        definition=definition,
                        created_at=utcnow(),
                    )
                ).inserted_primary_key[0]
                replaced = False
            row = (
                conn.execute(
                    select(*(saved_screens.c[c] for c in SCREEN_COLUMNS)).where(
                        saved_screens.c.id == screen_id
                    )
                )
                .mappings()
                .one()
            )
        return _screen(row), replaced

    def delete_screen(self, user_id: int, screen_id: int) -> bool:
        """Delete a screen of this user; return False when it is not theirs."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(saved_screens).where(
                    saved_screens.c.id == screen_id, saved_screens.c.user_id == user_id
                )
            )
        return result.rowcount > 0


def _screen(row: Any) -> dict[str, Any]:
    out = {str(k): v for k, v in row.items()}
    created = out.get("created_at")
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    if isinstance(created, dt.datetime) and created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    out["created_at"] = created
    return out

"""Users, API tokens and login sessions.

Core expressions (parameterised) so DateTime columns round-trip the same on
SQLite and PostgreSQL; `_aware` restores UTC on SQLite's naive values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select

from dashapp.store.base import StoreBase, StoreError, utcnow
from dashapp.store.schema import ROLES, api_tokens, auth_sessions, users


class AccountsMixin(StoreBase):
    """Users, tokens and sessions."""

    def create_user(self, username: str, password_hash: str, role: str) -> int:
        """Insert a user; return its id (raises StoreError if the name is taken)."""
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}")
        with self.engine.begin() as conn:
            taken = conn.execute(
                select(users.c.id).where(users.c.username == username)
            ).first()
            if taken:
                raise StoreError(f"user {username!r} already exists")
            return conn.execute(
                users.insert().values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    disabled=False,
                    failed_logins=0,
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]

    def get_user(
        self, user_id: int | None = None, username: str | None = None
    ) -> dict[str, Any] | None:
        """Return one user row as a dict (by id or by username), or None."""
        where = users.c.id == user_id if user_id is not None else None
        if username is not None:
            where = users.c.username == username
        if where is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(where)).mappings().first()
        return _user_dict(row) if row else None

    def list_users(self) -> list[dict[str, Any]]:
        """Return every user (without password hashes), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.id)).mappings().all()
        out = []
        for row in rows:
            user = _user_dict(row)
            user.pop("password_hash")
            out.append(user)
        return out

    def count_users(self, role: str | None = None) -> int:
        """Return how many (enabled, when role is given) users exist."""
        query = select(func.count()).select_from(users)
        if role is not None:
            query = query.where(users.c.role == role, users.c.disabled.is_(False))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def update_user(self, user_id: int, **values: Any) -> bool:
        """Update columns of one user; return whether it exists."""
        allowed = {"password_hash", "role", "disabled", "failed_logins", "locked_until"}
        unknown = set(values) - allowed
        if unknown:
            raise StoreError(f"cannot update user columns {sorted(unknown)}")
        if "role" in values and values["role"] not in ROLES:
            raise StoreError(f"unknown role {values['role']!r}")
        with self.engine.begin() as conn:
            result = conn.execute(
                users.update().where(users.c.id == user_id).values(**values)
            )
        return result.rowcount > 0

    def record_login_failure(
        self, user_id: int, max_failures: int, lock_for: dt.timedelta
    ) -> dict[str, Any]:
        """Count a failed login atomically; lock the account at `max_failures`."""
        with self.engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(failed_logins=users.c.failed_logins + 1)
            )
            failures = conn.execute(
                select(users.c.failed_logins).where(users.c.id == user_id)
            ).scalar_one()
            locked_until = None
            if failures >= max_failures:
                locked_until = utcnow() + lock_for
                conn.execute(
                    users.update()
                    .where(users.c.id == user_id)
                    .values(failed_logins=0, locked_until=locked_until)
                )
        return {"failed_logins": failures, "locked_until": locked_until}

    def create_token(self, user_id: int, name: str, token_hash: str) -> int:
        """Store a new API token hash for a user; return its id."""
        with self.engine.begin() as conn:
            return conn.execute(
                api_tokens.insert().values(
                    user_id=user_id, name=name, token_hash=token_hash,
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]  # fmt: skip

    def token_principal(self, token_hash: str) -> dict[str, Any] | None:
        """Return token and owner fields for a token hash (revoked ones included)."""
        return self._with_owner(
            api_tokens,
            api_tokens.c.token_hash == token_hash,
            (
                api_tokens.c.id.label("token_id"),
                api_tokens.c.name.label("token_name"),
                api_tokens.c.revoked_at,
                users.c.id.label("user_id"),
            ),
            ("revoked_at",),
        )

    def list_tokens(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Return API tokens (never their hashes) with their owner's name."""
        query = (
            select(
                api_tokens.c.id,
                api_tokens.c.name,
                users.c.username.label("user"),
                api_tokens.c.created_at,
                api_tokens.c.last_used_at,
                api_tokens.c.revoked_at,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(api_tokens.c.id)
        )
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {str(k): _aware(v) if k.endswith("_at") else v for k, v in r.items()}
            for r in rows
        ]

    def revoke_token(self, token_id: int) -> bool:
        """Mark a token revoked; return False when it does not exist."""
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(api_tokens.c.id).where(api_tokens.c.id == token_id)
            ).first()
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return exists is not None

    def touch_token(self, token_id: int) -> None:
        """Record that a token was just used."""
        with self.engine.begin() as conn:
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id)
                .values(last_used_at=utcnow())
            )

    def create_session(self, session_hash: str, user_id: int, ip: str | None) -> None:
        """Record a new login session (keyed by the hash of its id)."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(
                auth_sessions.insert().values(
                    id=session_hash, user_id=user_id, created_at=now,
                    last_seen_at=now, ip=(ip or "")[:64],
                )
            )  # fmt: skip

    def get_session(self, session_hash: str) -> dict[str, Any] | None:
        """Return a session joined with its user's role and state, or None."""
        return self._with_owner(
            auth_sessions,
            auth_sessions.c.id == session_hash,
            (
                auth_sessions.c.user_id,
                auth_sessions.c.created_at,
                auth_sessions.c.last_seen_at,
                auth_sessions.c.revoked_at,
            ),
            ("created_at", "last_seen_at", "revoked_at"),
        )

    def touch_session(self, session_hash: str) -> None:
        """Move a session's last-seen time to now (idle timeout)."""
        with self.engine.begin() as conn:
            conn.execute(
                auth_sessions.update()
                .where(auth_sessions.c.id == session_hash)
                .values(last_seen_at=utcnow())
            )

    def revoke_sessions(
        self, session_hash: str | None = None, user_id: int | None = None
    ) -> int:
        """Revoke one session, or every session of a user; return how many."""
        where = []
        if session_hash is not None:
            where.append(auth_sessions.c.id == session_hash)
        if user_id is not None:
            where.append(auth_sessions.c.user_id == user_id)
        if not where:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(
                auth_sessions.update()
                .where(*where, auth_sessions.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount

    def prune_sessions(self, created_before: dt.datetime) -> int:
        """Delete login sessions created before a time (all expired); return count."""
        with self.engine.begin() as conn:
            return conn.execute(
                auth_sessions.delete().where(
                    auth_sessions.c.created_at < created_before
                )
            ).rowcount

    def _with_owner(
        self,
        table: Table,
        where: ColumnElement[bool],
        columns: tuple[Any, ...],
        times: tuple[str, ...],
    ) -> dict[str, Any] | None:
        """Return one row of `table` joined with its owner's name, role and state."""
        query = (
            select(*columns, users.c.username, users.c.role, users.c.disabled)
            .join(users, users.c.id == table.c.user_id)
            .where(where)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        out = _plain_keys(row)
        for key in times:
            out[key] = _aware(out[key])
        out["disabled"] = bool(out["disabled"])
        return out


def _aware(value: Any) -> Any:
    """Return a datetime as timezone-aware UTC (SQLite returns naive values)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _plain_keys(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a row mapping as a dict with plain `str` keys (not quoted_name)."""
    return {str(k): v for k, v in row.items()}


def _user_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    user = _plain_keys(row)
    user["disabled"] = bool(user["disabled"])
    user["locked_until"] = _aware(user["locked_until"])
    user["created_at"] = _aware(user["created_at"])
    return user

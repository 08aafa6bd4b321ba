"""Who a request acts as: the roles, the `Principal` record, user look-up errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashapp.store import Store

ADMIN = "admin"
USER = "user"
# Write last-seen times at most this often: the idle timeout is in minutes, and a
# write per Dash poll would serialise every reader behind the database writer.
TOUCH_SECONDS = 60


class AuthError(ValueError):
    """A user or token operation cannot be done (unknown name, bad input...)."""


@dataclass(frozen=True)
class Principal:
    """Who is making the request and how they proved it."""

    user_id: int
    username: str
    role: str
    via: str  # "session" or "token"
    token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        """Return whether the principal has the admin role."""
        return self.role == ADMIN

    @property
    def rate_key(self) -> str:
        """Return the rate-limit key for this principal."""
        return f"user:{self.user_id}"


def require_user(store: Store, username: str) -> dict[str, Any]:
    """Return the user row for a name, or raise AuthError."""
    user = store.get_user(username=username)
    if user is None:
        raise AuthError(f"no user named {username!r}")
    return user

"""User accounts: create users, reset passwords, change roles, disable, first admin."""

from __future__ import annotations

import logging
import re

from dashapp.auth.passwords import PasswordRejected, hash_password
from dashapp.auth.principal import ADMIN, USER, AuthError, require_user
from dashapp.auth.sessions import clear_session_cache
from dashapp.auth.tokens import clear_token_cache
from dashapp.settings import Settings
from dashapp.store import ROLES, Store, StoreError

log = logging.getLogger(__name__)
audit = logging.getLogger("tickstock.audit")

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def validate_username(username: str) -> str:
    """Return the username if it is well formed, else raise AuthError."""
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise AuthError(
            "username must be 1-64 characters: letters, digits, _ . @ - "
            "(starting with a letter or digit)"
        )
    return username


def create_user(store: Store, username: str, password: str, role: str = USER) -> int:
    """Create a user with a checked, argon2id-hashed password; return its id."""
    validate_username(username)
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    password_hash = hash_password(password, username)
    try:
        user_id = store.create_user(username, password_hash, role)
    except StoreError as exc:
        raise AuthError(str(exc)) from None
    audit.info("audit: user created: %s (role %s)", username, role)
    return user_id


def set_password(store: Store, username: str, password: str) -> None:
    """Replace a user's password, unlock the account and end its sessions."""
    user = require_user(store, username)
    store.update_user(
        user["id"],
        password_hash=hash_password(password, username),
        failed_logins=0,
        locked_until=None,
    )
    store.revoke_sessions(user_id=user["id"])
    clear_session_cache()
    audit.info("audit: password reset: %s", username)


def set_role(store: Store, username: str, role: str) -> None:
    """Change a user's role (never leaving the app without an enabled admin)."""
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    user = require_user(store, username)
    if user["role"] == ADMIN and role != ADMIN and not user["disabled"]:
        _ensure_other_admin(store)
    store.update_user(user["id"], role=role)
    clear_token_cache()
    clear_session_cache()
    audit.info("audit: role changed: %s -> %s", username, role)


def set_disabled(store: Store, username: str, disabled: bool) -> None:
    """Disable (ending its sessions) or enable a user."""
    user = require_user(store, username)
    if disabled and user["role"] == ADMIN and not user["disabled"]:
        _ensure_other_admin(store)
    store.update_user(
        user["id"], disabled=disabled, **({} if disabled else {"failed_logins": 0})
    )
    if disabled:
        store.revoke_sessions(user_id=user["id"])
    clear_token_cache()
    clear_session_cache()
    audit.info("audit: user %s: %s", "disabled" if disabled else "enabled", username)


def _ensure_other_admin(store: Store) -> None:
    if store.count_users(role=ADMIN) <= 1:
        raise AuthError("refusing: this is the last enabled admin")


def ensure_first_admin(store: Store, settings: Settings) -> bool:
    """Create user `admin` from TICKSTOCK_ADMIN_PASSWORD when there is no user."""
    if not settings.admin_password or store.count_users() > 0:
        return False
    try:
        create_user(store, "admin", settings.admin_password, ADMIN)
    except (PasswordRejected, AuthError) as exc:
        log.error("TICKSTOCK_ADMIN_PASSWORD not used: %s", exc)
        return False
    log.info("created the first admin user 'admin' from TICKSTOCK_ADMIN_PASSWORD")
    return True

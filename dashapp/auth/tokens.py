"""API tokens: issue, revoke and resolve `Authorization: Bearer tst_...` tokens.

Tokens are random 256-bit strings stored as SHA-256 hashes and carry their
owner's role. A look-up is cached briefly per process.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time

from dashapp.auth.principal import TOUCH_SECONDS, AuthError, Principal, require_user
from dashapp.store import Store

audit = logging.getLogger("tickstock.audit")

TOKEN_NAME_RE = re.compile(r"^[A-Za-z0-9_ .@-]{1,64}$")
TOKEN_PREFIX = "tst_"
TOKEN_RE = re.compile(r"^tst_[A-Za-z0-9_-]{43}$")
TOKEN_BYTES = 32
# A token look-up is cached this long per process; a revocation made in this
# process clears the cache at once, one made in another worker applies within it.
TOKEN_CACHE_SECONDS = 5.0

_token_cache: dict[tuple[str, str], tuple[float, Principal | None]] = {}
_token_cache_lock = threading.Lock()
_token_touched: dict[int, float] = {}


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(store: Store, username: str, name: str) -> tuple[int, str]:
    """Create an API token for a user; return (id, the token shown only once)."""
    if not isinstance(name, str) or not TOKEN_NAME_RE.fullmatch(name):
        raise AuthError("token name must be 1-64 letters, digits, spaces, _ . @ -")
    user = require_user(store, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token_id = store.create_token(user["id"], name, hash_token(token))
    audit.info("audit: token issued: #%s %r for %s", token_id, name, username)
    return token_id, token


def revoke_token(store: Store, token_id: int) -> bool:
    """Revoke a token by id (effective at once in this process)."""
    found = store.revoke_token(token_id)
    clear_token_cache()
    if found:
        audit.info("audit: token revoked: #%s", token_id)
    return found


def clear_token_cache() -> None:
    """Forget cached token look-ups (after a revocation or role change)."""
    with _token_cache_lock:
        _token_cache.clear()


def token_principal(store: Store, token: str) -> Principal | None:
    """Return the principal for a bearer token, or None if unknown/revoked."""
    if not TOKEN_RE.fullmatch(token):
        return None
    digest = hash_token(token)
    key = (store.url, digest)
    now = time.monotonic()
    with _token_cache_lock:
        hit = _token_cache.get(key)
    if hit is not None and hit[0] > now:
        principal = hit[1]
    else:
        row = store.token_principal(digest)
        principal = None
        if row and row["revoked_at"] is None and not row["disabled"]:
            principal = Principal(
                row["user_id"], row["username"], row["role"], "token", row["token_id"]
            )
        with _token_cache_lock:
            _token_cache[key] = (now + TOKEN_CACHE_SECONDS, principal)
    if principal is not None and principal.token_id is not None:
        last = _token_touched.get(principal.token_id, 0.0)
        if now - last > TOUCH_SECONDS:
            _token_touched[principal.token_id] = now
            store.touch_token(principal.token_id)
    return principal

"""What the Login page needs from the auth layer: paths, field names, the principal.

The page posts a plain HTML form to `LOGIN_POST`; the auth layer checks it.
"""

from __future__ import annotations

from dashapp.auth import (
    CSRF_FIELD,
    LOGIN_FAILED,
    LOGIN_PATH,
    LOGIN_POST,
    MAX_PASSWORD_LENGTH,
    csrf_token,
    current_principal,
    safe_next,
)

__all__ = [
    "CSRF_FIELD",
    "LOGIN_FAILED",
    "LOGIN_PATH",
    "LOGIN_POST",
    "MAX_PASSWORD_LENGTH",
    "csrf_token",
    "current_principal",
    "safe_next",
]

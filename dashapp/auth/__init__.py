"""Authentication and authorization: session login, API tokens, roles, CSRF.

* Browser users log in on `/login` (a plain HTML form posting to `/auth/login`):
  `login` checks credentials, `sessions` keeps the server-side login session.
* REST consumers send `Authorization: Bearer tst_...` on `/api` (`tokens`).
* Roles are dash-auth groups, enforced by the gatekeeper in `gate`.
* `users` and `passwords` manage accounts; `navbar` shows the user menu.

The names below are re-exported so `from dashapp import auth; auth.create_user`
keeps working; new code imports from the submodule that defines a name.
"""

from __future__ import annotations

from dashapp.auth.gate import (
    ALWAYS_OPEN,
    DASH_CALLBACK_PATH,
    DASH_SHELL_PATHS,
    LOGIN_PATH,
    LOGIN_POST,
    LOGOUT_POST,
    PAGES_LOCATION,
    PAGES_ROUTING_OUTPUT,
    PUBLIC_CALLBACK_OUTPUTS,
    PUBLIC_ROUTES,
    SAFE_METHODS,
    SessionAuth,
    safe_next,
)
from dashapp.auth.login import (
    LOGIN_FAILED,
    authenticate,
    bp,
    install_auth,
    login,
    logout,
)
from dashapp.auth.navbar import nav_logout, nav_user_menu, role_pages
from dashapp.auth.passwords import (
    ARGON2_MEMORY_KIB,
    ARGON2_PARALLELISM,
    ARGON2_TIME_COST,
    MAX_PASSWORD_LENGTH,
    MIN_DISTINCT_CHARS,
    MIN_PASSWORD_LENGTH,
    PasswordRejected,
    common_passwords,
    hash_password,
    password_problem,
    verify_password,
)
from dashapp.auth.principal import (
    ADMIN,
    TOUCH_SECONDS,
    USER,
    AuthError,
    Principal,
    require_user,
)
from dashapp.auth.responses import json_error
from dashapp.auth.sessions import (
    CSRF_BYTES,
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SESSION_ID_BYTES,
    client_ip,
    csrf_ok,
    csrf_token,
    current_principal,
    end_session,
    session_principal,
    set_csrf_cookie,
    start_session,
)
from dashapp.auth.tokens import (
    TOKEN_BYTES,
    TOKEN_CACHE_SECONDS,
    TOKEN_NAME_RE,
    TOKEN_PREFIX,
    TOKEN_RE,
    clear_token_cache,
    hash_token,
    issue_token,
    revoke_token,
    token_principal,
)
from dashapp.auth.users import (
    USERNAME_RE,
    create_user,
    ensure_first_admin,
    set_disabled,
    set_password,
    set_role,
    validate_username,
)
from dashapp.store import utcnow

__all__ = [
    "ADMIN",
    "ALWAYS_OPEN",
    "ARGON2_MEMORY_KIB",
    "ARGON2_PARALLELISM",
    "ARGON2_TIME_COST",
    "CSRF_BYTES",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "DASH_CALLBACK_PATH",
    "DASH_SHELL_PATHS",
    "LOGIN_FAILED",
    "LOGIN_PATH",
    "LOGIN_POST",
    "LOGOUT_POST",
    "MAX_PASSWORD_LENGTH",
    "MIN_DISTINCT_CHARS",
    "MIN_PASSWORD_LENGTH",
    "PAGES_LOCATION",
    "PAGES_ROUTING_OUTPUT",
    "PUBLIC_CALLBACK_OUTPUTS",
    "PUBLIC_ROUTES",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "SESSION_ID_BYTES",
    "TOKEN_BYTES",
    "TOKEN_CACHE_SECONDS",
    "TOKEN_NAME_RE",
    "TOKEN_PREFIX",
    "TOKEN_RE",
    "TOUCH_SECONDS",
    "USER",
    "USERNAME_RE",
    "AuthError",
    "PasswordRejected",
    "Principal",
    "SessionAuth",
    "authenticate",
    "bp",
    "clear_token_cache",
    "client_ip",
    "common_passwords",
    "create_user",
    "csrf_ok",
    "csrf_token",
    "current_principal",
    "end_session",
    "ensure_first_admin",
    "hash_password",
    "hash_token",
    "install_auth",
    "issue_token",
    "json_error",
    "login",
    "logout",
    "nav_logout",
    "nav_user_menu",
    "password_problem",
    "require_user",
    "revoke_token",
    "role_pages",
    "safe_next",
    "session_principal",
    "start_session",
    "set_csrf_cookie",
    "set_disabled",
    "set_password",
    "set_role",
    "token_principal",
    "utcnow",
    "validate_username",
    "verify_password",
]

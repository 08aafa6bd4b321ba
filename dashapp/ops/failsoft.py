"""Fail soft while the database is away: 503 for the API, last data for the pages.

`DatabaseState` keeps a cheap, cached "is the database up" flag. Requests that
hit a connection error mark it down (one log line per transition); while it is
down, one caller at a time probes the database every `PROBE_INTERVAL_S`, so the
app is back within a second or two of the database returning (the engine's
`pool_pre_ping` drops connections that died with it).

`install_failsoft(server, store, unexpected)` wires it into the Flask server:

- `/api/*` answers `503 database_unavailable` with `Retry-After` while down;
- a database error anywhere else answers 503 (204, "no update", for Dash
  callbacks) instead of a 500 with a traceback;
- logged-in sessions seen recently keep working while the database cannot
  confirm them, so pages keep polling and show the outage banner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, request, session

from dashapp.auth.gate import DASH_CALLBACK_PATH, LOGOUT_POST
from dashapp.auth.responses import json_error
from dashapp.auth.sessions import current_principal

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 0.5
RETRY_AFTER_S = 2
KNOWN_PRINCIPAL_TTL_S = 900.0
KNOWN_PRINCIPAL_MAX = 10_000
CAUSE_DEPTH = 6
EXTENSION = "tickstock_dbstate"
API_PREFIX = "/api/"
NO_PRINCIPAL_PATHS = frozenset({"/health", "/ready"})  # the auth gate skips them
# Driver messages that mean "cannot reach the database", not "bad statement".
UNAVAILABLE_HINTS = (
    "connection",
    "server closed",
    "could not connect",
    "connect_timeout",
    "timed out",
    "terminating",
    "shutting down",
    "starting up",
    "unable to open database",
    "database is locked",
    "ssl syscall",
    "eof detected",
    "network",
)


def is_db_unavailable(exc: BaseException | None) -> bool:
    """Return True when an exception (or its cause) means the database is away."""
    import sqlalchemy.exc as sa_exc

    seen = 0
    while exc is not None and seen < CAUSE_DEPTH:
        if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        name = type(exc).__name__
        if isinstance(exc, sa_exc.InterfaceError | ConnectionError) or (
            name == "InterfaceError"
        ):
            return True
        if isinstance(exc, sa_exc.OperationalError) or name == "OperationalError":
            text = str(exc).lower()  # also "no such table", "statement timeout"...
            if any(hint in text for hint in UNAVAILABLE_HINTS):
                return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class DatabaseState:
    """A cached up/down flag for one store, probed at most every `probe_interval`."""

    def __init__(self, store: Any, probe_interval: float = PROBE_INTERVAL_S) -> None:
        self.store = store
        self.probe_interval = probe_interval
        self.up = True
        self.down_since: float | None = None
        self.last_error = ""
        self.outages = 0
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()

    def available(self) -> bool:
        """Return True when up; while down, probe (rate-limited) for its return."""
        return True if self.up else self.check()

    def check(self) -> bool:
        """Probe the database unless probed within the interval; return the state."""
        if time.monotonic() - self._checked_at < self.probe_interval:
            return self.up
        if not self._probe_lock.acquire(blocking=False):
            return self.up  # another thread is probing: use the cached answer
        try:
            if time.monotonic() - self._checked_at < self.probe_interval:
                return self.up
            try:
                self.store.ping()
            except Exception as exc:  # any failure of SELECT 1 means not usable
                self.mark_down(exc)
            else:
                self.mark_up()
        finally:
            self._checked_at = time.monotonic()
            self._probe_lock.release()
        return self.up

    def mark_down(self, exc: BaseException) -> None:
        """Record a failed database call; log only the transition to down."""
        with self._lock:
            self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            self._checked_at = time.monotonic()
            if not self.up:
                return
            self.up = False
            self.down_since = time.time()
            self.outages += 1
        log.warning(
            "database unavailable (%s); answering 503 and probing every %.1f s",
            self.last_error,
            self.probe_interval,
        )

    def note(self, exc: BaseException) -> bool:
        """Mark the database down when `exc` is an outage; return whether it was."""
        if not is_db_unavailable(exc):
            return False
        self.mark_down(exc)
        return True

    def mark_up(self) -> None:
        """Record a successful probe; log only the transition back to up."""
        with self._lock:
            if self.up:
                return
            down_for = time.time() - (self.down_since or time.time())
            self.up = True
            self.down_since = None
        log.warning("database available again after %.1f s", down_for)

    def detail(self) -> str:
        """Return a short description of the outage for readiness and 503 bodies."""
        if self.up:
            return "database reachable"
        return f"database unreachable: {self.last_error.split(':', 1)[0]}"


def current_state() -> DatabaseState | None:
    """Return the active app's database state (None outside an app or uninstalled)."""
    if not has_app_context():
        return None
    return current_app.extensions.get(EXTENSION)


def database_available() -> bool:
    """Return whether the active app's database is usable (True when unknown)."""
    state = current_state()
    return True if state is None else state.available()


def note_db_error(exc: BaseException) -> bool:
    """Mark the database down when `exc` is an outage; return whether it was."""
    if not is_db_unavailable(exc):
        return False
    state = current_state()
    if state is not None:
        state.note(exc)
    return True


def unavailable_response(state: DatabaseState | None) -> Response:
    """Return the API's 503 `database_unavailable` error with Retry-After."""
    since = None
    if state is not None and state.down_since is not None:
        since = dt.datetime.fromtimestamp(state.down_since, dt.UTC).isoformat()
    response = json_error(
        503,
        "database_unavailable",
        "the database is unavailable; retry shortly",
        retry_after=RETRY_AFTER_S,
        down_since=since,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    response.headers["Cache-Control"] = "no-store"
    return response


class KnownPrincipals:
    """Principals recently confirmed by the database, keyed by a credential hash."""

    def __init__(self, ttl: float = KNOWN_PRINCIPAL_TTL_S) -> None:
        self.ttl = ttl
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(credential: str) -> str:
        """Return the hash a credential is remembered under."""
        return hashlib.sha256(credential.encode()).hexdigest()

    def remember(self, credential: str, principal: Any) -> None:
        """Remember that `credential` belonged to `principal` just now."""
        key = self.key(credential)
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, principal)
            self._items.move_to_end(key)
            while len(self._items) > KNOWN_PRINCIPAL_MAX:
                self._items.popitem(last=False)

    def forget(self, credential: str) -> None:
        """Drop a credential (its session ended)."""
        with self._lock:
            self._items.pop(self.key(credential), None)

    def recall(self, credential: str) -> Any:
        """Return the principal confirmed for `credential` within the TTL, or None."""
        with self._lock:
            hit = self._items.get(self.key(credential))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]


known_principals = KnownPrincipals()


def scrape_fallback(exc: BaseException, credential: str | None) -> bool:
    """Decide a /metrics scrape the database could not check: allow known ones."""
    if not note_db_error(exc):
        raise exc
    return bool(credential) and known_principals.recall(credential) is not None


def _session_credential() -> str | None:
    sid = session.get("sid")
    return f"sid:{sid}" if isinstance(sid, str) else None


def _recall_session_principal() -> None:
    credential = g.get("_failsoft_credential")
    principal = known_principals.recall(credential) if credential else None
    if principal is not None:
        g.principal = principal  # the auth gate uses it instead of the database


def _before() -> Response | None:
    state: DatabaseState = current_app.extensions[EXTENSION]
    path = request.path
    g._failsoft_credential = _session_credential()
    if path.startswith(API_PREFIX) and not state.available():
        return unavailable_response(state)
    if path in NO_PRINCIPAL_PATHS or "tickstock_auth" not in current_app.extensions:
        return None
    if not state.available():
        _recall_session_principal()
        return None
    try:  # resolve the user here, where an outage can still be answered softly
        current_principal()
    except Exception as exc:
        if not state.note(exc):
            raise
        if path.startswith(API_PREFIX):
            return unavailable_response(state)
        _recall_session_principal()
    return None


def _after(response: Response) -> Response:
    credential = g.get("_failsoft_credential")
    if not credential or "principal" not in g:
        return response
    principal = g.principal
    if principal is None or request.path == LOGOUT_POST:
        known_principals.forget(credential)  # ended sessions never fall back
    elif getattr(principal, "via", "") == "session":
        known_principals.remember(credential, principal)
    return response


def _db_error(exc: Exception, unexpected: Callable[[Exception], Any]) -> Any:
    if not is_db_unavailable(exc):
        return unexpected(exc)
    state: DatabaseState = current_app.extensions[EXTENSION]
    state.mark_down(exc)
    if request.path.startswith("/api"):
        return unavailable_response(state)
    if request.path == DASH_CALLBACK_PATH:
        return Response(status=204)  # Dash: no update, the page keeps its data
    return Response(
        "database unavailable, retrying",
        status=503,
        mimetype="text/plain",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install_failsoft(
    server: Flask, store: Any, unexpected: Callable[[Exception], Any]
) -> DatabaseState:
    """Attach the database state and its request hooks to a Flask server.

    `unexpected` answers database errors that are not an outage (the app's
    handler of unexpected errors).
    """
    import sqlalchemy.exc as sa_exc

    def db_error(exc: Exception) -> Any:
        return _db_error(exc, unexpected)

    state = DatabaseState(store)
    server.extensions[EXTENSION] = state
    # Before the auth gate: an outage must not turn into a 500 while resolving users.
    server.before_request_funcs.setdefault(None, []).insert(0, _before)
    server.after_request(_after)
    server.register_error_handler(sa_exc.SQLAlchemyError, db_error)
    try:
        import psycopg

        server.register_error_handler(psycopg.Error, db_error)
    except ImportError:  # SQLite-only installs
        pass
    return state

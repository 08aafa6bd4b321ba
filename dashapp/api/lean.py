"""Trim Flask's fixed per-request work that serves no purpose in this app (issue 16).

* `LeanSessionInterface`: a request without a session cookie (every bearer-token
  API call) gets an empty session without building the itsdangerous signer, and
  an untouched empty session is not "saved". Same results as Flask's interface.
* `memoise_ensure_sync`: Flask asks `inspect.iscoroutinefunction` of every hook
  and view on every request (16 times for an API call); the answer for a given
  function never changes, so it is remembered.
* `only_on_path`: flask-limiter's after-request and teardown hooks only matter
  where its own check runs (the login form).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

ENSURE_SYNC_MEMO_MAX = 4_096


class LeanSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the signer for cookie-less requests."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        """Return an empty session at once when the request has no session cookie."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(
        self, app: Flask, session: SessionMixin, response: Response
    ) -> None:
        """Skip the cookie work for a session that is empty and was not changed."""
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def memoise_ensure_sync(server: Flask) -> None:
    """Remember `server.ensure_sync(f)` per function (bounded, for partials)."""
    original = server.ensure_sync
    memo: dict[Any, Callable[..., Any]] = {}

    def ensure_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return memo[func]
        except KeyError:
            pass
        except TypeError:  # unhashable callable
            return original(func)
        if len(memo) >= ENSURE_SYNC_MEMO_MAX:
            memo.clear()
        memo[func] = result = original(func)
        return result

    server.ensure_sync = ensure_sync  # type: ignore[method-assign]


def only_on_path(path: str, hook: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an after-request or teardown hook to run on `path` only."""

    def wrapped(arg: Any = None) -> Any:
        if request.path == path:
            return hook(arg)
        return arg

    return wrapped

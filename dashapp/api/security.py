"""Security wiring for the web app: headers, CSP, CORS, rate limits, auth, REST.

`install(app, settings)` is called once by `build_dash` after the layout and
callbacks are in place (the CSP hashes Dash's inline scripts):

* CSP: scripts only from this origin plus the SHA-256 of Dash's inline scripts
  (the renderer bootstrap `new DashRenderer()` and inline clientside callbacks,
  re-hashed when Dash adds one); no 'unsafe-inline' or 'unsafe-eval' for scripts;
  `_dash-config` is a JSON data block, which CSP does not treat as a script.
  Styles allow 'unsafe-inline' because Dash, Plotly and React set style attributes;
  the external stylesheet hosts (Bootstrap theme and icons) are allowed for
  styles and fonts only.
* nosniff, frame-ancestors 'none' (+ X-Frame-Options DENY), Referrer-Policy,
  Permissions-Policy, COOP; HSTS when the request is HTTPS or Secure cookies are on.
* CORS on /api only, for the configured origins (no credentials: cross-origin
  callers use bearer tokens).
* Rate limits per user (or token owner) and per IP on /api (`ratelimit`, one
  hook on flask-limiter's strategy) and per IP on the login form (flask-limiter);
  Redis storage when REDIS_URL is set; 429 in the JSON error shape with
  Retry-After.
"""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import urlsplit

import dash
from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from limits.storage import MemoryStorage

from dashapp import auth
from dashapp.api import openapi
from dashapp.api.lean import LeanSessionInterface, memoise_ensure_sync, only_on_path
from dashapp.api.ratelimit import (
    LIMITER_PREFIX,
    ApiRateLimit,
    ip_key,
    rate_limited_response,
)
from dashapp.api.routes import install_api
from dashapp.settings import Settings

HSTS = "max-age=31536000; includeSubDomains"
REFERRER_POLICY = "strict-origin-when-cross-origin"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, If-None-Match"
CORS_EXPOSE = "ETag, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining"
CORS_MAX_AGE = "600"
MAX_BODY_BYTES = 4 * 1024 * 1024
LIMITER_STORAGE_PREFIX = "ratelimit"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def script_hashes(app: dash.Dash) -> list[str]:
    """Return CSP hashes of Dash's inline scripts (as `Dash.csp_hashes` does)."""
    scripts = [*app._inline_scripts, app.renderer]
    return [
        "'sha256-"
        + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
        + "'"
        for s in scripts
    ]


def build_csp(app: dash.Dash) -> str:
    """Return the Content-Security-Policy for the app's pages."""
    external = [
        s if isinstance(s, str) else s.get("href", "")
        for s in app.config.external_stylesheets
    ]
    style_hosts = sorted({o for o in map(_origin, external) if o})
    scripts = [
        s if isinstance(s, str) else s.get("src", "")
        for s in app.config.external_scripts
    ]
    script_hosts = sorted({o for o in map(_origin, scripts) if o})
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes(app), *script_hosts],
        "style-src": ["'self'", "'unsafe-inline'", *style_hosts],
        "font-src": ["'self'", "data:", *style_hosts],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


class CspCache:
    """The app's CSP, rebuilt when Dash adds inline scripts.

    Dash registers the page-title clientside callback on the first request, so a
    policy computed at start-up would miss its hash.
    """

    def __init__(self, app: dash.Dash) -> None:
        self.app = app
        self._count = -1
        self._policy = ""

    def policy(self) -> str:
        """Return the current policy."""
        count = len(self.app._inline_scripts)
        if count != self._count:
            self._policy = build_csp(self.app)
            self._count = count
        return self._policy


API_CSP = "default-src 'none'; frame-ancestors 'none'"
STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", REFERRER_POLICY),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def _security_headers(app: dash.Dash, settings: Settings):
    csp: list[str] = []

    def after(response: Response) -> Response:
        if not csp:
            # Dash registers some inline scripts (e.g. the pages title callback)
            # only when it serves its first request: hash them after that.
            csp.append(build_csp(app))
        headers = response.headers
        # What six setdefault calls do, with one scan of the headers instead of 12.
        present = {key.lower() for key, _value in headers.items()}
        wanted = [*STATIC_HEADERS]
        policy = csp[0] if response.mimetype == "text/html" else API_CSP
        wanted.append(("Content-Security-Policy", policy))
        if settings.secure_cookies or request.is_secure:
            wanted.append(("Strict-Transport-Security", HSTS))
        for key, value in wanted:
            if key.lower() not in present:
                headers.add(key, value)
        return response

    return after


def _cors(settings: Settings):
    allowed = set(settings.cors_origins) | set(settings.websocket_cors_origins)
    allow_any = "*" in allowed

    def after(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not origin or not request.path.startswith("/api/"):
            return response
        response.vary.add("Origin")
        if not (allow_any or origin in allowed):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if allow_any else origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
        return response

    return after


class LeanMemoryStorage(MemoryStorage):
    """limits' in-process storage without a timer thread per expiry check.

    `MemoryStorage` starts a `threading.Timer` on every increment whose previous
    timer has finished, i.e. up to a hundred threads a second under load; here
    expired keys are swept inline at most once a second instead (reads already
    ignore expired counters).
    """

    STORAGE_SCHEME = ["tickstock-memory"]
    SWEEP_SECONDS = 1.0
    _swept = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (overrides)
        now = time.monotonic()
        if now - self._swept >= self.SWEEP_SECONDS:
            self._swept = now
            self._MemoryStorage__expire_events()


LIMITER_HOOKS = (Limiter._Limiter__inject_headers, Limiter._Limiter__release_context)


def make_limiter(server: Flask, settings: Settings) -> Limiter:
    """Create the limiter (Redis storage when configured, memory otherwise)."""
    limiter = Limiter(
        key_func=ip_key,
        app=server,
        storage_uri=settings.redis_url or "tickstock-memory://",
        strategy="fixed-window",
        headers_enabled=False,  # the 429 handler writes Retry-After itself
        swallow_errors=True,  # a Redis outage must not take the API down
        in_memory_fallback_enabled=bool(settings.redis_url),
        key_prefix=LIMITER_PREFIX,
        # Rate-limit counters live under REDIS_KEY_PREFIX like every other key.
        storage_options=(
            {"key_prefix": f"{settings.redis_key_prefix}{LIMITER_STORAGE_PREFIX}"}
            if settings.redis_url
            else {}
        ),
    )
    # flask-limiter guards the login form only: its per-request resolution of
    # limits costs ~0.1 ms, so the /api budgets have their own hook (ratelimit)
    # and its own hook runs for the login form only.
    check = limiter._check_request_limit
    hooks = server.before_request_funcs[None]

    def check_login() -> None:
        if request.path == auth.LOGIN_POST:
            check()

    hooks[hooks.index(check)] = check_login
    for funcs in (
        server.after_request_funcs[None],
        server.teardown_request_funcs[None],
    ):
        for i, hook in enumerate(funcs):
            underlying = getattr(hook, "func", None) or getattr(hook, "__func__", None)
            if underlying in LIMITER_HOOKS:
                funcs[i] = only_on_path(auth.LOGIN_POST, hook)
    return limiter


def limit_login(server: Flask, limiter: Limiter, settings: Settings) -> None:
    """Rate-limit login attempts per IP (route limits wrap the view function)."""
    endpoint = "auth.login"
    view = server.view_functions[endpoint]
    limited = limiter.limit(settings.rate_limit_login, key_func=ip_key)(view)
    server.view_functions[endpoint] = limited


def _rate_limited(limiter: Limiter):
    def handler(exc: RateLimitExceeded) -> Response:
        current = limiter.current_limit
        if current is not None:
            return rate_limited_response(current.limit, current.reset_at)
        limit = exc.limit.limit if getattr(exc, "limit", None) else exc.description
        return rate_limited_response(limit, time.time() + 1)

    return handler


def trust_proxies(server: Flask, count: int) -> None:
    """Take the client address and scheme from `count` trusted reverse proxies."""
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=count, x_proto=count)


def install(app: dash.Dash, settings: Settings) -> None:
    """Install the limiter, auth gatekeeper, REST API, CORS and security headers."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    server.session_interface = LeanSessionInterface()
    memoise_ensure_sync(server)
    trust_proxies(server, settings.trusted_proxies)
    # The limiter's check runs first so that refused requests count too.
    limiter = make_limiter(server, settings)
    server.extensions["tickstock_limiter"] = limiter
    api_limit = ApiRateLimit(
        limiter,
        settings.rate_limit_user,
        settings.rate_limit_ip,
        fallback=bool(settings.redis_url),
    )
    server.extensions["tickstock_api_limit"] = api_limit
    server.before_request(api_limit.check)
    auth.install_auth(app, settings)
    limit_login(server, limiter, settings)
    install_api(server)
    server.register_blueprint(openapi.bp)
    server.register_error_handler(RateLimitExceeded, _rate_limited(limiter))
    server.after_request(_cors(settings))
    server.after_request(_security_headers(app, settings))

"""Build the Dash multi-page app and mount the Flask blueprints on its server."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, clientside_callback, dcc, html
from dash import _callback as dash_callback

from dashapp.api import api_unexpected_error
from dashapp.api.security import install as install_security
from dashapp.ops.dashguard import install_dash_guard
from dashapp.ops.failsoft import install_failsoft
from dashapp.ops.health import bp as health_bp
from dashapp.settings import Settings
from dashapp.store import Store

ROOT = Path(__file__).resolve().parent.parent
_page_callbacks: tuple[dict, list, list] | None = None


def _import_pages() -> tuple[dict, list, list]:
    """Import every page module once and keep its callbacks for every app.

    Dash's `@callback` collects callbacks in globals that the first app to serve
    a request takes for itself; keeping a copy lets tests and the CLI build
    several apps in one process.
    """
    global _page_callbacks
    if _page_callbacks is None:
        import pages

        for info in pkgutil.iter_modules(pages.__path__):
            if not info.name.startswith("_"):
                module = importlib.import_module(f"pages.{info.name}")
                page = dash.page_registry.get(module.__name__)
                if page is not None and not page.get("supplied_layout"):
                    page["layout"] = module.layout
        _page_callbacks = (
            dict(dash_callback.GLOBAL_CALLBACK_MAP),
            list(dash_callback.GLOBAL_CALLBACK_LIST),
            list(dash_callback.GLOBAL_INLINE_SCRIPTS),
        )
    dash_callback.GLOBAL_CALLBACK_MAP.clear()
    dash_callback.GLOBAL_CALLBACK_LIST.clear()
    dash_callback.GLOBAL_INLINE_SCRIPTS.clear()
    return _page_callbacks


def _shell(settings: Settings) -> html.Div:
    from components.navbar import navbar

    return html.Div(
        [
            dcc.Store(id="theme-store", storage_type="local"),
            navbar(),
            dbc.Container(dash.page_container, fluid=True, className="pb-4"),
        ],
        id="app-shell",
    )


def build_dash(settings: Settings, store: Store, **extensions) -> dash.Dash:
    """Return a configured Dash app whose Flask server knows `store`."""
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ROOT / "assets"),
        external_stylesheets=[],  # Bootstrap + icons are vendored in assets/
        suppress_callback_exceptions=True,
        title="TickStock",
        update_title=None,
    )
    server = app.server
    server.config["SECRET_KEY"] = settings.secret_key
    server.extensions["tickstock_settings"] = settings
    server.extensions["tickstock_store"] = store
    for name, value in extensions.items():
        server.extensions[f"tickstock_{name}"] = value
    server.register_blueprint(health_bp)
    cb_map, cb_list, scripts = _import_pages()
    app.callback_map.update(cb_map)
    app._callback_list.extend(cb_list)
    app._inline_scripts.extend(scripts)
    app.layout = _shell(settings)
    install_security(app, settings)  # auth, REST API, CSP/headers, CORS, limits
    # 503 instead of 500 while the database is away; other errors: the API's handler
    install_failsoft(server, store, unexpected=api_unexpected_error)
    install_dash_guard(app)  # malformed callback bodies: 400, not 500
    return app


# Persist the light/dark choice in localStorage and apply it to <html>.
clientside_callback(
    """
    function(value) {
        document.documentElement.setAttribute(
            'data-bs-theme', value ? 'dark' : 'light');
        return value;
    }
    """,
    Output("theme-store", "data"),
    Input("theme-switch", "value"),
)
clientside_callback(
    """
    function(_path, stored) {
        return stored === true;
    }
    """,
    Output("theme-switch", "value"),
    Input("nav-location", "pathname"),
    dash.State("theme-store", "data"),
)
clientside_callback(
    """
    function(value) {
        const skip = window.dash_clientside.no_update;
        if (!value) { return [skip, skip]; }
        const sym = value.trim().toUpperCase();
        if (!/^[A-Z0-9.\\-]{1,12}$/.test(sym)) { return [skip, skip]; }
        return window.dash_clientside.tickstock.symbolLink(sym);
    }
    """,
    Output("nav-location", "pathname", allow_duplicate=True),
    Output("nav-location", "search", allow_duplicate=True),
    Input("nav-symbol-search", "value"),
    prevent_initial_call=True,
)

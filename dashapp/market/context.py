"""Access to the running app's store and settings from views and callbacks."""

from __future__ import annotations

from flask import current_app, has_app_context

from dashapp.settings import Settings
from dashapp.store import Store


def current_store() -> Store:
    """Return the Store of the Flask app serving this request."""
    return current_app.extensions["tickstock_store"]


def current_settings() -> Settings:
    """Return the Settings of the Flask app serving this request."""
    return current_app.extensions["tickstock_settings"]


def extension(name: str, default=None):
    """Return a named TickStock extension (live bars, cache...), if in an app."""
    if not has_app_context():
        return default
    return current_app.extensions.get(f"tickstock_{name}", default)

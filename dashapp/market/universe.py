"""Universe specs with per-user watchlists: `universe=watchlist:NAME` everywhere.

A spec is one or more names joined by `+`; a `watchlist:NAME` part is the
requesting user's watchlist of that name (nobody else's). Plain specs resolve
through the store's universes as before; a spec with a watchlist gets a cache
scope (user id + member digest) so cached states and ETags never cross users
and follow edits of the list.
"""

from __future__ import annotations

import hashlib

from flask import has_request_context, request

from dashapp import auth
from dashapp.store import Store

WATCHLIST_PREFIX = "watchlist:"


def has_watchlist(spec: str | None) -> bool:
    """Tell whether a universe spec names a watchlist."""
    return bool(spec) and WATCHLIST_PREFIX in spec.lower()


def _requesting_user_id() -> int:
    principal = auth.current_principal() if has_request_context() else None
    if principal is None:
        raise KeyError("unknown universe: a watchlist needs a signed-in user")
    return principal.user_id


def universe_members(store: Store, spec: str) -> list[str]:
    """Return the sorted members of a spec (KeyError for an unknown name)."""
    return scoped_universe(store, spec)[1]


def scoped_universe(store: Store, spec: str) -> tuple[str, list[str]]:
    """Return (cache scope, members) of a spec; the scope is "" without watchlists."""
    spec = (spec or "").strip().lower()
    if not has_watchlist(spec):
        return "", store.universe_symbols(spec)
    user_id = _requesting_user_id()
    parts = [p.strip() for p in spec.split("+") if p.strip()]
    plain = [p for p in parts if not p.startswith(WATCHLIST_PREFIX)]
    members = set(store.universe_symbols("+".join(plain))) if plain else set()
    for part in parts:
        if part.startswith(WATCHLIST_PREFIX):
            name = part[len(WATCHLIST_PREFIX) :]
            members.update(store.watchlist_members(user_id, name))
    ordered = sorted(members)
    digest = hashlib.sha1(",".join(ordered).encode()).hexdigest()[:12]
    return f"@u{user_id}-{digest}", ordered


def request_universe_scope(store: Store) -> str:
    """Return the watchlist scope of this request's `universe` argument ("" if none).

    ETags of cached endpoints add it, so one user's watchlist answer is never
    served to another and an edited list gets a new ETag.
    """
    if not has_request_context():
        return ""
    spec = request.args.get("universe", "")
    if not has_watchlist(spec):
        return ""
    try:
        return scoped_universe(store, spec)[0]
    except KeyError:
        return "@unknown"


def watchlist_options(store: Store) -> list[dict[str, str]]:
    """Return picker options for the signed-in user's watchlists (none if anonymous)."""
    principal = auth.current_principal() if has_request_context() else None
    if principal is None:
        return []
    return [
        {
            "label": f"★ {item['name']} · {item['count']} (your watchlist)",
            "value": f"{WATCHLIST_PREFIX}{item['name']}",
        }
        for item in store.list_watchlists(principal.user_id)
    ]

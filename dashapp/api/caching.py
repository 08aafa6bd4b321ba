"""ETags from the store's data version, and the cache of finished 200 bodies."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

import orjson
from flask import Response, current_app, request

from dashapp.market.context import current_store, extension
from dashapp.market.dataversion import current_live_cap
from dashapp.market.universe import request_universe_scope

CACHE_CONTROL = "private, max-age=0, must-revalidate"
BODY_CACHE_ENTRIES = 512
VERSION_TTL_S = 0.25


class BodyCache:
    """Finished 200 responses keyed by ETag (which includes the data version)."""

    def __init__(self, max_entries: int = BODY_CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[bytes, str, list]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Response | None:
        """Return a fresh copy of the cached response, or None."""
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
        if entry is None:
            return None
        body, mimetype, headers = entry
        return Response(body, mimetype=mimetype, headers=headers)

    def put(self, key: str, response: Response) -> None:
        """Remember a response body and its content headers."""
        keep = [
            (k, v) for k, v in response.headers.items() if k == "Content-Disposition"
        ]
        entry = (response.get_data(), response.mimetype, keep)
        with self._lock:
            self._data[key] = entry
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)


def body_cache() -> BodyCache:
    """Return this app's body cache, creating it on first use."""
    cache = current_app.extensions.get("tickstock_api_bodies")
    if cache is None:
        cache = current_app.extensions.setdefault("tickstock_api_bodies", BodyCache())
    return cache


def data_version_key() -> str:
    """Return the store's data version key, re-read at most every VERSION_TTL_S.

    Every cached endpoint needs the version for its ETag; reading it costs three
    queries, more than serving a cached body. Bars arrive once a minute, so a
    worker may answer from a version up to VERSION_TTL_S old
    (`TICKSTOCK_API_VERSION_TTL` in the Flask config; 0 reads it every time).
    """
    ttl = current_app.config.get("TICKSTOCK_API_VERSION_TTL", VERSION_TTL_S)
    holder = current_app.extensions.setdefault("tickstock_api_version", [0.0, ""])
    now = time.monotonic()
    if ttl <= 0 or now - holder[0] >= ttl:
        holder[1] = current_store().data_version().key
        holder[0] = now
    return holder[1]


def request_etag() -> str:
    """Return the ETag of this request: data version, live bars, path, args, session."""
    version = data_version_key()
    live = extension("livebars")
    if live is not None:
        version += f"-live{live.version}"
    args = sorted(request.args.items(multi=True))
    # "now" moves to the next session at the open, with no new data.
    cap, open_now = current_live_cap()
    scope = request_universe_scope(current_store())  # watchlists are per user
    raw = orjson.dumps([version, request.path, args, str(cap), open_now, scope])
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:32]


VARY = "Authorization, Cookie"


def set_cache_headers(response: Response, etag: str) -> None:
    """Set the ETag, revalidation and Vary headers of a cached endpoint."""
    headers = response.headers
    headers["ETag"] = f'"{etag}"'
    headers["Cache-Control"] = CACHE_CONTROL
    if "Vary" in headers:
        response.vary.add("Authorization")
        response.vary.add("Cookie")
    else:  # what the two vary.add calls write, without parsing the header twice
        headers["Vary"] = VARY

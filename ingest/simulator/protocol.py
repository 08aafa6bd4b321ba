"""The Massive WebSocket protocol: channels, status frames, client messages."""

from __future__ import annotations

import orjson

from ingest.synthetic import MS_PER_MINUTE, MS_PER_SECOND

WS_PATH = "/stocks"
FIELDS = ("v", "av", "op", "vw", "o", "c", "h", "l", "a", "z")
DATA_EVENTS = ("A", "AM")
# Channels the real feed accepts; only A and AM carry data here.
KNOWN_EVENTS = frozenset({"A", "AM", "T", "Q", "LULD", "NOI", "FMV", "LV"})
EVENT_MS = {"A": MS_PER_SECOND, "AM": MS_PER_MINUTE}
ORDERLY_CLOSE = 1000
MSG_CONNECTED = "Connected Successfully"
MSG_AUTH_OK = "authenticated"
MSG_AUTH_FAILED = "authentication failed"
MSG_AUTH_TIMEOUT = "authentication timed out"
MSG_MAX_CONNECTIONS = "Maximum number of connections exceeded."
MSG_SLOW_CONSUMER = "slow consumer: too many messages buffered"
MSG_NOT_AUTHED = "not authorized: authenticate first"


def status_frame(status: str, message: str) -> bytes:
    """Return one server status frame, e.g. `[{"ev":"status",...}]`."""
    return orjson.dumps([{"ev": "status", "status": status, "message": message}])


FRAME_CONNECTED = status_frame("connected", MSG_CONNECTED)
FRAME_AUTH_OK = status_frame("auth_success", MSG_AUTH_OK)
FRAME_AUTH_FAILED = status_frame("auth_failed", MSG_AUTH_FAILED)


def parse_client_message(raw: str | bytes) -> dict | None:
    """Return a client message as a dict (None when it is not a JSON object)."""
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return msg if isinstance(msg, dict) else None

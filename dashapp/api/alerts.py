"""Alerts: `/alerts` (list, create), `/alerts/<id>` (delete), `/alerts/events`, and
the caller's webhook at `/me/webhook` (get, put, delete).

Everything is the calling user's own: another user's alert answers 404, admins
included. Conditions and what they observe are described in `analytics.alerts`;
the leader evaluates them on each new minute and at end of day
(`dashapp.market.alert_eval`).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from analytics import alerts as rules
from dashapp.api.blueprint import current_actor, endpoint
from dashapp.api.params import INT, NUM, STR
from dashapp.api.responses import json_response
from dashapp.api.spec import ApiError, Param
from dashapp.api.watchlists import check_known, user_id
from dashapp.market.alert_eval import event_payload
from dashapp.market.context import current_store
from dashapp.ops.webhooks import SIGNATURE_HEADER

log = logging.getLogger(__package__)
MAX_ALERTS = 500
MAX_EVENTS = 500
URL_PATTERN = r"^https?://[\x21-\x7e]{1,2000}$"
SECRET_PATTERN = r"^[\x21-\x7e]{16,200}$"
SECRET_BYTES = 32
ALERT = {
    "type": "object",
    "required": ["id", "symbol", "condition", "armed"],
    "properties": {
        "id": {"type": "integer"},
        "symbol": {"type": "string"},
        "condition": {"type": "string", "enum": list(rules.CONDITIONS)},
        "value": NUM,
        "armed": {"type": "boolean"},
        "last_observed": NUM,
        "fired_count": {"type": "integer"},
        "created_at": STR,
        "last_evaluated_at": STR,
    },
}
EVENT = {
    "type": "object",
    "required": ["id", "alert_id", "symbol", "condition", "fired_at"],
    "properties": {
        "id": {"type": "integer"},
        "alert_id": {"type": "integer"},
        "symbol": {"type": "string"},
        "condition": {"type": "string"},
        "value": NUM,
        "observed": NUM,
        "previous": NUM,
        "bar_ts": STR,
        "fired_at": {"type": "string"},
        "origin": STR,
        "delivery": STR,
        "seen": {"type": "boolean"},
    },
}


def _alert_json(alert: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in alert.items() if k != "user_id"}
    for key in ("created_at", "last_evaluated_at"):
        out[key] = out[key].isoformat() if out.get(key) is not None else None
    return out


def _rows(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    props = {"count": {"type": "integer"}, "rows": {"type": "array", "items": schema}}
    return {
        "type": "object",
        "required": ["count", "rows"],
        "properties": {**props, **extra},
    }


@endpoint(
    "/alerts",
    "Your alerts with their armed state.",
    tag="alerts",
    response=_rows(ALERT),
)
def list_alerts():
    """Return the caller's alerts."""
    rows = [_alert_json(a) for a in current_store().list_alerts(user_id())]
    return {"count": len(rows), "rows": rows}


@endpoint(
    "/alerts",
    "Create an alert on a symbol: price_above/below (value: price), "
    "rs_rating_above/below (1-99), stage_change (optional value: the stage), "
    "new_52w_high (no value), crosses_sma50 (optional value: 1 up, -1 down).",
    methods=("POST",),
    tag="alerts",
    body=(
        Param("symbol", "symbol", "Ticker.", required=True),
        Param("condition", "enum", "Condition.", True, choices=rules.CONDITIONS),
        Param("value", "number", "Threshold (see the condition)."),
    ),
    response=ALERT,
    statuses=(201, 415, 422),
)
def create_alert(symbol: str, condition: str, value: float | None):
    """Create an armed alert for the caller."""
    reason = rules.check_alert_value(condition, value)
    if reason:
        raise ApiError(422, "invalid_value", reason, condition=condition)
    store, uid = current_store(), user_id()
    if len(store.list_alerts(uid)) >= MAX_ALERTS:
        raise ApiError(422, "too_many", f"at most {MAX_ALERTS} alerts")
    check_known([symbol])
    value = None if value is None else float(value)
    alert = store.create_alert(uid, symbol, condition, value)
    log.info("audit: %s created alert #%s", current_actor(), alert["id"])
    return json_response(_alert_json(alert), status=201)


@endpoint(
    "/alerts/<int:alert_id>",
    "Delete one of your alerts.",
    methods=("DELETE",),
    tag="alerts",
    params=(
        Param(
            "alert_id",
            "integer",
            "Alert id.",
            True,
            minimum=1,
            maximum=2**31 - 1,
            location="path",
        ),
    ),
    response={"type": "object", "properties": {"deleted": {"type": "integer"}}},
    statuses=(404,),
)
def delete_alert(alert_id: int):
    """Delete an alert the caller owns (404 for anyone else's)."""
    if not current_store().delete_alert(user_id(), alert_id):
        raise ApiError(404, "unknown_alert", f"no alert #{alert_id}")
    log.info("audit: %s deleted alert #%s", current_actor(), alert_id)
    return {"deleted": alert_id}


@endpoint(
    "/alerts/events",
    "Your fired alerts, newest first, with the unseen count (the UI bell).",
    tag="alerts",
    params=(
        Param("limit", "integer", "Rows.", default=100, minimum=1, maximum=MAX_EVENTS),
        Param(
            "after_id",
            "integer",
            "Only events with a larger id.",
            default=0,
            minimum=0,
            maximum=2**31 - 1,
        ),
    ),
    response=_rows(EVENT, unseen=INT),
)
def alert_events(limit: int, after_id: int):
    """Return the caller's fired events."""
    store, uid = current_store(), user_id()
    rows = store.list_alert_events(uid, limit=limit, after_id=after_id)
    return {
        "count": len(rows),
        "unseen": store.count_unseen_events(uid),
        "rows": [event_payload(e) for e in rows],
    }


WEBHOOK = {
    "type": "object",
    "properties": {
        "configured": {"type": "boolean"},
        "url": STR,
        "updated_at": STR,
        "secret": STR,
        "signature_header": {"type": "string"},
    },
}


@endpoint(
    "/me/webhook",
    "Your alert webhook (the secret is never shown again).",
    tag="alerts",
    response=WEBHOOK,
)
def get_webhook():
    """Return the caller's webhook URL, if set."""
    hook = current_store().get_webhook(user_id())
    return _hook_json(hook)


@endpoint(
    "/me/webhook",
    "Set your alert webhook: fired alerts are POSTed there as JSON signed with "
    "HMAC-SHA256 of the body under `secret` (X-TickStock-Signature: sha256=<hex>); "
    "omit `secret` to get a generated one (shown once).",
    methods=("PUT",),
    tag="alerts",
    body=(
        Param(
            "url", "string", "http(s) URL.", True, max_length=2000, pattern=URL_PATTERN
        ),
        Param(
            "secret",
            "string",
            "Signing secret (16-200 characters).",
            max_length=200,
            min_length=16,
            pattern=SECRET_PATTERN,
        ),
    ),
    response=WEBHOOK,
    statuses=(415,),
)
def put_webhook(url: str, secret: str | None):
    """Create or replace the caller's webhook."""
    shown = secret or secrets.token_hex(SECRET_BYTES)
    store, uid = current_store(), user_id()
    store.set_webhook(uid, url, shown)
    log.info("audit: %s set a webhook", current_actor())
    out = _hook_json(store.get_webhook(uid))
    out["secret"] = None if secret else shown
    return out


@endpoint(
    "/me/webhook",
    "Remove your alert webhook.",
    methods=("DELETE",),
    tag="alerts",
    response=WEBHOOK,
    statuses=(404,),
)
def delete_webhook():
    """Remove the caller's webhook."""
    if not current_store().delete_webhook(user_id()):
        raise ApiError(404, "no_webhook", "no webhook is set")
    return {"configured": False, "url": None, "updated_at": None}


def _hook_json(hook: dict[str, Any] | None) -> dict[str, Any]:
    if hook is None:
        return {
            "configured": False,
            "url": None,
            "updated_at": None,
            "signature_header": SIGNATURE_HEADER,
        }
    return {
        "configured": True,
        "url": hook["url"],
        "updated_at": hook["updated_at"].isoformat(),
        "signature_header": SIGNATURE_HEADER,
    }

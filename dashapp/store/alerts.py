"""Per-user alerts (with their armed state), fired alert events and webhooks.

Alerts are scoped to a user id in every read and write a user can reach; the
evaluator (on the leader) reads all of them with `active_alerts` and stores one
evaluation round with `apply_alert_round` in a single transaction, so the armed
state survives a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update

from dashapp.store.base import StoreBase, utcnow
from dashapp.store.schema import alert_events, alerts, user_webhooks
from dashapp.store.watchlists import aware

ALERT_TIMES = ("created_at", "last_evaluated_at")
EVENT_TIMES = ("bar_ts", "fired_at")


class AlertsMixin(StoreBase):
    """Alerts, alert events and each user's webhook."""

    def create_alert(
        self, user_id: int, symbol: str, condition: str, value: float | None
    ) -> dict[str, Any]:
        """Insert an armed alert and return it."""
        with self.engine.begin() as conn:
            alert_id = conn.execute(
                alerts.insert().values(
                    user_id=user_id,
                    symbol=symbol,
                    condition=condition,
                    value=value,
                    armed=True,
                    fired_count=0,
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]
        return self.list_alerts(user_id, alert_id=alert_id)[0]

    def list_alerts(
        self, user_id: int, alert_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Return the user's alerts (or one of them), oldest first."""
        query = select(alerts).where(alerts.c.user_id == user_id)
        if alert_id is not None:
            query = query.where(alerts.c.id == alert_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(alerts.c.id)).mappings().all()
        return [_row(r, ALERT_TIMES) for r in rows]

    def delete_alert(self, user_id: int, alert_id: int) -> bool:
        """Delete one of the user's alerts; return whether it existed."""
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(alerts).where(
                    alerts.c.id == alert_id, alerts.c.user_id == user_id
                )
            ).rowcount
        return gone == 1

    def active_alerts(self) -> list[dict[str, Any]]:
        """Return every user's alerts (for the evaluator on the leader)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(alerts).order_by(alerts.c.id)).mappings().all()
        return [_row(r, ALERT_TIMES) for r in rows]

    def apply_alert_round(
        self, states: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Store new armed states and fired events atomically; return the events.

        An event is stored only if its alert was still armed, so two evaluators
        never fire one crossing twice.

        `states` rows carry `id`, `armed`, `last_observed`; `events` rows carry
        `alert_id`, `user_id`, `symbol`, `condition`, `value`, `observed`,
        `previous`, `bar_ts`, `origin`, `delivery`.
        """
        now = utcnow()
        stored = []
        refused = set()
        with self.engine.begin() as conn:
            for state in states:
                values = {
                    "armed": bool(state["armed"]),
                    "last_observed": state["last_observed"],
                    "last_evaluated_at": now,
                }
                query = update(alerts).where(alerts.c.id == state["id"])
                if state.get("fired"):
                    # Fire only an alert still armed (another evaluator, e.g. a
                    # leader stepping down, may have fired it already).
                    values["fired_count"] = alerts.c.fired_count + 1
                    query = query.where(alerts.c.armed.is_(True))
                if conn.execute(query.values(**values)).rowcount == 0:
                    refused.add(state["id"])
            for event in events:
                if event["alert_id"] in refused:
                    continue
                row = {**event, "fired_at": now, "seen": False}
                row["id"] = conn.execute(
                    alert_events.insert().values(**row)
                ).inserted_primary_key[0]
                stored.append(row)
        return stored

    def list_alert_events(
        self, user_id: int, limit: int = 100, after_id: int = 0
    ) -> list[dict[str, Any]]:
        """Return the user's newest fired events (id > after_id), newest first."""
        query = (
            select(alert_events)
            .where(alert_events.c.user_id == user_id, alert_events.c.id > after_id)
            .order_by(alert_events.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        out = [_row(r, EVENT_TIMES) for r in rows]
        for event in out:
            event["seen"] = bool(event["seen"])
        return out

    def count_unseen_events(self, user_id: int) -> int:
        """Return how many of the user's fired events are not yet seen."""
        query = select(func.count()).where(
            alert_events.c.user_id == user_id, alert_events.c.seen.is_(False)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def mark_events_seen(self, user_id: int) -> int:
        """Mark all of the user's events seen; return how many changed."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(alert_events)
                .where(alert_events.c.user_id == user_id)
                .where(alert_events.c.seen.is_(False))
                .values(seen=True)
            ).rowcount

    def set_event_delivery(self, event_id: int, status: str) -> None:
        """Record a webhook delivery outcome on a fired event."""
        with self.engine.begin() as conn:
            conn.execute(
                update(alert_events)
                .where(alert_events.c.id == event_id)
                .values(delivery=status)
            )

    def set_webhook(self, user_id: int, url: str, secret: str) -> None:
        """Create or replace the user's webhook URL and signing secret."""
        with self.engine.begin() as conn:
            mine = user_webhooks.c.user_id == user_id
            conn.execute(delete(user_webhooks).where(mine))
            conn.execute(
                user_webhooks.insert().values(
                    user_id=user_id, url=url, secret=secret, updated_at=utcnow()
                )
            )

    def get_webhook(self, user_id: int) -> dict[str, Any] | None:
        """Return the user's webhook (url, secret, updated_at) or None."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(user_webhooks).where(user_webhooks.c.user_id == user_id)
                )
                .mappings()
                .first()
            )
        return None if row is None else _row(row, ("updated_at",))

    def delete_webhook(self, user_id: int) -> bool:
        """Remove the user's webhook; return whether one was set."""
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    delete(user_webhooks).where(user_webhooks.c.user_id == user_id)
                ).rowcount
                == 1
            )


def _row(row: Any, times: tuple[str, ...]) -> dict[str, Any]:
    out = {str(k): v for k, v in row.items()}
    for key in times:
        out[key] = aware(out.get(key))
    if "armed" in out:
        out["armed"] = bool(out["armed"])
    return out

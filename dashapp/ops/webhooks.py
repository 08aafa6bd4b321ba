"""Webhook delivery of fired alerts: signed JSON POSTs off the caller's thread.

`WebhookSender.submit` only puts the delivery on a bounded queue; worker
threads POST it with a timeout and retry with exponential backoff, so a slow or
failing receiver never blocks whoever fired the alert (nor ingest). The body is
signed with HMAC-SHA256 of the raw bytes under the user's secret, sent as
`X-TickStock-Signature: sha256=<hex>`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-TickStock-Signature"
EVENT_HEADER = "X-TickStock-Event"
SIGNATURE_PREFIX = "sha256="
TIMEOUT_S = 5.0
ATTEMPTS = 4
BACKOFF_S = 0.5  # 0.5 s, 1 s, 2 s between attempts
QUEUE_SIZE = 1_000
WORKERS = 2
USER_AGENT = "TickStock-Webhook/1"


def sign(secret: str, body: bytes) -> str:
    """Return the signature header value of a body: `sha256=<hex HMAC-SHA256>`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Tell whether a signature header matches the body under the secret."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


@dataclass
class Delivery:
    """One webhook POST still to make."""

    url: str
    secret: str
    payload: dict[str, Any]
    on_done: Callable[[bool, str], None] | None = None


class WebhookSender:
    """A bounded queue of deliveries and the worker threads that make them."""

    def __init__(
        self,
        *,
        timeout_s: float = TIMEOUT_S,
        attempts: int = ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        workers: int = WORKERS,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._queue: queue.Queue[Delivery | None] = queue.Queue(queue_size)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"webhook-{i}", daemon=True)
            for i in range(workers)
        ]
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        for thread in self._threads:
            thread.start()

    def submit(self, delivery: Delivery) -> bool:
        """Queue a delivery without waiting; return False if the queue is full."""
        try:
            self._queue.put_nowait(delivery)
        except queue.Full:
            self.dropped += 1
            log.warning("webhook queue full: dropped a delivery to %s", delivery.url)
            _report(delivery, False, "dropped: queue full")
            return False
        return True

    def pending(self) -> int:
        """Return how many deliveries wait in the queue."""
        return self._queue.qsize()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the workers (deliveries still queued are abandoned)."""
        self._stop.set()
        for _ in self._threads:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                break
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        while not self._stop.is_set():
            delivery = self._queue.get()
            if delivery is None:
                return
            ok, detail = self.deliver(delivery)
            if ok:
                self.delivered += 1
            else:
                self.failed += 1
            _report(delivery, ok, detail)

    def deliver(self, delivery: Delivery) -> tuple[bool, str]:
        """POST one delivery, retrying with exponential backoff; return the outcome."""
        body = orjson.dumps(delivery.payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: str(delivery.payload.get("type", "alert")),
            SIGNATURE_HEADER: sign(delivery.secret, body),
        }
        detail = ""
        for attempt in range(self.attempts):
            if attempt:
                if self._stop.wait(self.backoff_s * 2 ** (attempt - 1)):
                    return False, "stopped"
            request = urllib.request.Request(
                delivery.url, data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                    if 200 <= reply.status < 300:
                        return True, f"HTTP {reply.status}"
                    detail = f"HTTP {reply.status}"
            except urllib.error.HTTPError as exc:
                detail = f"HTTP {exc.code}"
            except (OSError, ValueError) as exc:  # timeouts, refused, bad URL
                detail = f"{type(exc).__name__}: {exc}"
        log.warning("webhook to %s failed: %s", delivery.url, detail)
        return False, detail


def _report(delivery: Delivery, ok: bool, detail: str) -> None:
    if delivery.on_done is None:
        return
    try:
        delivery.on_done(ok, detail)
    except Exception:  # a reporting failure must not kill the worker
        log.exception("webhook outcome could not be recorded")

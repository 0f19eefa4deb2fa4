"""Metrics for ops (``globalpic_webhooks_*``, prometheus_client's default registry).

Counted after the transaction that recorded them committed: a redelivered NATS message that
inserted nothing counts as ``duplicate``.
"""

from __future__ import annotations

from prometheus_client import Counter

from globalpic_webhooks.models import DeliveryStatus
from globalpic_webhooks.outbox import Attempt

EVENTS = Counter(
    "globalpic_webhooks_events",
    "Job events turned into deliveries, by type and result (queued, duplicate, unsubscribed)",
    ("type", "result"),
)
ATTEMPTS = Counter(
    "globalpic_webhooks_attempts",
    "Delivery attempts by outcome (2xx, 4xx, 5xx, 3xx, no_answer)",
    ("outcome",),
)
FINISHED = Counter(
    "globalpic_webhooks_deliveries_finished",
    "Deliveries that reached a final status (delivered, failed)",
    ("status",),
)


def event(kind: str, matched: int, inserted: int) -> None:
    """One event: ``matched`` endpoints subscribed, ``inserted`` new rows among them."""
    if matched == 0:
        EVENTS.labels(type=kind, result="unsubscribed").inc()
        return
    if inserted:
        EVENTS.labels(type=kind, result="queued").inc(inserted)
    if matched > inserted:
        EVENTS.labels(type=kind, result="duplicate").inc(matched - inserted)


def attempted(attempt: Attempt, status: DeliveryStatus | None) -> None:
    code = attempt.status_code
    ATTEMPTS.labels(outcome=f"{code // 100}xx" if code is not None else "no_answer").inc()
    if status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        FINISHED.labels(status=status.value).inc()

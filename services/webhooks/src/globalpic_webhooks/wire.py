"""The webhooks service's rows <-> ``globalpic.webhooks.v1`` messages."""

from __future__ import annotations

from globalpic.webhooks.v1 import webhooks_pb2
from globalpic_common.wire import rfc3339
from globalpic_webhooks.models import Delivery, Endpoint


def endpoint_to_proto(endpoint: Endpoint) -> webhooks_pb2.Endpoint:
    return webhooks_pb2.Endpoint(
        id=endpoint.id,
        tenant_id=endpoint.tenant_id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types),
        secret=endpoint.secret,
        created_at=rfc3339(endpoint.created_at),
        disabled=endpoint.disabled,
    )


def delivery_to_proto(delivery: Delivery) -> webhooks_pb2.Delivery:
    return webhooks_pb2.Delivery(
        id=delivery.message_id,
        endpoint_id=delivery.endpoint_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=rfc3339(delivery.next_attempt_at),
        last_status_code=delivery.last_status_code or 0,
        last_error=delivery.last_error,
        created_at=rfc3339(delivery.created_at),
        delivered_at=rfc3339(delivery.delivered_at),
    )

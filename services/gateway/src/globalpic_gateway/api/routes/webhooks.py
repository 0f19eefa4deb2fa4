"""``/v1/webhooks``: a team's webhook endpoints, a test event, the deliveries made to each.

Owners and admins of the team (a signed-in user, as for API keys) manage them. Each endpoint
gets a signing secret (``whsec_...``): it is in the creation's answer and in every listing,
since the receiver needs it to verify the ``webhook-signature`` header (Standard Webhooks:
HMAC-SHA256 over ``{webhook-id}.{webhook-timestamp}.{body}`` with the secret's base64-decoded
bytes). The webhooks service does the work; without ``GLOBALPIC_GATEWAY__WEBHOOKS_ADDR``
every route answers ``404 webhooks_disabled``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, Field

from globalpic.webhooks.v1 import webhooks_pb2
from globalpic_clients.webhooks import WebhooksClient
from globalpic_gateway.api.deps import ManagerDep, app_state
from globalpic_gateway.core.problems import ApiError, problem_responses

WEBHOOKS_DISABLED = "webhooks_disabled"
_CLIENT_ATTR = "globalpic_webhooks_client"

EventName = Literal["job.completed", "job.failed", "image.completed"]
EndpointId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["ep_3f2a"])
]


@asynccontextmanager
async def _close_client(app: FastAPI) -> AsyncIterator[None]:
    """The client is made on first use (``webhooks_client``); close it when the app stops."""
    yield
    client = getattr(app.state, _CLIENT_ATTR, None)
    if client is not None:
        setattr(app.state, _CLIENT_ATTR, None)
        with suppress(Exception):
            client.close()


router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], lifespan=_close_client)


async def webhooks_client(request: Request) -> WebhooksClient:
    """The webhooks service's client, or 404 ``webhooks_disabled`` where none is configured."""
    app = request.app
    client: WebhooksClient | None = getattr(app.state, _CLIENT_ATTR, None)
    if client is None:
        addr = app_state(request).settings.webhooks_addr
        if not addr:
            raise ApiError(
                404,
                WEBHOOKS_DISABLED,
                "webhooks are not enabled on this server (GLOBALPIC_GATEWAY__WEBHOOKS_ADDR)",
            )
        client = WebhooksClient(addr)  # no await since the check: one client per app
        setattr(app.state, _CLIENT_ATTR, client)
    return client


WebhooksDep = Annotated[WebhooksClient, Depends(webhooks_client)]


class WebhookEndpointIn(BaseModel):
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="Where to POST the events: https:// on a public address",
        examples=["https://hooks.example.com/globalpic"],
    )
    events: list[EventName] = Field(
        min_length=1, max_length=3, description="The event types to receive"
    )
    description: str = Field("", max_length=500)


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    description: str
    events: list[str]
    secret: str = Field(
        description="`whsec_` + base64 of the HMAC-SHA256 key: verify each delivery's "
        "`webhook-signature` with it (any Standard Webhooks library)"
    )
    created_at: str
    disabled: bool = Field(description="The receiver answered 410 Gone: nothing is sent")

    @classmethod
    def of(cls, endpoint: webhooks_pb2.Endpoint) -> WebhookEndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            events=list(endpoint.event_types),
            secret=endpoint.secret,
            created_at=endpoint.created_at,
            disabled=endpoint.disabled,
        )


class WebhookEndpointsOut(BaseModel):
    endpoints: list[WebhookEndpointOut]


class WebhookDeliveryOut(BaseModel):
    id: str = Field(description="The `webhook-id` header: the same on every attempt")
    event_type: str
    payload: dict[str, Any] = Field(description="The JSON body sent: type, timestamp, data")
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None

    @classmethod
    def of(cls, delivery: webhooks_pb2.Delivery) -> WebhookDeliveryOut:
        try:
            payload = json.loads(delivery.payload)
        except ValueError:
            payload = {}
        return cls(
            id=delivery.id,
            event_type=delivery.event_type,
            payload=payload if isinstance(payload, dict) else {},
            status=delivery.status,  # type: ignore[arg-type]
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at or None,
            last_status_code=delivery.last_status_code or None,
            last_error=delivery.last_error or None,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at or None,
        )


class WebhookDeliveriesOut(BaseModel):
    deliveries: list[WebhookDeliveryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointOut,
    summary="Register a webhook endpoint: the answer carries its signing secret",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def create_webhook(
    body: WebhookEndpointIn, user: ManagerDep, webhooks: WebhooksDep
) -> WebhookEndpointOut:
    endpoint = await asyncio.to_thread(
        webhooks.create_endpoint, user.id, body.url, list(body.events), body.description
    )
    return WebhookEndpointOut.of(endpoint)


@router.get(
    "",
    response_model=WebhookEndpointsOut,
    summary="Your team's webhook endpoints, with their signing secrets",
    responses=problem_responses(401, 403, 404, 503),
)
async def list_webhooks(user: ManagerDep, webhooks: WebhooksDep) -> WebhookEndpointsOut:
    found = await asyncio.to_thread(webhooks.list_endpoints, user.id)
    return WebhookEndpointsOut(endpoints=[WebhookEndpointOut.of(e) for e in found.endpoints])


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook endpoint (its pending deliveries are dropped)",
    responses=problem_responses(401, 403, 404, 503),
)
async def delete_webhook(
    webhook_id: EndpointId, user: ManagerDep, webhooks: WebhooksDep
) -> Response:
    await asyncio.to_thread(webhooks.delete_endpoint, user.id, webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    response_model=WebhookDeliveryOut,
    summary="Send a `webhook.test` event to the endpoint (queued: follow it in its deliveries)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def test_webhook(
    webhook_id: EndpointId, user: ManagerDep, webhooks: WebhooksDep
) -> WebhookDeliveryOut:
    delivery = await asyncio.to_thread(webhooks.send_test, user.id, webhook_id)
    return WebhookDeliveryOut.of(delivery)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=WebhookDeliveriesOut,
    summary="The endpoint's deliveries, newest first: status, attempts, the last error",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_deliveries(
    webhook_id: EndpointId,
    user: ManagerDep,
    webhooks: WebhooksDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 20,
    cursor: Annotated[
        str | None,
        Query(max_length=32, description="`next_cursor` of the previous page"),
    ] = None,
) -> WebhookDeliveriesOut:
    page = await asyncio.to_thread(
        webhooks.list_deliveries, user.id, webhook_id, page_size=limit, page_token=cursor or ""
    )
    return WebhookDeliveriesOut(
        deliveries=[WebhookDeliveryOut.of(d) for d in page.deliveries],
        next_cursor=page.next_page_token or None,
    )

"""The webhooks gRPC service (``globalpic.webhooks.v1``) and ``globalpic-webhooks-server``.

The process runs the synchronous gRPC server (``globalpic_common.grpc_server``: health,
metrics, tracing, errors) and, beside it, one asyncio loop with the job-events consumer and
the delivery loop (``worker``). Startup (health SERVING after it): migrate the database,
start the worker. Everything in flight is in the database, so a restart resumes it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from pydantic import ValidationError

from globalpic.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from globalpic_common.grpc_server import Register, run_service
from globalpic_webhooks import db
from globalpic_webhooks.settings import WebhooksSettings
from globalpic_webhooks.store import WebhookStore
from globalpic_webhooks.urls import UrlPolicy
from globalpic_webhooks.wire import delivery_to_proto, endpoint_to_proto
from globalpic_webhooks.worker import Worker

SERVICE_NAME = "webhooks"
HEALTH_NAME = webhooks_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name


@dataclass(frozen=True)
class Webhooks:
    """Everything the servicer calls, built from settings (``build``) or by a test."""

    settings: WebhooksSettings
    store: WebhookStore

    @classmethod
    def build(cls, settings: WebhooksSettings) -> Webhooks:
        engine = db.make_engine(settings.database_url)
        policy = UrlPolicy(allow_loopback=settings.allow_loopback)
        return cls(
            settings, WebhookStore(engine, policy, max_endpoints=settings.max_endpoints_per_tenant)
        )


class WebhookServicer(webhooks_pb2_grpc.WebhookServiceServicer):
    def __init__(self, webhooks: Webhooks, nudge: Callable[[], None] = lambda: None) -> None:
        self.store = webhooks.store
        self.nudge = nudge

    def CreateEndpoint(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: webhooks_pb2.CreateEndpointRequest, context: grpc.ServicerContext
    ) -> webhooks_pb2.Endpoint:
        endpoint = self.store.create_endpoint(
            request.tenant_id, request.url, list(request.event_types), request.description
        )
        return endpoint_to_proto(endpoint)

    def ListEndpoints(  # noqa: N802
        self, request: webhooks_pb2.ListEndpointsRequest, context: grpc.ServicerContext
    ) -> webhooks_pb2.ListEndpointsResponse:
        endpoints = self.store.list_endpoints(request.tenant_id)
        return webhooks_pb2.ListEndpointsResponse(
            endpoints=[endpoint_to_proto(e) for e in endpoints]
        )

    def DeleteEndpoint(  # noqa: N802
        self, request: webhooks_pb2.DeleteEndpointRequest, context: grpc.ServicerContext
    ) -> webhooks_pb2.DeleteEndpointResponse:
        self.store.delete_endpoint(request.tenant_id, request.endpoint_id)
        return webhooks_pb2.DeleteEndpointResponse()

    def SendTest(  # noqa: N802
        self, request: webhooks_pb2.SendTestRequest, context: grpc.ServicerContext
    ) -> webhooks_pb2.Delivery:
        delivery = self.store.send_test(request.tenant_id, request.endpoint_id)
        self.nudge()
        return delivery_to_proto(delivery)

    def ListDeliveries(  # noqa: N802
        self, request: webhooks_pb2.ListDeliveriesRequest, context: grpc.ServicerContext
    ) -> webhooks_pb2.ListDeliveriesResponse:
        page, token = self.store.list_deliveries(
            request.tenant_id, request.endpoint_id, request.page_size, request.page_token
        )
        return webhooks_pb2.ListDeliveriesResponse(
            deliveries=[delivery_to_proto(d) for d in page], next_page_token=token
        )


def registrar(webhooks: Webhooks, nudge: Callable[[], None] = lambda: None) -> Register:
    def register(server: grpc.Server) -> None:
        webhooks_pb2_grpc.add_WebhookServiceServicer_to_server(
            WebhookServicer(webhooks, nudge), server
        )

    return register


def main() -> None:
    try:
        settings = WebhooksSettings()
    except ValidationError as exc:
        # Fail fast with the variables to fix, not a traceback.
        print(f"globalpic-webhooks-server: invalid settings\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    webhooks = Webhooks.build(settings)
    worker = Worker(webhooks.store, settings)

    def load() -> None:
        if settings.migrate_on_startup:
            db.migrate(settings.database_url)
        worker.start()

    run_service(
        SERVICE_NAME,
        registrar(webhooks, worker.nudge),
        settings,
        load=load,
        unload=worker.stop,
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

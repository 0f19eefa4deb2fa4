"""The billing gRPC service (``globalpic.billing.v1``) and ``globalpic-billing-server``.

The process runs the synchronous gRPC server (``globalpic_common.grpc_server``: health,
metrics, tracing, errors) and, beside it, the consumer that settles images from the job
events. Startup (the "load" step: health SERVING after it): migrate the database, start the
consumer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import grpc
from pydantic import ValidationError

from globalpic.billing.v1 import billing_pb2, billing_pb2_grpc
from globalpic_billing import db, metrics
from globalpic_billing.consumer import ConsumerThread, SettleConsumer
from globalpic_billing.metering import Meter
from globalpic_billing.settings import BillingSettings
from globalpic_billing.stripe_gateway import StripeGateway, stripe_client
from globalpic_billing.webhooks import WebhookHandler
from globalpic_billing.wire import (
    account_to_proto,
    pack_to_proto,
    plan_to_proto,
    reserve_to_proto,
    usage_to_proto,
)
from globalpic_common.grpc_server import Register, run_service

SERVICE_NAME = "billing"
HEALTH_NAME = billing_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name


@dataclass(frozen=True)
class Billing:
    """Everything the servicer calls, built from settings (``build``) or by a test."""

    settings: BillingSettings
    meter: Meter
    webhooks: WebhookHandler
    stripe: StripeGateway

    @classmethod
    def build(cls, settings: BillingSettings) -> Billing:
        engine = db.make_engine(settings.database_url)
        catalog = settings.catalog()
        secret = settings.stripe_webhook_secret
        return cls(
            settings,
            Meter(engine, catalog),
            WebhookHandler(engine, catalog, secret.get_secret_value() if secret else None),
            StripeGateway(stripe_client(settings), catalog),
        )


class BillingServicer(billing_pb2_grpc.BillingServiceServicer):
    def __init__(self, billing: Billing) -> None:
        self.billing = billing
        self.meter = billing.meter

    def ListPlans(  # noqa: N802 - the RPC's name, as protoc generates it
        self, request: billing_pb2.ListPlansRequest, context: grpc.ServicerContext
    ) -> billing_pb2.ListPlansResponse:
        catalog = self.meter.catalog
        return billing_pb2.ListPlansResponse(
            plans=[plan_to_proto(plan) for plan in catalog.plans],
            packs=[pack_to_proto(pack) for pack in catalog.packs],
        )

    def GetAccount(  # noqa: N802
        self, request: billing_pb2.GetAccountRequest, context: grpc.ServicerContext
    ) -> billing_pb2.Account:
        return account_to_proto(self.meter.standing(request.team_id))

    def Reserve(  # noqa: N802
        self, request: billing_pb2.ReserveRequest, context: grpc.ServicerContext
    ) -> billing_pb2.ReserveResponse:
        outcome = self.meter.reserve(request.team_id, request.job_id, request.images)
        return reserve_to_proto(outcome)

    def Release(  # noqa: N802
        self, request: billing_pb2.ReleaseRequest, context: grpc.ServicerContext
    ) -> billing_pb2.ReleaseResponse:
        released = self.meter.release(request.job_id, list(request.images))
        return billing_pb2.ReleaseResponse(released=released)

    def CreateCheckoutSession(  # noqa: N802
        self, request: billing_pb2.CreateCheckoutSessionRequest, context: grpc.ServicerContext
    ) -> billing_pb2.CheckoutSession:
        settings = self.billing.settings
        link = self.billing.stripe.checkout(
            request.team_id,
            plan=request.plan,
            pack=request.pack,
            success_url=request.success_url or settings.default_success_url(),
            cancel_url=request.cancel_url or settings.default_cancel_url(),
            customer=self.meter.customer_id(request.team_id),
            customer_email=request.customer_email,
        )
        return billing_pb2.CheckoutSession(id=link.id, url=link.url)

    def CreatePortalSession(  # noqa: N802
        self, request: billing_pb2.CreatePortalSessionRequest, context: grpc.ServicerContext
    ) -> billing_pb2.PortalSession:
        url = self.billing.stripe.portal(
            self.meter.customer_id(request.team_id),
            request.return_url or self.billing.settings.default_return_url(),
        )
        return billing_pb2.PortalSession(url=url)

    def HandleWebhook(  # noqa: N802
        self, request: billing_pb2.HandleWebhookRequest, context: grpc.ServicerContext
    ) -> billing_pb2.HandleWebhookResponse:
        result = self.billing.webhooks.handle(request.payload, request.signature)
        return billing_pb2.HandleWebhookResponse(
            event_id=result.event_id, event_type=result.event_type, applied=result.applied
        )

    def GetUsage(  # noqa: N802
        self, request: billing_pb2.GetUsageRequest, context: grpc.ServicerContext
    ) -> billing_pb2.Usage:
        return usage_to_proto(self.meter.usage(request.team_id))


def registrar(billing: Billing) -> Register:
    def register(server: grpc.Server) -> None:
        billing_pb2_grpc.add_BillingServiceServicer_to_server(BillingServicer(billing), server)

    return register


def main() -> None:
    try:
        settings = BillingSettings()
    except ValidationError as exc:
        # Fail fast with the variables to fix, not a traceback.
        print(f"globalpic-billing-server: invalid settings\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    billing = Billing.build(settings)
    consumer = (
        ConsumerThread(SettleConsumer(billing.meter, settings))
        if settings.settle_consumer
        else None
    )

    def load() -> None:
        if settings.migrate_on_startup:
            db.migrate(settings.database_url)
        metrics.refresh_active_subscriptions(
            billing.meter.engine, [plan.id for plan in billing.meter.catalog.plans]
        )
        if consumer is not None:
            consumer.start()

    run_service(
        SERVICE_NAME,
        registrar(billing),
        settings,
        load=load,
        unload=consumer.stop if consumer is not None else None,
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

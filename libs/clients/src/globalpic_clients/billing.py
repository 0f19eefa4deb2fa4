"""``BillingClient``: the billing service over gRPC, one method per RPC, each returning the
proto message. A refused reservation is an answer (``granted=false``), not an error; errors
come back as the ``GlobalPicError`` class and code the service raised (``bad_signature``,
``unknown_plan``, ``no_customer``, ...), an unreachable service as ``ServiceUnavailableError``.
"""

from __future__ import annotations

from collections.abc import Iterable

from globalpic.billing.v1 import billing_pb2, billing_pb2_grpc
from globalpic_common.grpc_client import GrpcClient

HEALTH_NAME = billing_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name
# Billing answers from its database (or Stripe's API, for Checkout and the Portal).
DEFAULT_TIMEOUT_S = 30.0


class BillingClient(GrpcClient):
    def __init__(self, addr: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(addr, HEALTH_NAME, timeout_s=timeout_s)
        self._stub = billing_pb2_grpc.BillingServiceStub(self.channel)

    def list_plans(self) -> billing_pb2.ListPlansResponse:
        return self.call(self._stub.ListPlans, billing_pb2.ListPlansRequest())

    def get_account(self, team_id: str) -> billing_pb2.Account:
        return self.call(self._stub.GetAccount, billing_pb2.GetAccountRequest(team_id=team_id))

    def reserve(self, team_id: str, job_id: str, images: int) -> billing_pb2.ReserveResponse:
        request = billing_pb2.ReserveRequest(team_id=team_id, job_id=job_id, images=images)
        return self.call(self._stub.Reserve, request)

    def release(self, job_id: str, images: Iterable[int] = ()) -> billing_pb2.ReleaseResponse:
        request = billing_pb2.ReleaseRequest(job_id=job_id, images=list(images))
        return self.call(self._stub.Release, request)

    def create_checkout_session(
        self,
        team_id: str,
        *,
        plan: str = "",
        pack: str = "",
        success_url: str = "",
        cancel_url: str = "",
        customer_email: str = "",
    ) -> billing_pb2.CheckoutSession:
        """Exactly one of ``plan`` / ``pack``; empty URLs: billing's defaults."""
        request = billing_pb2.CreateCheckoutSessionRequest(
            team_id=team_id,
            plan=plan,
            pack=pack,
            success_url=success_url,
            cancel_url=cancel_url,
            customer_email=customer_email,
        )
        return self.call(self._stub.CreateCheckoutSession, request)

    def create_portal_session(
        self, team_id: str, return_url: str = ""
    ) -> billing_pb2.PortalSession:
        request = billing_pb2.CreatePortalSessionRequest(team_id=team_id, return_url=return_url)
        return self.call(self._stub.CreatePortalSession, request)

    def handle_webhook(self, payload: bytes, signature: str) -> billing_pb2.HandleWebhookResponse:
        """One Stripe webhook delivery: the raw body and its ``Stripe-Signature`` header."""
        request = billing_pb2.HandleWebhookRequest(payload=payload, signature=signature)
        return self.call(self._stub.HandleWebhook, request)

    def get_usage(self, team_id: str) -> billing_pb2.Usage:
        return self.call(self._stub.GetUsage, billing_pb2.GetUsageRequest(team_id=team_id))

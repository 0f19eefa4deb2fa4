"""The Stripe calls billing makes: a Checkout session, a Customer Portal session.

Every object billing asks Stripe to create carries the team in its metadata (the checkout
session, the subscription it starts, the payment intent of a pack), so each webhook names its
team by itself, whatever order the events arrive in. ``stripe_api_base`` points the client at
``globalpic-stripe-fake`` in development and tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import stripe
from stripe.params.checkout import SessionCreateParams

from globalpic_billing.plans import Catalog
from globalpic_billing.settings import BillingSettings
from globalpic_common import errors
from globalpic_common.errors import BadInputError, NotFoundError, ServiceUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckoutLink:
    id: str
    url: str


def stripe_client(settings: BillingSettings) -> stripe.StripeClient | None:
    """The Stripe client per settings; None without an API key (Checkout and the Portal are
    then unavailable, metering still works)."""
    if settings.stripe_api_key is None:
        return None
    return stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
        http_client=stripe.RequestsClient(timeout=settings.stripe_timeout_s),
        max_network_retries=2,
    )


class StripeGateway:
    def __init__(self, client: stripe.StripeClient | None, catalog: Catalog) -> None:
        self._client = client
        self.catalog = catalog

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            raise ServiceUnavailableError(
                "Stripe is not configured (GLOBALPIC_BILLING__STRIPE_API_KEY)",
                code=errors.STRIPE_UNAVAILABLE,
            )
        return self._client

    def checkout(
        self,
        team_id: str,
        *,
        plan: str,
        pack: str,
        success_url: str,
        cancel_url: str,
        customer: str | None,
        customer_email: str,
    ) -> CheckoutLink:
        """A Checkout session for a subscription plan (``plan``) or a credit pack (``pack``)."""
        if bool(plan) == bool(pack):
            raise BadInputError("give exactly one of plan or pack", code=errors.BAD_OPTION)
        item = plan or pack
        params: SessionCreateParams = {
            "client_reference_id": team_id,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if plan:
            spec = self.catalog.plan(plan)
            if not spec.subscription:
                raise BadInputError(f"plan {plan!r} is not sold", code=errors.UNKNOWN_PLAN)
            meta = {"team_id": team_id, "plan": spec.id}
            params["mode"] = "subscription"
            params["subscription_data"] = {"metadata": meta}
        else:
            meta = {"team_id": team_id, "pack": self.catalog.pack(pack).id}
            params["mode"] = "payment"
            params["payment_intent_data"] = {"metadata": meta}
            if customer is None:
                # A pack buyer needs a customer too, for the portal (invoices, refunds).
                params["customer_creation"] = "always"
        params["line_items"] = [{"price": self.catalog.price(item), "quantity": 1}]
        params["metadata"] = meta
        if customer is not None:
            params["customer"] = customer
        elif customer_email:
            params["customer_email"] = customer_email
        try:
            session = self.client.v1.checkout.sessions.create(params)
        except stripe.StripeError as exc:
            raise _unavailable("Checkout", exc) from None
        if not session.url:
            raise ServiceUnavailableError(
                "Stripe returned a checkout session without a URL", code=errors.STRIPE_UNAVAILABLE
            )
        return CheckoutLink(session.id, session.url)

    def portal(self, customer: str | None, return_url: str) -> str:
        """The Customer Portal's URL for the team's customer (to change or cancel a plan)."""
        if customer is None:
            raise NotFoundError(
                "no Stripe customer yet: the team has never paid", code=errors.NO_CUSTOMER
            )
        try:
            session = self.client.v1.billing_portal.sessions.create(
                {"customer": customer, "return_url": return_url}
            )
        except stripe.StripeError as exc:
            raise _unavailable("the Customer Portal", exc) from None
        return session.url


def _unavailable(what: str, exc: stripe.StripeError) -> ServiceUnavailableError:
    # Stripe's message names the problem (a wrong price id, a bad key); the user sees that
    # payment is unavailable, the log has the reason.
    log.error("Stripe refused %s: %s", what, exc.user_message or exc)
    return ServiceUnavailableError(
        f"Stripe could not open {what}: {exc.user_message or type(exc).__name__}",
        code=errors.STRIPE_UNAVAILABLE,
    )

"""Billing's values <-> ``globalpic.billing.v1`` messages."""

from __future__ import annotations

from globalpic.billing.v1 import billing_pb2
from globalpic_billing.metering import ReserveOutcome, Usage
from globalpic_billing.models import Invoice
from globalpic_billing.plans import PackSpec, PlanSpec
from globalpic_billing.standing import Standing
from globalpic_common.wire import rfc3339


def plan_to_proto(plan: PlanSpec) -> billing_pb2.Plan:
    return billing_pb2.Plan(**plan.model_dump())


def pack_to_proto(pack: PackSpec) -> billing_pb2.CreditPack:
    return billing_pb2.CreditPack(**pack.model_dump())


def account_to_proto(standing: Standing) -> billing_pb2.Account:
    subscription = standing.shown_subscription
    period_end = subscription.current_period_end if subscription is not None else None
    return billing_pb2.Account(
        team_id=standing.team_id,
        plan=plan_to_proto(standing.plan),
        remaining_images=standing.remaining_images,
        credits=standing.credits,
        trial_remaining=standing.trial_remaining,
        subscription_status=subscription.status if subscription is not None else "",
        current_period_end=rfc3339(period_end),
        images_this_month=standing.images_this_month,
        throttled=standing.throttled,
    )


def reserve_to_proto(outcome: ReserveOutcome) -> billing_pb2.ReserveResponse:
    return billing_pb2.ReserveResponse(
        granted=outcome.granted,
        remaining_images=outcome.remaining_images,
        reason=outcome.reason,
        message=outcome.message,
        retry_after_s=outcome.retry_after_s,
        unlock=list(outcome.unlock),
    )


def invoice_to_proto(invoice: Invoice) -> billing_pb2.Invoice:
    return billing_pb2.Invoice(
        id=invoice.id,
        amount_paid_cents=invoice.amount_paid_cents,
        currency=invoice.currency,
        status=invoice.status,
        created_at=rfc3339(invoice.created_at),
        hosted_invoice_url=invoice.hosted_invoice_url,
    )


def usage_to_proto(usage: Usage) -> billing_pb2.Usage:
    standing = usage.standing
    return billing_pb2.Usage(
        account=account_to_proto(standing),
        images_charged=standing.images_charged,
        images_reserved=standing.images_reserved,
        credits_bought=standing.credits_bought,
        credits_used=standing.credits_used,
        invoices=[invoice_to_proto(invoice) for invoice in usage.invoices],
    )

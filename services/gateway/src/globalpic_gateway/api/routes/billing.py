"""``/v1/billing``: plans, Stripe Checkout and the Customer Portal, usage, Stripe's webhook.

Owners manage billing (checkout, portal); owners and admins read usage; members see neither.
The webhook is authenticated by its ``Stripe-Signature`` alone (no API key, no rate limit):
the billing service verifies it and applies each event once.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Request

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_gateway.account_schemas import (
    CheckoutIn,
    PackCheckoutIn,
    PackOut,
    PlanCheckoutIn,
    PlanOut,
    PlansOut,
    UrlOut,
    UsageOut,
    WebhookOut,
)
from globalpic_gateway.api.deps import ManagerDep, OwnerDep, StateDep
from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ACCOUNTS_OFF, ApiError, problem_responses

router = APIRouter(prefix="/v1/billing", tags=["billing"], responses=ACCOUNTS_OFF)

# Stripe's events are a few KB; anything near this is not Stripe.
MAX_WEBHOOK_BYTES = 1024 * 1024


@router.get(
    "/plans",
    response_model=PlansOut,
    summary="The plans and credit packs, with their prices and limits",
    responses=problem_responses(503),
)
async def plans(state: StateDep) -> PlansOut:
    found = await asyncio.to_thread(state.billing_service.list_plans)
    return PlansOut(
        plans=[PlanOut.of(p) for p in found.plans], packs=[PackOut.of(p) for p in found.packs]
    )


@router.post(
    "/checkout",
    response_model=UrlOut,
    summary="A Stripe Checkout page for a plan or a credit pack: send the user to `url`",
    responses=problem_responses(401, 403, 422, 503),
)
async def checkout(body: CheckoutIn, owner: OwnerDep, state: StateDep) -> UrlOut:
    me = await asyncio.to_thread(state.auth.get_me, owner.user_id or "", owner.id)
    session = await asyncio.to_thread(
        state.billing_service.create_checkout_session,
        owner.id,
        plan=body.plan if isinstance(body, PlanCheckoutIn) else "",
        pack=body.pack if isinstance(body, PackCheckoutIn) else "",
        success_url=body.success_url or "",
        cancel_url=body.cancel_url or "",
        customer_email=me.user.email,
    )
    state.billing.forget(owner.id)
    return UrlOut(url=session.url)


@router.post(
    "/portal",
    response_model=UrlOut,
    summary="The Stripe Customer Portal (change or cancel the plan, invoices): go to `url`",
    responses=problem_responses(401, 403, 422, 503),
)
async def portal(owner: OwnerDep, state: StateDep) -> UrlOut:
    session = await asyncio.to_thread(state.billing_service.create_portal_session, owner.id, "")
    return UrlOut(url=session.url)


@router.get(
    "/usage",
    response_model=UsageOut,
    summary="Your team's plan, images charged and held, credits, invoices",
    responses=problem_responses(401, 403, 503),
)
async def usage(manager: ManagerDep, state: StateDep) -> UsageOut:
    return UsageOut.of(await asyncio.to_thread(state.billing_service.get_usage, manager.id))


@router.post(
    "/webhook",
    response_model=WebhookOut,
    summary="Stripe's webhook (verified by its signature)",
    responses=problem_responses(400, 413, 503),
)
async def webhook(
    request: Request,
    state: StateDep,
    stripe_signature: Annotated[str, Header(alias="Stripe-Signature")] = "",
) -> WebhookOut:
    payload = await request.body()
    if len(payload) > MAX_WEBHOOK_BYTES:
        raise ApiError(413, problems.REQUEST_TOO_LARGE, "a webhook body is at most 1 MiB")
    if not stripe_signature:
        raise ApiError(400, errors.BAD_SIGNATURE, "no Stripe-Signature header")
    try:
        answer = await asyncio.to_thread(
            state.billing_service.handle_webhook, payload, stripe_signature
        )
    except BadInputError as exc:  # bad_signature, a payload that is not an event: Stripe's 400
        raise ApiError(400, exc.code, exc.message) from exc
    return WebhookOut(applied=answer.applied)

"""Plans and packs as data: the defaults of the issue, overridable from the environment, and
what would unlock a request."""

from __future__ import annotations

import json

import pytest

from globalpic_billing.plans import FREE, PAYG, PERSONAL, Catalog, Pool, pool_for
from globalpic_billing.settings import BillingSettings
from globalpic_common import errors
from globalpic_common.errors import BadInputError


def test_the_default_plans_and_packs(catalog: Catalog) -> None:
    free, payg = catalog.plan(FREE), catalog.plan(PAYG)
    personal, enterprise = catalog.plan(PERSONAL), catalog.plan("enterprise")
    assert (free.included_images, free.max_batch, free.max_output_px) == (3, 3, 2048)
    assert (payg.image_price_cents, payg.max_batch, payg.max_output_px) == (50, 50, 2048)
    assert (personal.monthly_price_cents, personal.max_batch, personal.max_output_px) == (
        1900,
        50,
        3840,
    )
    assert (personal.fair_use_images, personal.throttle_seconds) == (2000, 60)
    assert (enterprise.monthly_price_cents, enterprise.max_batch) == (9900, 500)
    assert enterprise.api_keys and enterprise.team_members and not personal.api_keys
    assert [(p.id, p.images, p.price_cents) for p in catalog.packs] == [
        ("pack_10", 10, 500),
        ("pack_50", 50, 2500),
        ("pack_200", 200, 10000),
    ]
    assert [pool_for(catalog.plan(p)) for p in (FREE, PAYG, PERSONAL)] == [
        Pool.TRIAL,
        Pool.CREDITS,
        Pool.SUBSCRIPTION,
    ]


def test_unknown_plan_and_pack_keep_their_codes(catalog: Catalog) -> None:
    with pytest.raises(BadInputError) as plan:
        catalog.plan("gold")
    with pytest.raises(BadInputError) as pack:
        catalog.pack("pack_3")
    assert (plan.value.code, pack.value.code) == (errors.UNKNOWN_PLAN, errors.UNKNOWN_PACK)


def test_unlock_offers_the_smallest_pack_and_the_plans_that_fit(catalog: Catalog) -> None:
    free = catalog.plan(FREE)
    assert catalog.unlocks(5, free) == ["payg:pack_10", PERSONAL, "enterprise"]
    assert catalog.unlocks(40, free) == ["payg:pack_50", PERSONAL, "enterprise"]
    assert catalog.unlocks(120, free) == ["enterprise"]  # past payg's and personal's batch
    assert catalog.unlocks(1, catalog.plan(PERSONAL)) == ["enterprise"]  # fair use


def test_settings_take_plans_packs_and_prices_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    plans = [p.model_dump() for p in BillingSettings().plans]
    plans[0]["included_images"] = 5
    monkeypatch.setenv("GLOBALPIC_BILLING__PLANS", json.dumps(plans))
    monkeypatch.setenv(
        "GLOBALPIC_BILLING__PACKS", json.dumps([{"id": "pack_5", "images": 5, "price_cents": 300}])
    )
    monkeypatch.setenv("GLOBALPIC_BILLING__STRIPE_PRICES", json.dumps({"personal": "price_123"}))
    catalog = BillingSettings().catalog()
    assert catalog.plan(FREE).included_images == 5
    assert [p.id for p in catalog.packs] == ["pack_5"]
    # one price set alone; the others keep their defaults
    assert catalog.price(PERSONAL) == "price_123"
    assert catalog.price("enterprise") == "price_enterprise_monthly"
    assert catalog.plan_for_price("price_123") == catalog.plan(PERSONAL)


def test_production_refuses_to_start_without_stripe_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GLOBALPIC_ENV", "production")
    with pytest.raises(ValueError, match="STRIPE_API_KEY"):
        BillingSettings()
    monkeypatch.setenv("GLOBALPIC_BILLING__STRIPE_API_KEY", "sk_live_x")
    monkeypatch.setenv("GLOBALPIC_BILLING__STRIPE_WEBHOOK_SECRET", "whsec_x")
    assert BillingSettings().stripe_api_key is not None
    monkeypatch.setenv("GLOBALPIC_ENV", "development")
    monkeypatch.delenv("GLOBALPIC_BILLING__STRIPE_API_KEY")
    assert BillingSettings().stripe_api_key is None

"""Reserve, settle, release: each plan's pool and limits, refusals that say why, and images
billed exactly once (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from globalpic_billing.metering import (
    BATCH_TOO_LARGE,
    PAYMENT_REQUIRED,
    QUOTA_EXCEEDED,
    THROTTLED,
    Meter,
    Settled,
)
from globalpic_billing.plans import PERSONAL, Catalog
from globalpic_billing.webhooks import WebhookHandler
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from services.billing.tests.helpers import ManualClock, StripeScript, deliver


def _replay(handler: WebhookHandler, script: StripeScript) -> None:
    for event in script.events:
        deliver(handler, event)


def test_a_new_team_is_on_the_free_trial(meter: Meter) -> None:
    standing = meter.standing("acme")
    assert (standing.plan.id, standing.trial_remaining, standing.remaining_images) == ("free", 3, 3)
    assert meter.standing("acme").plan.id == "free"  # created once, read after


def test_free_trial_reserve_refuse_and_settle(meter: Meter) -> None:
    assert meter.reserve("acme", "job1", 2).remaining_images == 1
    refused = meter.reserve("acme", "job2", 2)
    assert not refused.granted and refused.reason == QUOTA_EXCEEDED
    assert refused.remaining_images == 1 and "1 image left" in refused.message
    assert refused.unlock == ("payg:pack_10", "personal", "enterprise")
    too_big = meter.reserve("acme", "job3", 4)
    assert (too_big.granted, too_big.reason) == (False, BATCH_TOO_LARGE)
    # the same job asked again: the same answer, nothing more held
    assert meter.reserve("acme", "job1", 2).granted
    assert meter.standing("acme").trial_remaining == 1

    assert meter.settle("job1", 0, completed=True, cached=False) is Settled.CHARGED
    assert meter.settle("job1", 0, completed=True, cached=False) is Settled.UNCHANGED
    assert meter.settle("job1", 1, completed=False, cached=False) is Settled.RELEASED
    standing = meter.standing("acme")
    assert (standing.images_charged, standing.trial_remaining) == (1, 2)
    # a charged image never changes again; a failed one is not charged later either
    assert meter.settle("job1", 0, completed=False, cached=False) is Settled.UNCHANGED
    assert meter.settle("job1", 1, completed=True, cached=False) is Settled.UNCHANGED
    assert meter.release("job1") == 0
    assert meter.standing("acme").images_charged == 1


def test_cached_images_and_unmetered_jobs_are_not_billed(meter: Meter) -> None:
    meter.reserve("acme", "job", 3)
    assert meter.settle("job", 0, completed=True, cached=True) is Settled.RELEASED
    assert meter.settle("other-job", 0, completed=True, cached=False) is Settled.UNMETERED
    assert meter.standing("acme").images_charged == 0


def test_release_gives_back_what_a_job_still_holds(meter: Meter) -> None:
    meter.reserve("acme", "job", 3)
    meter.settle("job", 0, completed=True, cached=False)
    assert meter.release("job", [1]) == 1
    assert meter.release("job", [1]) == 0
    assert meter.release("job") == 1
    standing = meter.standing("acme")
    assert (standing.images_reserved, standing.images_charged, standing.trial_remaining) == (
        0,
        1,
        2,
    )


def test_holds_without_an_event_are_given_back_after_the_max_age(
    meter: Meter, clock: ManualClock
) -> None:
    meter.reserve("acme", "lost-job", 2)  # the gateway died before queueing it
    clock.advance(3600)
    meter.reserve("acme", "live-job", 1)
    assert meter.release_stale(2 * 3600) == 0
    clock.advance(3601)
    assert meter.release_stale(2 * 3600) == 2  # the lost job's, not the live one
    assert meter.settle("lost-job", 0, completed=True, cached=False) is Settled.UNCHANGED
    standing = meter.standing("acme")
    assert (standing.images_reserved, standing.trial_remaining) == (1, 2)


def test_bad_requests_are_bad_options(meter: Meter) -> None:
    for team, job, images in (("", "job", 1), ("acme", "", 1), ("acme", "job", 0)):
        with pytest.raises(BadInputError) as caught:
            meter.reserve(team, job, images)
        assert caught.value.code == errors.BAD_OPTION


def test_payg_draws_on_credits(meter: Meter, webhooks: WebhookHandler) -> None:
    script = StripeScript()
    script.buy("acme", "pack_10")
    _replay(webhooks, script)
    standing = meter.standing("acme")
    assert (standing.plan.id, standing.credits) == ("payg", 10)
    assert meter.reserve("acme", "job1", 8).remaining_images == 2
    refused = meter.reserve("acme", "job2", 3)
    assert (refused.reason, refused.remaining_images) == (QUOTA_EXCEEDED, 2)
    assert refused.unlock[0] == "payg:pack_10"
    for n in range(8):
        meter.settle("job1", n, completed=n < 6, cached=False)
    standing = meter.standing("acme")
    assert (standing.credits, standing.credits_used, standing.credits_bought) == (4, 6, 10)


def test_a_past_due_subscription_requires_payment(meter: Meter, webhooks: WebhookHandler) -> None:
    script = StripeScript()
    subscription = script.subscribe("acme", PERSONAL)
    _replay(webhooks, script)
    assert meter.reserve("acme", "job1", 50).remaining_images == -1
    script.renew(subscription, paid=False)
    _replay(webhooks, script)
    refused = meter.reserve("acme", "job2", 1)
    assert (refused.granted, refused.reason, refused.remaining_images) == (
        False,
        PAYMENT_REQUIRED,
        0,
    )
    script.renew(subscription, paid=True)
    _replay(webhooks, script)
    assert meter.reserve("acme", "job2", 1).granted


def test_personal_fair_use_throttles_to_one_image_a_minute(
    engine: Engine, catalog: Catalog, clock: ManualClock, webhooks: WebhookHandler
) -> None:
    plans = [
        p.model_copy(update={"fair_use_images": 3}) if p.id == PERSONAL else p
        for p in catalog.plans
    ]
    meter = Meter(engine, Catalog(tuple(plans), catalog.packs, catalog.prices), clock=clock)
    script = StripeScript()
    script.subscribe("acme", PERSONAL)
    _replay(webhooks, script)
    assert meter.reserve("acme", "job1", 3).granted
    for n in range(3):
        meter.settle("job1", n, completed=True, cached=False)
    assert meter.standing("acme").throttled
    batch = meter.reserve("acme", "job2", 2)
    assert (batch.granted, batch.reason, batch.unlock) == (False, THROTTLED, ("enterprise",))
    assert meter.reserve("acme", "job3", 1).granted
    clock.advance(20)
    wait = meter.reserve("acme", "job4", 1)
    assert (wait.reason, wait.retry_after_s) == (THROTTLED, 40)
    clock.advance(40)
    assert meter.reserve("acme", "job4", 1).granted
    clock.advance(31 * 24 * 3600)  # a new calendar month
    assert meter.reserve("acme", "job5", 2).granted
    assert not meter.standing("acme").throttled


def test_enterprise_takes_batches_of_500(meter: Meter, webhooks: WebhookHandler) -> None:
    script = StripeScript()
    script.subscribe("acme", "enterprise")
    _replay(webhooks, script)
    assert meter.reserve("acme", "job1", 500).granted
    assert meter.reserve("acme", "job2", 501).reason == BATCH_TOO_LARGE

"""A generated history: many webhook deliveries (duplicated, shuffled), reservations, and
each image's ``done`` delivered several times (runner redeliveries), failing, answered from
the cache or released. Whatever the order: charged == completed non-cached images, and each
team's credits == bought - used."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from globalpic_billing.metering import Meter
from globalpic_billing.webhooks import WebhookHandler
from services.billing.tests.helpers import StripeScript, deliver

PACK_IMAGES = {"pack_10": 10, "pack_50": 50}


@dataclass
class Team:
    id: str
    kind: str  # free, payg, personal
    bought: int = 0
    charged: set[tuple[str, int]] = field(default_factory=set)


@pytest.mark.parametrize("seed", [7, 11])
def test_a_shuffled_history_bills_each_completed_image_once(
    meter: Meter, webhooks: WebhookHandler, seed: int
) -> None:
    rng = random.Random(seed)
    script = StripeScript()
    teams = [Team(f"team-{n}", ("free", "payg", "personal")[n % 3]) for n in range(9)]
    for team in teams:
        if team.kind == "payg":
            for pack in rng.choices(list(PACK_IMAGES), k=rng.randint(1, 3)):
                script.buy(team.id, pack)
                team.bought += PACK_IMAGES[pack]
        elif team.kind == "personal":
            subscription = script.subscribe(team.id)
            script.renew(subscription, paid=True)
    deliveries = [e for e in script.events for _ in range(rng.randint(1, 3))]
    for event in rng.sample(deliveries, len(deliveries)):
        deliver(webhooks, event)

    # Jobs: reserve; each granted image completes, fails, comes from the cache or never runs
    # (released); every done is delivered 1-3 times, all settlements shuffled together.
    settlements: list[tuple[str, str, int, str]] = []
    granted = Counter[str]()
    for n in range(60):
        team = rng.choice(teams)
        job = f"job-{n}"
        size = rng.randint(1, 8)
        if not meter.reserve(team.id, job, size).granted:
            continue
        granted[team.id] += size
        for image in range(size):
            outcome = rng.choice(("completed", "completed", "failed", "cached", "released"))
            if outcome == "completed":
                team.charged.add((job, image))
            repeats = 1 if outcome == "released" else rng.randint(1, 3)
            settlements += [(team.id, job, image, outcome)] * repeats
    for _, job, image, outcome in rng.sample(settlements, len(settlements)):
        if outcome == "released":
            meter.release(job, [image])
        else:
            meter.settle(job, image, completed=outcome != "failed", cached=outcome == "cached")
        # a webhook redelivered now and then, between settlements
        if rng.random() < 0.05:
            assert not deliver(webhooks, rng.choice(script.events)).applied

    assert sum(granted.values()) > 60  # the history did exercise billing
    for team in teams:
        standing = meter.standing(team.id)
        assert standing.images_charged == len(team.charged), team
        assert standing.images_reserved == 0
        assert standing.plan.id == team.kind
        if team.kind == "payg":
            assert standing.credits_bought == team.bought
            assert standing.credits_used == len(team.charged)
            assert standing.credits == team.bought - standing.credits_used
        if team.kind == "free":
            assert standing.trial_remaining == 3 - len(team.charged)

"""Plans and credit packs as data, and what each allows.

The numbers live in settings (``GLOBALPIC_BILLING__PLANS`` / ``__PACKS`` as JSON) so a price
or a limit changes without a release; the code only knows the four plan ids, because each draws
on a different pool (the free trial, prepaid credits, a subscription).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field

from globalpic_common import errors
from globalpic_common.errors import BadInputError

FREE = "free"
PAYG = "payg"
PERSONAL = "personal"
ENTERPRISE = "enterprise"
PLAN_IDS = (FREE, PAYG, PERSONAL, ENTERPRISE)


class Pool(StrEnum):
    """What a reserved image is drawn from (the effective plan decides)."""

    TRIAL = "trial"
    CREDITS = "credits"
    SUBSCRIPTION = "subscription"


class PlanSpec(BaseModel):
    """One plan; the fields mirror ``globalpic.billing.v1.Plan``."""

    id: str
    name: str
    monthly_price_cents: int = Field(0, ge=0)
    image_price_cents: int = Field(0, ge=0)
    included_images: int = Field(0, ge=0, description="Images in total (free trial); 0: none")
    max_batch: int = Field(ge=1)
    max_output_px: int = Field(ge=1)
    fair_use_images: int = Field(0, ge=0, description="Images a month before the throttle")
    throttle_seconds: int = Field(0, ge=0)
    api_keys: bool = False
    team_members: bool = False
    subscription: bool = False


class PackSpec(BaseModel):
    """A prepaid credit pack (payg): ``images`` credits for ``price_cents``."""

    id: str
    images: int = Field(ge=1)
    price_cents: int = Field(ge=0)


PAYG_IMAGE_CENTS = 50

DEFAULT_PLANS: tuple[PlanSpec, ...] = (
    PlanSpec(id=FREE, name="Free trial", included_images=3, max_batch=3, max_output_px=2048),
    PlanSpec(
        id=PAYG,
        name="Pay as you go",
        image_price_cents=PAYG_IMAGE_CENTS,
        max_batch=50,
        max_output_px=2048,
    ),
    PlanSpec(
        id=PERSONAL,
        name="Personal",
        monthly_price_cents=1900,
        max_batch=50,
        max_output_px=3840,
        fair_use_images=2000,
        throttle_seconds=60,
        subscription=True,
    ),
    PlanSpec(
        id=ENTERPRISE,
        name="Enterprise",
        monthly_price_cents=9900,
        max_batch=500,
        max_output_px=3840,
        api_keys=True,
        team_members=True,
        subscription=True,
    ),
)
DEFAULT_PACKS: tuple[PackSpec, ...] = tuple(
    PackSpec(id=f"pack_{n}", images=n, price_cents=n * PAYG_IMAGE_CENTS) for n in (10, 50, 200)
)


def pool_for(plan: PlanSpec) -> Pool:
    if plan.subscription:
        return Pool.SUBSCRIPTION
    return Pool.CREDITS if plan.id == PAYG else Pool.TRIAL


def pack_option(pack: PackSpec) -> str:
    """How a pack appears in ``ReserveResponse.unlock``: ``payg:pack_10``."""
    return f"{PAYG}:{pack.id}"


@dataclass(frozen=True)
class Catalog:
    """The plans and packs in force, with lookups by id and by Stripe price."""

    plans: tuple[PlanSpec, ...]
    packs: tuple[PackSpec, ...]
    # Stripe price id per plan / pack id.
    prices: dict[str, str]

    def __post_init__(self) -> None:
        missing = set(PLAN_IDS) - {plan.id for plan in self.plans}
        if missing:
            raise ValueError(f"plans must define {sorted(missing)}")

    def plan(self, plan_id: str) -> PlanSpec:
        for plan in self.plans:
            if plan.id == plan_id:
                return plan
        raise BadInputError(f"unknown plan {plan_id!r}", code=errors.UNKNOWN_PLAN)

    def pack(self, pack_id: str) -> PackSpec:
        for pack in self.packs:
            if pack.id == pack_id:
                return pack
        raise BadInputError(f"unknown credit pack {pack_id!r}", code=errors.UNKNOWN_PACK)

    def price(self, item_id: str) -> str:
        try:
            return self.prices[item_id]
        except KeyError:
            raise BadInputError(
                f"{item_id!r} has no Stripe price configured", code=errors.UNKNOWN_PLAN
            ) from None

    def plan_for_price(self, price_id: str) -> PlanSpec | None:
        """The subscription plan sold at ``price_id`` (a portal plan switch changes the price,
        not the metadata, so the price is what says which plan a subscription is on)."""
        for plan in self.plans:
            if plan.subscription and self.prices.get(plan.id) == price_id:
                return plan
        return None

    def unlocks(self, images: int, current: PlanSpec) -> list[str]:
        """The packs and plans that would let a team on ``current`` submit ``images`` now."""
        options: list[str] = []
        if not current.subscription and images <= self.plan(PAYG).max_batch:
            # the smallest pack that covers the request is the one to offer
            enough = sorted((p for p in self.packs if p.images >= images), key=lambda p: p.images)
            options.extend(pack_option(p) for p in enough[:1])
        options.extend(
            plan.id
            for plan in self.plans
            if plan.subscription
            and plan.id != current.id
            and images <= plan.max_batch
            and _fair_use_rank(plan) > _fair_use_rank(current)
        )
        return options


def _fair_use_rank(plan: PlanSpec) -> float:
    # A subscription helps only when it allows more in a month than the current plan does.
    if not plan.subscription:
        return 0
    return float("inf") if plan.fair_use_images == 0 else plan.fair_use_images


def catalog_of(
    plans: Sequence[PlanSpec], packs: Sequence[PackSpec], prices: dict[str, str]
) -> Catalog:
    return Catalog(tuple(plans), tuple(packs), dict(prices))

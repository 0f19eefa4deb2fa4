"""The gateway's side of billing: a tenant's plan limits, and holding images for a job.

Settings-key tenants (``make dev``, self-hosted) are not metered: their limits come from
``batch_limits``. A team of the auth service is metered by the billing service: its plan
limits (batch size, output size, features) are cached for ``plan_cache_seconds``; what it has
left is never cached: ``Reserve`` decides, under the account's lock, for every submission.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import TTLCache

from globalpic_common.settings import current_environment
from globalpic_gateway.core import problems
from globalpic_gateway.core.auth import Tenant
from globalpic_gateway.core.config import GatewaySettings
from globalpic_gateway.core.problems import ApiError

if TYPE_CHECKING:
    from globalpic_clients.billing import BillingClient


@dataclass(frozen=True)
class PlanLimits:
    plan: str
    max_batch: int
    max_output_px: int | None  # None: not limited
    api_keys: bool
    team_members: bool


# Reserve's refusals as HTTP (status, problem code): over quota / unpaid -> 402, a batch over
# the plan's size -> 413 (as the upload limit says it), fair-use throttling -> 429.
_REFUSALS = {
    "quota_exceeded": (402, problems.QUOTA_EXCEEDED),
    "payment_required": (402, problems.PAYMENT_REQUIRED),
    "batch_too_large": (413, problems.TOO_MANY_IMAGES),
    "throttled": (429, problems.THROTTLED),
}


class Billing:
    def __init__(self, settings: GatewaySettings, client: BillingClient | None) -> None:
        self.settings = settings
        self.client = client
        self._limits: TTLCache[str, PlanLimits] = TTLCache(100_000, settings.plan_cache_seconds)

    def metered(self, tenant: Tenant) -> bool:
        return tenant.metered and self.client is not None

    async def limits(self, tenant: Tenant) -> PlanLimits:
        if not self.metered(tenant):
            # Operator-configured tenants: every feature, the batch size of their plan.
            return PlanLimits(tenant.plan, self.settings.batch_limit(tenant.plan), None, True, True)
        cached = self._limits.get(tenant.id)
        if cached is not None:
            return cached
        assert self.client is not None
        account = await asyncio.to_thread(self.client.get_account, tenant.id)
        plan = account.plan
        limits = PlanLimits(
            plan.id,
            plan.max_batch,
            plan.max_output_px or None,
            # make dev: every team may try API keys whatever its plan
            plan.api_keys or current_environment() == "development",
            plan.team_members,
        )
        self._limits[tenant.id] = limits
        return limits

    def forget(self, team_id: str) -> None:
        """A plan just changed (a webhook arrived through this gateway)."""
        self._limits.pop(team_id, None)

    async def reserve(self, tenant: Tenant, job_id: str, images: int) -> None:
        """Hold ``images`` images for the job, or raise the refusal as problem+json."""
        if not self.metered(tenant):
            return
        assert self.client is not None
        answer = await asyncio.to_thread(self.client.reserve, tenant.id, job_id, images)
        if answer.granted:
            return
        status, code = _REFUSALS.get(answer.reason, (402, problems.QUOTA_EXCEEDED))
        headers = {"Retry-After": str(answer.retry_after_s)} if answer.retry_after_s else None
        raise ApiError(
            status,
            code,
            answer.message or f"your plan does not allow {images} more images",
            headers=headers,
            reason=answer.reason,
            remaining=answer.remaining_images,
            unlock=list(answer.unlock),
        )

    async def release(self, tenant: Tenant, job_id: str) -> None:
        """Give back what a job that was never queued holds."""
        if not self.metered(tenant):
            return
        assert self.client is not None
        await asyncio.to_thread(self.client.release, job_id)

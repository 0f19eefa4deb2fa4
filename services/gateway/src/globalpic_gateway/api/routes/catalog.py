"""``/v1/styles`` and ``/v1/platforms``: the catalogs a job's ``style`` / ``platform`` name."""

from __future__ import annotations

from fastapi import APIRouter

from globalpic_common.platforms import PLATFORMS, Platform
from globalpic_common.styles import STYLES, Style
from globalpic_gateway.api.deps import TenantDep
from globalpic_gateway.core.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get(
    "/styles",
    response_model=list[Style],
    summary="Remix background styles",
    responses=problem_responses(401),
)
def list_styles(tenant: TenantDep) -> list[Style]:
    del tenant  # authenticated like every route; the catalog is the same for every tenant
    return list(STYLES)


@router.get(
    "/platforms",
    response_model=list[Platform],
    summary="Marketplace frames and their rules",
    responses=problem_responses(401),
)
def list_platforms(tenant: TenantDep) -> list[Platform]:
    del tenant
    return list(PLATFORMS.values())

"""``/v1/styles`` and ``/v1/platforms``: the catalogs a job's ``style`` / ``platform`` name."""

from __future__ import annotations

import hashlib
from functools import cache

from fastapi import APIRouter, Header, Response

from globalpic_common.errors import BadInputError
from globalpic_common.platforms import PLATFORMS, Platform
from globalpic_common.styles import STYLES, Style, preview_path
from globalpic_gateway.api.deps import TenantDep
from globalpic_gateway.core.problems import ApiError, problem_responses

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


@cache
def _preview(style_id: str) -> tuple[bytes, str]:
    """The preview's bytes and ETag (package data: they change only with a release)."""
    data = preview_path(style_id).read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


@router.get(
    "/styles/{style_id}/preview",
    summary="A style's preview image",
    description="A small JPEG of the style rendered by our own remixer behind a sample "
    "product. Public (no token: an `<img>` cannot send one) and cacheable.",
    response_class=Response,
    responses={
        200: {"description": "The preview", "content": {"image/jpeg": {}}},
        304: {"description": "Not modified (If-None-Match)"},
        **problem_responses(404),
    },
)
def style_preview(
    style_id: str, if_none_match: str | None = Header(None, alias="If-None-Match")
) -> Response:
    try:
        data, etag = _preview(style_id)
    except BadInputError as exc:  # unknown_style
        raise ApiError(404, exc.code, exc.message) from exc
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if if_none_match is not None and etag in (tag.strip() for tag in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)

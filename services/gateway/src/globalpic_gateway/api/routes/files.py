"""``GET /v1/files/<key>?expires=&signature=``: downloads through a signed URL.

The local-disk storage backend signs URLs for this path (``presign_get``); the signature, not
an API key, is the credential, and it covers the key and the expiry. In process the backend
verifies them; behind the storage service (``GLOBALPIC_GATEWAY__STORAGE_ADDR``) the gateway
verifies them with the shared ``GLOBALPIC_STORAGE__SIGNING_KEY`` and streams the object through
the client (``globalpic_gateway.core.storage``). S3 serves its own signed URLs, so with the S3
backend in process this path has nothing to serve (404).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from globalpic_common.errors import BadInputError
from globalpic_gateway.api import views
from globalpic_gateway.api.deps import StateDep
from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ApiError, problem_responses

router = APIRouter(prefix="/v1/files", tags=["results"])


@router.get(
    "/{key:path}",
    summary="Download an object through a signed URL",
    response_class=StreamingResponse,
    responses={200: {"description": "The object"}, **problem_responses(403, 404)},
)
async def signed_file(
    key: str,
    request: Request,
    state: StateDep,
    expires: Annotated[
        str | None, Query(description="Unix time the URL stops working (signed)")
    ] = None,
    signature: Annotated[str | None, Query(description="The URL's signature")] = None,
) -> StreamingResponse:
    # The whole URL is verified, path and query together (a missing part fails the check).
    del key, expires, signature
    verify = getattr(state.storage, "verify_signed", None)
    if verify is None:
        raise ApiError(404, problems.NOT_FOUND, "this storage backend serves its own URLs")
    url = request.url.path + ("?" + request.url.query if request.url.query else "")

    def open_object() -> tuple[str, Iterator[bytes]]:
        try:
            signed = verify(url)
            return signed.key, state.storage.iter_chunks(signed.tenant_id, signed.key)
        except BadInputError as exc:
            status = 404 if exc.code == "object_not_found" else 403
            raise ApiError(status, exc.code, exc.message) from exc

    object_key, chunks = await asyncio.to_thread(open_object)
    return StreamingResponse(chunks, media_type=views.content_type_of(object_key))

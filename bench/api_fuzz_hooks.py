"""Schemathesis hooks of ``make bench-api`` (loaded through ``SCHEMATHESIS_HOOKS``).

A schema can say "binary" but not "a photo of at least 512 px": random bytes would only ever
reach the upload's first check. Every generated ``images`` array gets real photos instead, so
the requests go on to the options, the storage, the database and the queue.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from globalpic_gateway.testing import photo_bytes

_PHOTO = photo_bytes(512, seed=3)


@schemathesis.hook  # type: ignore[untyped-decorator]  # installed by make bench-api only
def map_body(context: Any, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    images = body.get("images")
    if isinstance(images, list):
        return {**body, "images": [_PHOTO for _ in images]}
    if isinstance(images, (bytes, str)):  # one file sent as the field itself
        return {**body, "images": _PHOTO}
    return body

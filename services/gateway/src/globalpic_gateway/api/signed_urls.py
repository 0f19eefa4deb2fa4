"""Short-lived signed download URLs in job views (``OutputOut.signed_url``).

``GET /v1/jobs/{id}`` shows each result with a URL a client can fetch without its API key:
``Storage.presign_get`` makes it (S3: a presigned S3 URL; local disk: a gateway path
``/v1/files/...`` that ``routes/files.py`` verifies). That route is polled by every client, so a
URL is signed once and reused for half its lifetime (a URL shown still has at least half of it
left), and a storage that fails is left alone for a few seconds: the view then shows the
fields null rather than failing or waiting on storage at every poll.

``sign`` blocks (the storage service's client is a gRPC call, local disk checks the file):
the job view calls it from its worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cachetools import TTLCache

from globalpic_common.errors import BadInputError
from globalpic_storage import Storage

log = logging.getLogger("globalpic.gateway")

# After storage failed to sign (down, timing out), the views skip signing for this long:
# a poll must not wait on a dead storage service for each of a job's results.
RETRY_AFTER_FAILURE_S = 10.0


@dataclass(frozen=True, slots=True)
class SignedUrl:
    url: str
    expires_at: datetime


class UrlSigner:
    """``presign_get`` with a cache per (tenant, key); thread-safe. ``ttl_seconds`` 0: off."""

    def __init__(
        self,
        storage: Storage,
        ttl_seconds: int,
        *,
        max_urls: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        # Kept for half the TTL: a URL handed out from the cache has at least half its life left.
        self._cache: TTLCache[tuple[str, str], SignedUrl] = TTLCache(
            maxsize=max_urls, ttl=max(ttl_seconds, 1) / 2, timer=clock
        )
        self._lock = threading.Lock()
        self._failed_at: float | None = None  # when storage last failed to sign

    def sign(self, tenant_id: str, key: str) -> SignedUrl | None:
        """The object's signed URL (as storage gives it: absolute, or a path of this API), or
        None: signing off, storage failing, or no such object (a warning is logged)."""
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            cached = self._cache.get((tenant_id, key))
            failed_at = self._failed_at
            resting = failed_at is not None and self._clock() - failed_at < RETRY_AFTER_FAILURE_S
        if cached is not None or resting:
            return cached
        # The clock is read before signing, so the expiry shown is never later than the URL's
        # own (both round the time down to the second; at most the call's duration earlier).
        expires_at = int(self._clock()) + self.ttl_seconds
        try:
            url = self.storage.presign_get(tenant_id, key, self.ttl_seconds)
        except BadInputError as exc:  # this object only (gone, a bad key): not storage's health
            log.warning("no signed URL for %s: %s", key, exc)
            return None
        except Exception as exc:  # storage itself failed: fall back to unsigned views a while
            log.warning("storage could not sign URLs; views show none for a while: %s", exc)
            with self._lock:
                self._failed_at = self._clock()
            return None
        signed = SignedUrl(url, datetime.fromtimestamp(expires_at, UTC))
        with self._lock:
            self._cache[(tenant_id, key)] = signed
        return signed


def absolute(url: str, base_url: str) -> str:
    """``url`` as a client can fetch it as is: a path (local disk signs ``/v1/files/...``) is
    put under the request's base URL (which carries the prefix a proxy mounts the API under);
    an absolute URL (S3) is left alone."""
    if urlsplit(url).scheme:
        return url
    return base_url.rstrip("/") + "/" + url.lstrip("/")

"""What the API's routes share, built once at startup: settings, database, storage, auth, NATS.

NATS is connected in the background and reconnected by the client: the gateway starts (and
``/healthz`` answers) while NATS is still coming up; ``/readyz`` and job submission say 503
until it is there.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy.engine import Engine

from globalpic_gateway.api.signed_urls import UrlSigner
from globalpic_gateway.api.views import FinishedImageCache
from globalpic_gateway.core import problems
from globalpic_gateway.core.auth import Authenticator
from globalpic_gateway.core.billing import Billing
from globalpic_gateway.core.config import GatewaySettings
from globalpic_gateway.core.event_feed import JobEventFeed
from globalpic_gateway.core.problems import ApiError
from globalpic_jobs.db import reads_engine
from globalpic_jobs.publisher import JobEvents
from globalpic_jobs.queue import Subjects, connect, ensure_streams
from globalpic_storage import Storage

if TYPE_CHECKING:
    from globalpic_clients.auth import AuthClient
    from globalpic_clients.billing import BillingClient

log = logging.getLogger("globalpic.gateway")

RECONNECT_SECONDS = 1.0


@dataclass
class AppState:
    settings: GatewaySettings
    engine: Engine
    storage: Storage
    authenticator: Authenticator
    subjects: Subjects
    auth_client: AuthClient | None = None
    billing_client: BillingClient | None = None
    nc: NatsClient | None = None
    feed: JobEventFeed | None = None
    _connector: asyncio.Task[None] | None = field(default=None, repr=False)
    # the hot read paths (job status, the SSE job check): `engine`'s pool without transactions
    read_engine: Engine = field(init=False, repr=False)
    finished_images: FinishedImageCache = field(init=False, repr=False)
    signed_urls: UrlSigner = field(init=False, repr=False)  # the job view's download URLs
    billing: Billing = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.read_engine = reads_engine(self.engine)
        self.finished_images = FinishedImageCache(self.settings.finished_image_cache_size)
        self.signed_urls = UrlSigner(self.storage, self.settings.signed_url_ttl_seconds)
        self.billing = Billing(self.settings, self.billing_client)

    @property
    def auth(self) -> AuthClient:
        """The auth service, or 404 ``accounts_disabled`` where none is configured."""
        if self.auth_client is None:
            raise ApiError(
                404,
                problems.ACCOUNTS_DISABLED,
                "accounts are not enabled on this server (GLOBALPIC_GATEWAY__AUTH_ADDR)",
            )
        return self.auth_client

    @property
    def billing_service(self) -> BillingClient:
        if self.billing_client is None:
            raise ApiError(
                404,
                problems.ACCOUNTS_DISABLED,
                "billing is not enabled on this server (GLOBALPIC_GATEWAY__BILLING_ADDR)",
            )
        return self.billing_client

    @property
    def nats_ready(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def jetstream(self) -> JetStreamContext:
        if self.nc is None or not self.nc.is_connected:
            raise ApiError(
                503,
                problems.SERVICE_UNAVAILABLE,
                "the job queue (NATS) is not reachable; retry shortly",
                headers={"Retry-After": "5"},
            )
        return self.nc.jetstream()

    def event_feed(self) -> JobEventFeed:
        """What SSE reads jobs' events from (503 while NATS is not there)."""
        self.jetstream()
        assert self.feed is not None
        return self.feed

    def job_events(self) -> JobEvents:
        return JobEvents(self.jetstream(), self.subjects, self.engine)

    def start_nats(self) -> None:
        self._connector = asyncio.create_task(self._connect_loop(), name="nats-connect")

    async def _connect_loop(self) -> None:
        while True:
            try:
                nc = await connect(self.settings.nats_url, "globalpic-gateway")
                await ensure_streams(nc.jetstream(), self.settings)
                feed = JobEventFeed(nc, self.settings.events_stream, self.subjects)
                await feed.start()
            except Exception as exc:
                log.warning("NATS at %s not reachable yet: %s", self.settings.nats_url, exc)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            self.feed = feed
            self.nc = nc
            log.info("connected to NATS at %s", self.settings.nats_url)
            return

    async def wait_nats(self, timeout: float) -> bool:
        if self._connector is None:
            return self.nats_ready
        try:
            await asyncio.wait_for(asyncio.shield(self._connector), timeout)
        except TimeoutError:
            return False
        return self.nats_ready

    async def close(self) -> None:
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()
        if self.nc is not None:
            await self.nc.drain()
        self.engine.dispose()
        for client in (self.auth_client, self.billing_client):
            if client is not None:
                client.close()

"""Endpoints and the delivery rows events become: what the RPCs and the events consumer do.

Every read and write is scoped by the team (``tenant_id``): another team's endpoint id is
``not_found``, the same answer as an id that never existed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from globalpic_common import errors
from globalpic_common.errors import BadInputError, NotFoundError
from globalpic_db.clock import utcnow
from globalpic_webhooks.db import transaction
from globalpic_webhooks.events import SUBSCRIBABLE, WebhookEvent, ping_event
from globalpic_webhooks.models import Delivery, DeliveryStatus, Endpoint
from globalpic_webhooks.signing import new_secret
from globalpic_webhooks.urls import UrlPolicy

MAX_DESCRIPTION = 500
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Clock = Callable[[], datetime]


def _bad(message: str) -> BadInputError:
    return BadInputError(message, code=errors.BAD_OPTION)


@dataclass(frozen=True)
class Recorded:
    matched: int  # endpoints subscribed to the event
    inserted: int  # delivery rows new (the rest existed: the event was seen before)


def new_endpoint_id() -> str:
    return f"ep_{secrets.token_hex(12)}"


class WebhookStore:
    def __init__(
        self,
        engine: Engine,
        policy: UrlPolicy,
        *,
        max_endpoints: int = 20,
        clock: Clock = utcnow,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.max_endpoints = max_endpoints
        self.clock = clock

    # Endpoints ---------------------------------------------------------------------------

    def create_endpoint(
        self, tenant_id: str, url: str, event_types: list[str], description: str = ""
    ) -> Endpoint:
        if not tenant_id:
            raise _bad("no tenant")
        types = list(dict.fromkeys(t.strip() for t in event_types if t.strip()))
        if not types:
            raise _bad(f"name at least one event type: {', '.join(SUBSCRIBABLE)}")
        unknown = [t for t in types if t not in SUBSCRIBABLE]
        if unknown:
            raise _bad(f"unknown event type {unknown[0][:64]!r}; known: {', '.join(SUBSCRIBABLE)}")
        description = description.strip()
        if len(description) > MAX_DESCRIPTION:
            raise _bad(f"the description is longer than {MAX_DESCRIPTION} characters")
        checked = self.policy.check(url)  # may resolve the host: before the transaction
        endpoint = Endpoint(
            id=new_endpoint_id(),
            tenant_id=tenant_id,
            url=checked,
            description=description,
            event_types=types,
            secret=new_secret(),
            created_at=self.clock(),
        )
        with transaction(self.engine) as session:
            count = session.exec(
                select(func.count()).select_from(Endpoint).where(Endpoint.tenant_id == tenant_id)
            ).one()
            if count >= self.max_endpoints:
                raise _bad(f"a team has at most {self.max_endpoints} webhook endpoints")
            session.add(endpoint)
        return endpoint

    def list_endpoints(self, tenant_id: str) -> list[Endpoint]:
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(Endpoint)
                    .where(Endpoint.tenant_id == tenant_id)
                    .order_by(col(Endpoint.created_at), col(Endpoint.id))
                ).all()
            )

    def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> None:
        with transaction(self.engine) as session:
            endpoint = self._endpoint(session, tenant_id, endpoint_id)
            session.execute(sa.delete(Delivery).where(col(Delivery.endpoint_id) == endpoint.id))
            session.delete(endpoint)

    @staticmethod
    def _endpoint(session: Session, tenant_id: str, endpoint_id: str) -> Endpoint:
        endpoint = session.get(Endpoint, endpoint_id) if endpoint_id else None
        if endpoint is None or endpoint.tenant_id != tenant_id:
            raise NotFoundError(f"no webhook endpoint {endpoint_id[:64]!r}", code=errors.NOT_FOUND)
        return endpoint

    # Deliveries --------------------------------------------------------------------------

    def send_test(self, tenant_id: str, endpoint_id: str) -> Delivery:
        now = self.clock()
        with transaction(self.engine) as session:
            endpoint = self._endpoint(session, tenant_id, endpoint_id)
            if endpoint.disabled:
                raise _bad("the endpoint is disabled (it answered 410 Gone): create it again")
            event = ping_event(tenant_id, endpoint.id, now)
            delivery = Delivery(**_row(event, endpoint.id, now))
            session.add(delivery)
        return delivery

    def record(self, event: WebhookEvent) -> Recorded:
        """One delivery row per endpoint of the event's team subscribed to its type, created
        before the event happened and not disabled; a row already there is kept as it is
        (an event seen before inserts nothing)."""
        now = self.clock()
        matched = inserted = 0
        with transaction(self.engine) as session:
            endpoints = session.exec(
                select(Endpoint).where(
                    Endpoint.tenant_id == event.tenant_id,
                    col(Endpoint.disabled).is_(False),
                    col(Endpoint.created_at) <= event.occurred_at,
                )
            ).all()
            for endpoint in endpoints:
                if event.type in endpoint.event_types:
                    matched += 1
                    inserted += _insert_once(session, _row(event, endpoint.id, now))
        return Recorded(matched, inserted)

    def list_deliveries(
        self, tenant_id: str, endpoint_id: str, page_size: int = 0, page_token: str = ""
    ) -> tuple[list[Delivery], str]:
        """A page of the endpoint's deliveries, newest first, and the next page's token."""
        size = page_size or DEFAULT_PAGE_SIZE
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise _bad(f"page size must be 1..{MAX_PAGE_SIZE}")
        before: int | None = None
        if page_token:
            if not page_token.isdecimal() or len(page_token) > 18:
                raise _bad("not a page token of this list")
            before = int(page_token)
        with transaction(self.engine) as session:
            endpoint = self._endpoint(session, tenant_id, endpoint_id)
            query = select(Delivery).where(Delivery.endpoint_id == endpoint.id)
            if before is not None:
                query = query.where(col(Delivery.id) < before)
            rows = list(session.exec(query.order_by(col(Delivery.id).desc()).limit(size + 1)))
        page, more = rows[:size], len(rows) > size
        return page, str(page[-1].id) if more else ""


def _row(event: WebhookEvent, endpoint_id: str, now: datetime) -> dict[str, Any]:
    return {
        "message_id": event.message_id,
        "endpoint_id": endpoint_id,
        "tenant_id": event.tenant_id,
        "event_type": event.type,
        "payload": event.body,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }


def _insert_once(session: Session, values: dict[str, Any]) -> int:
    """INSERT ... ON CONFLICT (endpoint_id, message_id) DO NOTHING: 1 if inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(Delivery).values(**values)
    elif dialect == "sqlite":
        statement = sqlite.insert(Delivery).values(**values)
    else:  # pragma: no cover - the two databases the project runs on
        raise RuntimeError(f"unsupported database {dialect}")
    statement = statement.on_conflict_do_nothing(
        index_elements=["endpoint_id", "message_id"]
    ).returning(col(Delivery.id))
    return len(session.execute(statement).all())

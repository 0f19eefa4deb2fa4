"""Reading Stripe's JSON objects as webhooks deliver them, across API versions.

Fields moved between Stripe API versions (``2025-03-31.basil`` moved a subscription's
``current_period_end`` onto its items and an invoice's ``subscription`` under
``parent.subscription_details``); each accessor reads the current place first, then the old
one, so billing keeps working whichever version the webhook endpoint is pinned to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

StripeObject = dict[str, Any]


def ref_id(value: Any) -> str | None:
    """An expandable field: the id string, or the expanded object's ``id``."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        found = value.get("id")
        return found if isinstance(found, str) and found else None
    return None


def metadata(obj: StripeObject) -> dict[str, str]:
    found = obj.get("metadata")
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _first_item(obj: StripeObject, key: str) -> StripeObject:
    container = obj.get(key)
    data = container.get("data") if isinstance(container, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    return {}


def subscription_price(subscription: StripeObject) -> str | None:
    item = _first_item(subscription, "items")
    return ref_id(item.get("price")) or ref_id(subscription.get("plan") or {})


def subscription_period_end(subscription: StripeObject) -> datetime | None:
    stamp = _first_item(subscription, "items").get("current_period_end")
    return timestamp(stamp if stamp is not None else subscription.get("current_period_end"))


def invoice_subscription(invoice: StripeObject) -> str | None:
    details = _subscription_details(invoice)
    return ref_id(details.get("subscription")) or ref_id(invoice.get("subscription"))


def invoice_metadata(invoice: StripeObject) -> dict[str, str]:
    """The subscription's metadata as copied onto its invoice (team id, plan)."""
    return metadata(_subscription_details(invoice)) or metadata(invoice)


def invoice_price(invoice: StripeObject) -> str | None:
    line = _first_item(invoice, "lines")
    pricing = line.get("pricing")
    if isinstance(pricing, dict) and isinstance(pricing.get("price_details"), dict):
        return ref_id(pricing["price_details"].get("price"))
    return ref_id(line.get("price"))


def _subscription_details(invoice: StripeObject) -> StripeObject:
    parent = invoice.get("parent")
    if isinstance(parent, dict) and isinstance(parent.get("subscription_details"), dict):
        details: StripeObject = parent["subscription_details"]
        return details
    legacy = invoice.get("subscription_details")
    return legacy if isinstance(legacy, dict) else {}


def timestamp(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def integer(obj: StripeObject, key: str) -> int:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0

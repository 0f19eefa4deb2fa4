"""Numbers as people write and read them: strict parsing of request input, and the sizes that
error messages quote.

``str.isdigit()`` is true for ``"²"`` and ``"١٢"``, which ``int()`` then refuses or reads as
another number, and Python's ``int()`` also takes ``" 12 "``, ``"+12"`` and ``"1_2"``. Request
input is held to one rule instead: ASCII digits only, within explicit bounds, so the value
also fits a database's 64-bit integer.
"""

from __future__ import annotations

import re

# The largest values a database column holds: every number a request carries into a query
# stays at or under its column's (SQLite INTEGER and PostgreSQL BIGINT / OFFSET are 64-bit,
# PostgreSQL INTEGER is 32-bit).
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1

_DIGITS = re.compile(r"[0-9]{1,19}")  # 19 digits hold INT64_MAX; more can never be in bounds


class IntegerParseError(ValueError):
    """The text is not a whole number within the bounds; the message says which bound."""


def parse_int(text: str, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """``text`` as an int in ``[minimum, maximum]`` (``minimum >= 0``): ASCII digits only.

    Raises ``IntegerParseError`` whose message reads well after a field name, e.g.
    ``f"candidates {raw!r}: {exc}"``.
    """
    if minimum < 0:
        raise ValueError("parse_int reads non-negative numbers only")
    if not _DIGITS.fullmatch(text):
        raise IntegerParseError(f"not a whole number from {minimum} to {maximum}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise IntegerParseError(f"not a whole number from {minimum} to {maximum}")
    return value


def format_bytes(size: int) -> str:
    """``20 MB`` for 20 MiB: the limits are set in binary megabytes and documented as "MB", so
    a message quotes the number the documentation gives (not ``21 MB``)."""
    megabytes = size / 2**20
    return f"{megabytes:.1f}".removesuffix(".0") + " MB"


def format_megapixels(pixels: int) -> str:
    """``50 MP`` for 50 000 000 pixels (the pixel limit is set in decimal megapixels)."""
    return f"{pixels / 1e6:.1f}".removesuffix(".0") + " MP"

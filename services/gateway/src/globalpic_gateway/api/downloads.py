"""File names of downloads and their ``Content-Disposition`` header (RFC 6266 / RFC 5987).

Our users' photos are named in Chinese. An HTTP header is Latin-1 on the wire, so the name goes
in ``filename*=UTF-8''<percent-encoded>`` (every current browser and curl ``-J`` use it) with a
plain-ASCII ``filename="…"`` beside it for clients that predate RFC 5987.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# Control characters and the separators no file system takes in a name.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
# What may stand inside the quoted ASCII fallback: printable ASCII but the quote and backslash
# (RFC 6266's quoted-string would allow them escaped; old clients do not unescape).
_FALLBACK_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\%]')


def safe_name(name: str) -> str:
    """``name`` without control characters or path separators (each becomes ``_``)."""
    return _UNSAFE.sub("_", name)


def _ascii_fallback(name: str, default_stem: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    # Accented Latin letters keep their base letter; anything else without an ASCII form goes.
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = _FALLBACK_UNSAFE.sub("_", ascii_stem)
    if ascii_stem != stem and not any(c.isalpha() for c in ascii_stem):
        ascii_stem = default_stem  # "000_女装" would leave "000_": name it in words instead
    ascii_ext = _FALLBACK_UNSAFE.sub("_", ext)
    return f"{ascii_stem}.{ascii_ext}" if ascii_ext else ascii_stem


def content_disposition(name: str, *, default_stem: str = "download") -> str:
    """``attachment`` naming ``name`` for every client: an ASCII ``filename`` (the name's own
    ASCII characters, ``default_stem`` when no letter is left) and the exact UTF-8
    ``filename*``."""
    name = safe_name(name)
    fallback = _ascii_fallback(name, default_stem)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"

"""The English word list behind the spell check (pyspellchecker's, shipped in its wheel).

One ``SpellChecker`` per process, loaded on first use (about 0.25 s) under a lock; lookups are
dictionary hits (microseconds), so every variant of every image is checked in full.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from spellchecker import SpellChecker

# Listing vocabulary the general word list lacks: units and size words, not misspellings.
ALWAYS_KNOWN = frozenset(
    [
        "ml",
        "mah",
        "pcs",
        "oz",
        "cm",
        "mm",
        "kg",
        "xs",
        "xl",
        "xxl",
        "xxxl",
        "xxs",
        "tee",
        "tees",
        "drinkware",
        "homeware",
        "skincare",
        "giftable",
        "unisex",
    ]
)

_lock = threading.Lock()
_checker: SpellChecker | None = None


def checker() -> SpellChecker:
    global _checker
    with _lock:
        if _checker is None:
            _checker = SpellChecker(language="en", distance=1)
        return _checker


def unknown_words(words: Iterable[str], allowed: frozenset[str] = frozenset()) -> set[str]:
    """The lowercase ``words`` that are neither English nor allowed."""
    wanted = {w.lower() for w in words if w}
    wanted -= ALWAYS_KNOWN | allowed
    if not wanted:
        return set()
    found: set[str] = checker().unknown(wanted)
    return found


def known_words(words: Iterable[str]) -> bool:
    return not unknown_words(words)

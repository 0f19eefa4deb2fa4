"""``CopyFacts``: what the copy may say about one product, as gathered from its inputs.

Four sources, all raw enough to travel over gRPC: the seller's keywords, the seller's facts
(``"material=cotton, size=M"``), the Chinese text OCR read on the original photo, and the
product's colours named from its cut-out. The writer translates the Chinese itself
(``profile``), so a client never needs the dictionary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from globalpic_common import errors
from globalpic_common.errors import BadInputError

MAX_FACTS = 20
MAX_KEYWORDS = 30
MAX_VALUE_CHARS = 100
MAX_OCR_LINES = 60
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9 _-]{0,29}$")
# Commas and semicolons, ASCII or full-width, and the Chinese enumeration comma.
_SEPARATORS = re.compile(r"[,;，；、]")

# Seller fact names -> the one name the writer reads ("colour=red" is "color").
FACT_ALIASES: dict[str, str] = {
    "colour": "color",
    "colors": "color",
    "colours": "color",
    "item": "product",
    "name": "product",
    "type": "product",
    "title": "product",
    "fabric": "material",
    "materials": "material",
    "volume": "capacity",
    "count": "quantity",
    "pack": "quantity",
    "qty": "quantity",
    "dimension": "dimensions",
    "dims": "dimensions",
    "sizes": "size",
}


class SellerFact(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: str


class CopyFacts(BaseModel):
    """The inputs of one image's copy."""

    model_config = ConfigDict(frozen=True)

    keywords: list[str] = Field(default_factory=list, description="Seller keywords")
    seller: list[SellerFact] = Field(default_factory=list, description="Seller facts, in order")
    ocr_lines: list[str] = Field(
        default_factory=list, description="Text OCR read on the original photo (often Chinese)"
    )
    colors: list[str] = Field(
        default_factory=list, description="The product's colours, named from its cut-out"
    )

    def fact(self, name: str) -> str | None:
        return next((f.value for f in self.seller if f.name == name), None)


def parse_keywords(spec: str | Iterable[str] | None) -> list[str]:
    """``"water bottle, gym"`` (or several such strings) -> ``["water bottle", "gym"]``."""
    if spec is None:
        return []
    texts = [spec] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for text in texts:
        for part in _SEPARATORS.split(text):
            word = " ".join(part.split())
            if word and word.lower() not in {k.lower() for k in out}:
                if len(word) > MAX_VALUE_CHARS:
                    raise BadInputError(
                        f"--keywords: {word[:30]!r}... is longer than {MAX_VALUE_CHARS} characters",
                        code=errors.BAD_OPTION,
                    )
                out.append(word)
    if len(out) > MAX_KEYWORDS:
        raise BadInputError(
            f"--keywords: {len(out)} keywords, at most {MAX_KEYWORDS}", code=errors.BAD_OPTION
        )
    return out


def parse_seller_facts(spec: str | None) -> list[SellerFact]:
    """``"material=cotton, size=M"`` -> facts; anything else is ``bad_option`` with the piece
    that is wrong (a value cannot hold a comma: write "cotton and polyester")."""
    if spec is None or not spec.strip():
        return []
    facts: list[SellerFact] = []
    for raw in _SEPARATORS.split(spec):
        piece = raw.strip()
        if not piece:
            continue
        name, sep, value = (p.strip() for p in piece.replace("：", "=").partition("="))
        if not sep or not name or not value:
            raise BadInputError(
                f'--facts: {piece!r} is not name=value (e.g. "material=cotton, size=M")',
                code=errors.BAD_OPTION,
            )
        if not _KEY.match(name):
            raise BadInputError(
                f"--facts: {name!r} is not a fact name (letters, digits, spaces, - or _)",
                code=errors.BAD_OPTION,
            )
        if len(value) > MAX_VALUE_CHARS:
            raise BadInputError(
                f"--facts: the value of {name!r} is longer than {MAX_VALUE_CHARS} characters",
                code=errors.BAD_OPTION,
            )
        key = name.lower().replace(" ", "_").replace("-", "_")
        key = FACT_ALIASES.get(key, key)
        if any(f.name == key for f in facts):
            raise BadInputError(f"--facts: {name!r} is given twice", code=errors.BAD_OPTION)
        facts.append(SellerFact(name=key, value=" ".join(value.split())))
    if len(facts) > MAX_FACTS:
        raise BadInputError(
            f"--facts: {len(facts)} facts, at most {MAX_FACTS}", code=errors.BAD_OPTION
        )
    return facts


def ocr_text(lines: Iterable[str]) -> list[str]:
    """OCR lines worth reading: stripped, non-empty, de-duplicated, at most ``MAX_OCR_LINES``."""
    out: list[str] = []
    for line in lines:
        text = " ".join(line.split())
        if text and text not in out:
            out.append(text)
    return out[:MAX_OCR_LINES]


# The platforms copy is written for (the copywriting service holds their rules).
COPY_PLATFORMS = ("amazon", "ebay", "shopify", "tiktok", "instagram", "facebook")
# Image presets whose id names a copy platform by its first part (``shopify-product``).
_PRESET_TO_COPY = {"shopify": "shopify", "instagram": "instagram"}


def copy_platform(platform: str) -> str:
    """A copy platform id from a CLI name or a preset id (``shopify-product`` -> shopify);
    ``unknown_platform`` otherwise."""
    key = platform.strip().lower()
    key = _PRESET_TO_COPY.get(key.split("-", 1)[0], key)
    if key not in COPY_PLATFORMS:
        raise BadInputError(
            f"no copy rules for platform {platform!r}; use one of: {', '.join(COPY_PLATFORMS)}",
            code=errors.UNKNOWN_PLATFORM,
        )
    return key

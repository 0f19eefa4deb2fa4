"""The quality gate, measured on every variant whichever backend wrote it.

* ``spelling``: every English word is in pyspellchecker's list, the facts' own words (brand
  names) or the listing vocabulary (units, sizes);
* ``title_repetition``: no word more than twice in a title (Amazon's rule, kept everywhere);
* ``title_similarity``: the titles (captions' first line on social platforms) of one image
  are pairwise different: token Jaccard <= 0.5, so an A/B test compares two real options;
* ``traceable_*``: every number, size, material and claim word in the copy is found in the
  seller's facts or keywords or in the photo's text (translated or as printed). Nothing is
  invented: a wrong capacity or "100% cotton" on a blend is a return and a policy strike.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import combinations

from globalpic_common.copy_facts import copy_platform
from globalpic_common.schemas import CopyCheck, CopyVariant
from globalpic_copywriting.glossary import CLAIMS, MATERIALS
from globalpic_copywriting.profile import Evidence, normalise_number
from globalpic_copywriting.rules import RULES, html_text, validate_variant, variant_text
from globalpic_copywriting.spelling import unknown_words

MAX_JACCARD = 0.5
MAX_REPEATS = 2
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_WORDS = re.compile(r"[A-Za-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")  # TShirt -> T Shirt
_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)?")
_SIZE = re.compile(r"\b(?:XXS|XS|XXL|XXXL|[2-5]XL|XL)\b|\b[Ss]izes?:?\s+([A-Z0-9]{1,4})\b")
# Names of places the copy is posted: not words of the copy's language, not misspellings.
_PLATFORM_WORDS = frozenset({"tiktok", "instagram", "facebook", "shopify", "ebay", "amazon"})
# Longest first, so "stainless steel" is read before "steel".
_MATERIAL_PATTERNS = [
    (name, re.compile(rf"\b{re.escape(name)}\b"))
    for name in sorted(MATERIALS, key=len, reverse=True)
]
_CLAIMS = re.compile(
    r"\b(?:" + "|".join(re.escape(c) for c in sorted(CLAIMS, key=len, reverse=True)) + r")\b"
)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def jaccard(a: str, b: str) -> float:
    sa, sb = set(tokens(a)), set(tokens(b))
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def headline(variant: CopyVariant) -> str:
    """What a buyer compares first: the title, or a caption's first line."""
    if variant.title:
        return variant.title
    first = re.split(r"(?<=[.!?])\s|\n", variant.caption.strip(), maxsplit=1)
    return first[0] if first else ""


def spelled_words(texts: Sequence[str]) -> list[str]:
    out: list[str] = []
    for text in texts:
        for word in _WORDS.findall(_CAMEL.sub(" ", text)):
            if len(word) > 1:
                out.append(word.lower())
    return out


def _check(rule: str, index: int | None, passed: bool, message: str, **kw: float) -> CopyCheck:
    return CopyCheck(rule=rule, variant=index, passed=passed, message=message, **kw)


def variant_quality(
    variant: CopyVariant, platform: str, evidence: Evidence, index: int = 0
) -> list[CopyCheck]:
    html = RULES[copy_platform(platform)].description_html
    texts = variant_text(variant, html)
    joined = "\n".join(texts)
    checks: list[CopyCheck] = []
    unknown = sorted(unknown_words(spelled_words(texts), evidence.words | _PLATFORM_WORDS))
    checks.append(
        _check(
            "spelling",
            index,
            not unknown,
            f"not English: {', '.join(unknown[:8])}" if unknown else "no misspellings",
            measured=len(unknown),
            required=0,
        )
    )
    if variant.title:
        counts = Counter(tokens(variant.title))
        word, most = counts.most_common(1)[0] if counts else ("", 0)
        checks.append(
            _check(
                "title_repetition",
                index,
                most <= MAX_REPEATS,
                f"{word!r} {most} times in the title"
                if most > MAX_REPEATS
                else f"no word more than {MAX_REPEATS} times in the title",
                measured=most,
                required=MAX_REPEATS,
            )
        )
    checks.extend(traceability(joined, evidence, index))
    return checks


def traceability(text: str, evidence: Evidence, index: int | None = None) -> list[CopyCheck]:
    numbers = sorted(
        {n for n in (normalise_number(m) for m in _NUMBER.findall(text))} - evidence.numbers
    )
    said_sizes = set(tokens(evidence.text))
    sizes = sorted(
        {
            (m.group(1) or m.group(0))
            for m in _SIZE.finditer(text)
            if (m.group(1) or m.group(0)).lower() not in said_sizes
        }
    )
    lowered = f" {text.lower()} "
    materials: list[str] = []
    scan = lowered
    for name, pattern in _MATERIAL_PATTERNS:
        if name.split()[-1] not in scan or not pattern.search(scan):
            continue  # the substring test first: most copy names no material at all
        scan = pattern.sub(" ", scan)  # "stainless steel" also satisfies "steel"
        if pattern.search(evidence.text):
            continue
        if any(zh in evidence.chinese for zh in MATERIALS[name]):
            continue
        materials.append(name)
    claims = sorted(
        {m.group(0) for m in _CLAIMS.finditer(lowered)} - {c for c in CLAIMS if c in evidence.text}
    )
    return [
        _check(
            "traceable_numbers",
            index,
            not numbers,
            f"numbers in no fact or photo text: {', '.join(numbers)}"
            if numbers
            else "every number comes from the facts or the photo",
        ),
        _check(
            "traceable_sizes",
            index,
            not sizes,
            f"sizes in no fact: {', '.join(sizes)}" if sizes else "every size comes from a fact",
        ),
        _check(
            "traceable_materials",
            index,
            not materials,
            f"materials in no fact: {', '.join(materials)}"
            if materials
            else "every material comes from the facts or the photo",
        ),
        _check(
            "traceable_claims",
            index,
            not claims,
            f"claims in no fact: {', '.join(claims)}"
            if claims
            else "no claim the seller did not make",
        ),
    ]


def set_quality(variants: Sequence[CopyVariant]) -> list[CopyCheck]:
    """Checks on the variants together: their headlines differ pairwise."""
    worst = 0.0
    pair = (0, 0)
    for (i, a), (j, b) in combinations(enumerate(variants), 2):
        score = jaccard(headline(a), headline(b))
        if score > worst:
            worst, pair = score, (i, j)
    ok = worst <= MAX_JACCARD
    return [
        _check(
            "title_similarity",
            None,
            ok,
            f"most similar titles: variants {pair[0]} and {pair[1]}, Jaccard {worst:.2f} "
            f"(max {MAX_JACCARD})",
            measured=round(worst, 3),
            required=MAX_JACCARD,
        )
    ]


def check_copy(
    variants: Sequence[CopyVariant], platform: str, evidence: Evidence
) -> list[CopyCheck]:
    """Every platform rule and quality check on every variant, then the set checks."""
    checks: list[CopyCheck] = []
    for index, variant in enumerate(variants):
        checks.extend(validate_variant(variant, platform, index))
        checks.extend(variant_quality(variant, platform, evidence, index))
    checks.extend(set_quality(variants))
    return checks


def failures(checks: Sequence[CopyCheck]) -> list[CopyCheck]:
    return [c for c in checks if not c.passed]


__all__ = [
    "MAX_JACCARD",
    "check_copy",
    "failures",
    "headline",
    "html_text",
    "jaccard",
    "set_quality",
    "tokens",
    "traceability",
    "variant_quality",
]

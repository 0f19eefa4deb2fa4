"""Make a model's variants pass every rule: tidy, then replace what still fails.

A model breaks rules now and then (a 210-character title, a sixth bullet, "free shipping",
an invented "100%"). Re-asking costs another request per image, so instead: fields the
platform does not use are emptied and hashtags normalised; each field that still fails a rule
or quality check is replaced by the same field of the offline variant of the same index;
headlines too close to another are replaced the same way; a variant that still fails is
replaced whole. The offline variants pass by construction, so the result always does, and
``repaired`` counts what the model did not get right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from globalpic_common.schemas import CopyVariant
from globalpic_copywriting.profile import Evidence
from globalpic_copywriting.quality import (
    MAX_JACCARD,
    failures,
    headline,
    jaccard,
    spelled_words,
    traceability,
    variant_quality,
)
from globalpic_copywriting.rules import RULES, html_text, promo_terms, validate_variant
from globalpic_copywriting.spelling import unknown_words

# Which field a failed rule is about.
RULE_FIELD = {
    "title_length": "title",
    "title_chars": "title",
    "title_repetition": "title",
    "bullets_count": "bullets",
    "bullet_length": "bullets",
    "bullets_distinct": "bullets",
    "description_html": "description",
    "description_length": "description",
    "meta_description_length": "meta_description",
    "search_terms_bytes": "search_terms",
    "tags": "search_terms",
    "caption_length": "caption",
    "hashtags_count": "hashtags",
    "hashtag_format": "hashtags",
    "explanation_zh": "explanation_zh",
}
_TEXT_FIELDS = ("title", "bullets", "description", "meta_description", "search_terms",
                "caption", "hashtags")  # fmt: skip
_PLATFORM_WORDS = frozenset({"tiktok", "instagram", "facebook", "shopify", "ebay", "amazon"})


def tidy(variant: CopyVariant, platform: str) -> CopyVariant:
    """Empty what the platform does not use; strip text; hashtags as '#Word', once each."""
    rules = RULES[platform]
    data = variant.model_dump()
    for name in data:
        if isinstance(data[name], str):
            data[name] = data[name].strip()
        elif isinstance(data[name], list):
            data[name] = [str(x).strip() for x in data[name] if str(x).strip()]
    if not rules.title_max:
        data["title"] = ""
    if not rules.bullets:
        data["bullets"] = []
    if not rules.description_max:
        data["description"] = ""
    if not rules.meta_max:
        data["meta_description"] = ""
    if not (rules.search_terms_max_bytes or rules.tags_max_chars):
        data["search_terms"] = ""
    if not rules.caption_max:
        data["caption"], data["hashtags"] = "", []
    else:
        tags: list[str] = []
        for tag in data["hashtags"]:
            tag = "#" + re.sub(r"[^A-Za-z0-9_]", "", tag.lstrip("#"))
            if len(tag) > 2 and tag.lower() not in {t.lower() for t in tags}:
                tags.append(tag)
        data["hashtags"] = tags
    return CopyVariant.model_validate(data)


def _field_texts(variant: CopyVariant, name: str, html: bool) -> list[str]:
    value = getattr(variant, name)
    if name == "description" and html:
        return [html_text(value)[0]]
    return list(value) if isinstance(value, list) else [value]


def bad_fields(variant: CopyVariant, platform: str, evidence: Evidence, index: int) -> set[str]:
    """The fields of ``variant`` that break a rule or a quality check."""
    html = RULES[platform].description_html
    checks = [*validate_variant(variant, platform, index)]
    checks += [c for c in variant_quality(variant, platform, evidence, index)
               if c.rule == "title_repetition"]  # fmt: skip
    bad = {RULE_FIELD[c.rule] for c in failures(checks) if c.rule in RULE_FIELD}
    allowed = evidence.words | _PLATFORM_WORDS
    for name in _TEXT_FIELDS:
        texts = [t for t in _field_texts(variant, name, html) if t]
        if not texts:
            continue
        joined = "\n".join(texts)
        if (
            promo_terms(joined)
            or unknown_words(spelled_words(texts), allowed)
            or failures(traceability(joined, evidence, index))
        ):
            bad.add(name)
    return bad


def merge(
    model: Sequence[CopyVariant],
    offline: Callable[[], list[CopyVariant]],
    platform: str,
    evidence: Evidence,
    n: int,
) -> tuple[list[CopyVariant], int]:
    """``n`` variants that pass, the model's wherever they do; and how many fields (or whole
    variants) came from ``offline()`` instead (called at most once, only when needed)."""
    cache: list[list[CopyVariant]] = []

    def fallback(index: int) -> CopyVariant:
        if not cache:
            cache.append(offline())
        return cache[0][index]

    repaired = 0
    out: list[CopyVariant] = []
    for index in range(n):
        if index >= len(model):
            out.append(fallback(index))
            repaired += 1
            continue
        variant = tidy(model[index], platform)
        bad = bad_fields(variant, platform, evidence, index)
        if bad:
            donor = fallback(index)
            variant = variant.model_copy(update={name: getattr(donor, name) for name in bad})
            repaired += len(bad)
            if bad_fields(variant, platform, evidence, index):
                variant = donor  # the mix still fails (a bullet count that hangs on another)
        out.append(variant)
    # Headlines of one image must differ: replace the later of a too-close pair.
    for index in range(1, n):
        if all(jaccard(headline(out[index]), headline(o)) <= MAX_JACCARD for o in out[:index]):
            continue
        donor = fallback(index)
        field = "title" if RULES[platform].title_max else "caption"
        candidate = out[index].model_copy(update={field: getattr(donor, field)})
        close = any(jaccard(headline(candidate), headline(o)) > MAX_JACCARD for o in out[:index])
        out[index] = donor if close else candidate
        repaired += 1
    if any(jaccard(headline(a), headline(b)) > MAX_JACCARD
           for i, a in enumerate(out) for b in out[:i]):  # fmt: skip
        out = [fallback(i) for i in range(n)]  # the offline set passes as a whole
        repaired += n
    return out, repaired

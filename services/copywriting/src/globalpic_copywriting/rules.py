"""Each platform's copy rules, and the validator every variant passes before it is returned.

Limits are the platforms' published ones where they publish one (Amazon's 200-character
title and 249-byte search terms, eBay's 80-character title, Instagram's 2 200-character caption
and its 5-hashtag limit), and SEO practice where they only recommend (Shopify's 70 / 160
characters are what search engines show before cutting). Where a platform allows more than a
good post uses, the house rule is the tighter one and says so in ``notes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from globalpic_common import errors
from globalpic_common.copy_facts import COPY_PLATFORMS, copy_platform
from globalpic_common.errors import BadInputError
from globalpic_common.schemas import CopyCheck, CopyVariant


@dataclass(frozen=True)
class CopyRules:
    id: str
    name: str
    title_max: int = 0  # 0: the platform has no title; the field stays empty
    bullets: int = 0  # exactly this many (0: none)
    bullet_max: int = 0
    description_max: int = 0
    description_html: bool = False
    meta_max: int = 0
    search_terms_max_bytes: int = 0  # Amazon backend keywords
    tags_max_chars: int = 0  # Shopify tags (comma separated) in search_terms
    caption_max: int = 0  # caption + " " + hashtags, all counted
    hashtags_min: int = 0
    hashtags_max: int = 0
    title_forbidden_chars: str = ""
    notes: str = ""


RULES: dict[str, CopyRules] = {
    "amazon": CopyRules(
        id="amazon",
        name="Amazon listing",
        title_max=200,
        bullets=5,
        bullet_max=255,
        description_max=2000,
        search_terms_max_bytes=249,
        title_forbidden_chars="!$?_{}^¬¦~#<>*",
        notes="Title <= 200 characters, no word more than twice, none of ! $ ? _ { } ^ ¬ ¦; "
        "no promotional claims; 5 bullets; backend search terms < 250 bytes.",
    ),
    "ebay": CopyRules(
        id="ebay",
        name="eBay listing",
        title_max=80,
        description_max=4000,
        notes="Title <= 80 characters; no promotional claims; plain-text description.",
    ),
    "shopify": CopyRules(
        id="shopify",
        name="Shopify product page",
        title_max=70,
        description_max=5000,
        description_html=True,
        meta_max=160,
        tags_max_chars=255,
        notes="SEO title <= 70 and meta description <= 160 characters (what search engines "
        "show); HTML description of p / ul / li / strong / em / h2 / h3 / br only; tags as a "
        "comma list in search_terms.",
    ),
    "tiktok": CopyRules(
        id="tiktok",
        name="TikTok post",
        caption_max=2200,
        hashtags_min=3,
        hashtags_max=5,
        notes="Caption with hashtags <= 2 200 characters; 3-5 hashtags (house rule).",
    ),
    "instagram": CopyRules(
        id="instagram",
        name="Instagram post",
        caption_max=2200,
        hashtags_min=3,
        hashtags_max=5,
        notes="Caption with hashtags <= 2 200 characters; at most 5 hashtags (Instagram's "
        "limit since December 2025).",
    ),
    "facebook": CopyRules(
        id="facebook",
        name="Facebook post",
        caption_max=1000,
        hashtags_min=1,
        hashtags_max=3,
        notes="Facebook allows 63 206 characters; feed posts are cut after a few lines, so "
        "<= 1 000 and 1-3 hashtags (house rule).",
    ),
}
# Every platform the inputs accept (``copy_platform``) has its rules, and nothing else.
assert tuple(RULES) == COPY_PLATFORMS, (tuple(RULES), COPY_PLATFORMS)

# Platform preset ids (globalpic_common.platforms) -> the copy platform.

# Promotional claims: Amazon suppresses listings with them, and on any platform they are
# claims the seller never made (shipping, rank, price).
PROMO_PATTERNS = [
    r"best[- ]?sell(?:er|ing)",
    r"free (?:shipping|delivery|gift)",
    r"#\s?1\b",
    r"\bno\.? ?1\b",
    r"\bnumber one\b",
    r"\btop[- ](?:rated|seller|selling|quality)\b",
    r"\bhot (?:sale|item|deal)\b",
    r"\bon sale\b",
    r"\bsale\b",
    r"\bdiscount",
    r"\bcheap(?:est)?\b",
    r"\blowest price\b",
    r"\bbest price\b",
    r"\bdeals?\b",
    r"\blimited time\b",
    r"\bbuy now\b",
    r"\bclearance\b",
    r"\bmoney[- ]back\b",
    r"\bguarantee",
    r"\bspecial offer\b",
    r"\bbonus\b",
    r"\b100% satisf",
    r"\bl@@k\b",
]
_PROMO = re.compile("|".join(PROMO_PATTERNS), re.IGNORECASE)
_HASHTAG = re.compile(r"^#[A-Za-z][A-Za-z0-9_]{1,49}$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_ALLOWED_TAGS = frozenset({"p", "ul", "ol", "li", "strong", "em", "b", "i", "h2", "h3", "br"})
MAX_EXPLANATION = 200


MAX_VARIANTS = 10


def variant_count(n: int) -> int:
    """``n`` when 1..``MAX_VARIANTS``; ``bad_option`` otherwise."""
    if not 1 <= n <= MAX_VARIANTS:
        raise BadInputError(f"variants: {n}; ask for 1..{MAX_VARIANTS}", code=errors.BAD_OPTION)
    return n


def promo_terms(text: str) -> list[str]:
    return [m.group(0) for m in _PROMO.finditer(text)]


class _HtmlCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.problems.append(f"<{tag}> is not allowed")
        if attrs:
            self.problems.append(f"<{tag}> has attributes")
        if tag != "br":
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close an open tag")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_text(html: str) -> tuple[str, list[str]]:
    """The text of an HTML fragment, and what is wrong with its markup."""
    parser = _HtmlCheck()
    parser.feed(html)
    parser.close()
    problems = list(parser.problems)
    if parser.stack:
        problems.append(f"unclosed <{parser.stack[-1]}>")
    return " ".join(" ".join(parser.text).split()), problems


def variant_text(variant: CopyVariant, html: bool) -> list[str]:
    """Every English text of a variant, markup removed (what a buyer reads)."""
    description = html_text(variant.description)[0] if html else variant.description
    return [
        variant.title,
        *variant.bullets,
        description,
        variant.meta_description,
        variant.search_terms,
        variant.caption,
        *variant.hashtags,
    ]


def _check(
    rule: str,
    index: int,
    passed: bool,
    message: str,
    measured: float | None = None,
    required: float | None = None,
) -> CopyCheck:
    return CopyCheck(
        rule=rule,
        variant=index,
        passed=passed,
        message=message,
        measured=measured,
        required=required,
    )


def _length(rule: str, index: int, what: str, text: str, limit: int) -> CopyCheck:
    n = len(text)
    ok = 0 < n <= limit
    return _check(rule, index, ok, f"{what}: {n} characters (1..{limit})", n, limit)


def validate_variant(variant: CopyVariant, platform: str, index: int = 0) -> list[CopyCheck]:
    """Every rule of ``platform`` on one variant (passed or not)."""
    rules = RULES[copy_platform(platform)]
    checks: list[CopyCheck] = []
    unused: list[str] = []
    if rules.title_max:
        checks.append(_length("title_length", index, "title", variant.title, rules.title_max))
        bad = sorted({c for c in variant.title if c in rules.title_forbidden_chars})
        checks.append(
            _check("title_chars", index, not bad, f"forbidden characters in title: {bad}")
            if bad
            else _check("title_chars", index, True, "no forbidden characters in the title")
        )
    elif variant.title:
        unused.append("title")
    if rules.bullets:
        n = len(variant.bullets)
        checks.append(
            _check("bullets_count", index, n == rules.bullets, f"{n} bullets", n, rules.bullets)
        )
        longest = max((len(b) for b in variant.bullets), default=0)
        empty = any(not b.strip() for b in variant.bullets)
        checks.append(
            _check(
                "bullet_length",
                index,
                not empty and longest <= rules.bullet_max,
                f"longest bullet {longest} characters (max {rules.bullet_max}, none empty)",
                longest,
                rules.bullet_max,
            )
        )
        distinct = len({b.strip().lower() for b in variant.bullets}) == n
        checks.append(_check("bullets_distinct", index, distinct, "bullets are all different"))
    elif variant.bullets:
        unused.append("bullets")
    if rules.description_max:
        text = variant.description
        if rules.description_html:
            text, problems = html_text(variant.description)
            checks.append(
                _check(
                    "description_html",
                    index,
                    not problems,
                    "; ".join(problems) or "well-formed HTML of allowed tags",
                )
            )
        checks.append(
            _length("description_length", index, "description", text, rules.description_max)
        )
    elif variant.description:
        unused.append("description")
    if rules.meta_max:
        checks.append(
            _length(
                "meta_description_length",
                index,
                "meta description",
                variant.meta_description,
                rules.meta_max,
            )
        )
    elif variant.meta_description:
        unused.append("meta_description")
    checks.extend(_search_terms(variant, rules, index, unused))
    checks.extend(_social(variant, rules, index, unused))
    found = sorted({p.lower() for t in variant_text(variant, rules.description_html)
                    for p in promo_terms(t)})  # fmt: skip
    checks.append(
        _check(
            "promo_terms",
            index,
            not found,
            f"promotional claims: {', '.join(found)}" if found else "no promotional claims",
        )
    )
    explanation = variant.explanation_zh
    ok = bool(_CJK.search(explanation)) and len(explanation) <= MAX_EXPLANATION
    checks.append(
        _check(
            "explanation_zh",
            index,
            ok,
            f"Chinese explanation: {len(explanation)} characters (1..{MAX_EXPLANATION})",
            len(explanation),
            MAX_EXPLANATION,
        )
    )
    checks.append(
        _check(
            "unused_fields_empty",
            index,
            not unused,
            f"{rules.name} has no {', '.join(unused)}" if unused else "unused fields are empty",
        )
    )
    return checks


def _search_terms(
    variant: CopyVariant, rules: CopyRules, index: int, unused: list[str]
) -> list[CopyCheck]:
    terms = variant.search_terms
    if rules.search_terms_max_bytes:
        size = len(terms.encode("utf-8"))
        limit = rules.search_terms_max_bytes
        words = terms.lower().split()
        ok = 0 < size <= limit and "," not in terms and len(set(words)) == len(words)
        return [
            _check(
                "search_terms_bytes",
                index,
                ok,
                f"search terms: {size} bytes (1..{limit}), space separated, no word twice",
                size,
                limit,
            )
        ]
    if rules.tags_max_chars:
        tags = [t.strip() for t in terms.split(",")]
        ok = 0 < len(terms) <= rules.tags_max_chars and all(tags)
        return [
            _check(
                "tags",
                index,
                ok,
                f"tags: {len(terms)} characters (1..{rules.tags_max_chars}), none empty",
                len(terms),
                rules.tags_max_chars,
            )
        ]
    if terms:
        unused.append("search_terms")
    return []


def _social(
    variant: CopyVariant, rules: CopyRules, index: int, unused: list[str]
) -> list[CopyCheck]:
    if not rules.caption_max:
        if variant.caption:
            unused.append("caption")
        if variant.hashtags:
            unused.append("hashtags")
        return []
    total = len(" ".join([variant.caption, *variant.hashtags]))
    n = len(variant.hashtags)
    bad = [h for h in variant.hashtags if not _HASHTAG.match(h)]
    distinct = len({h.lower() for h in variant.hashtags}) == n
    in_caption = "#" in variant.caption
    return [
        _check(
            "caption_length",
            index,
            bool(variant.caption.strip()) and total <= rules.caption_max,
            f"caption with hashtags: {total} characters (max {rules.caption_max})",
            total,
            rules.caption_max,
        ),
        _check(
            "hashtags_count",
            index,
            rules.hashtags_min <= n <= rules.hashtags_max,
            f"{n} hashtags ({rules.hashtags_min}..{rules.hashtags_max})",
            n,
            rules.hashtags_max,
        ),
        _check(
            "hashtag_format",
            index,
            not bad and distinct and not in_caption,
            f"malformed: {bad}"
            if bad
            else (
                "a hashtag repeats or sits in the caption"
                if not distinct or in_caption
                else "each hashtag is #Word, once, outside the caption"
            ),
        ),
    ]

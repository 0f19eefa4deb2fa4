"""What the model is asked, and the JSON it must answer: one request writes all variants.

The system message carries the platform's rules and the honesty rules (only the facts given,
no promotions); the user message is JSON: the seller's keywords and facts, the photo's text as
read (Chinese) with our dictionary's English beside it, and the colours. The answer is
``ModelAnswer``: the model's own English reading of the photo's text (``facts_en``) and the
variants. Budgets per field keep the whole answer within ``max_tokens`` (800).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from globalpic_common.copy_facts import CopyFacts
from globalpic_common.schemas import CopyVariant
from globalpic_copywriting.profile import Profile
from globalpic_copywriting.rules import PROMO_PATTERNS, RULES

_FIELDS = (
    "title",
    "bullets",
    "description",
    "meta_description",
    "search_terms",
    "caption",
    "hashtags",
    "explanation_zh",
)
_LISTS = ("bullets", "hashtags")

# Words per field, so n variants fit the output budget (about 0.75 words per token).
_BUDGET = {
    "amazon": "title <= 20 words; 5 bullets of <= 8 words; description <= 20 words; "
    "search_terms <= 10 words",
    "ebay": "title <= 12 words; description <= 40 words",
    "shopify": "title <= 10 words; meta_description <= 25 words; description <= 40 words as "
    "<p>/<ul><li> HTML; search_terms = 4-6 comma separated tags",
    "tiktok": "caption <= 30 words; 3-5 hashtags",
    "instagram": "caption <= 35 words; 3-5 hashtags",
    "facebook": "caption <= 35 words; 1-3 hashtags",
}


class ModelAnswer(BaseModel):
    """The JSON the model must return (validated; anything else counts as malformed)."""

    model_config = ConfigDict(extra="ignore")

    facts_en: list[str] = Field(default_factory=list)
    variants: list[CopyVariant] = Field(min_length=1)


def used_fields(platform: str) -> list[str]:
    """The fields ``platform`` uses: only these are asked for (every key costs tokens)."""
    rules = RULES[platform]
    used = {
        "title": bool(rules.title_max),
        "bullets": bool(rules.bullets),
        "description": bool(rules.description_max),
        "meta_description": bool(rules.meta_max),
        "search_terms": bool(rules.search_terms_max_bytes or rules.tags_max_chars),
        "caption": bool(rules.caption_max),
        "hashtags": bool(rules.caption_max),
        "explanation_zh": True,
    }
    return [name for name in _FIELDS if used[name]]


def response_schema(platform: str) -> dict[str, Any]:
    """A strict JSON schema (OpenAI structured outputs: every field required, no extras)."""
    fields = used_fields(platform)
    variant = {
        "type": "object",
        "additionalProperties": False,
        "required": fields,
        "properties": {
            name: (
                {"type": "array", "items": {"type": "string"}}
                if name in _LISTS
                else {"type": "string"}
            )
            for name in fields
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["facts_en", "variants"],
        "properties": {
            "facts_en": {"type": "array", "items": {"type": "string"}},
            "variants": {"type": "array", "items": variant},
        },
    }


def response_format(kind: str, platform: str) -> dict[str, Any]:
    if kind == "json_object":
        return {"type": "json_object"}
    schema = response_schema(platform)
    return {
        "type": "json_schema",
        "json_schema": {"name": "listing_copy", "strict": True, "schema": schema},
    }


def system_message(platform: str, n: int) -> str:
    rules = RULES[platform]
    promos = ", ".join(p.replace("\\b", "").replace("\\", "") for p in PROMO_PATTERNS[:12])
    return (
        "You write English e-commerce listing copy for a Chinese seller selling on "
        f"{rules.name}. Write exactly {n} clearly different A/B variants (different angles: "
        "facts, use, gift, look, search), each with a different title or first caption line.\n"
        f"Platform rules: {rules.notes}\n"
        f"Length budget per variant: {_BUDGET[platform]}; explanation_zh: one short Chinese "
        "sentence (<= 20 characters) telling the seller what the variant emphasizes.\n"
        "Honesty rules: use only the facts in the input. Never invent a number, size, "
        "material, certification or performance claim (waterproof, organic, BPA-free, ...). "
        f"No promotional claims ({promos}). US English, no misspellings, no word more than "
        "twice in a title, no emoji. "
        "Hashtags are #CamelCase words without digits.\n"
        "facts_en: the Chinese photo text (ocr_lines) as short English facts.\n"
        "Answer with JSON only: "
        '{"facts_en": [string], "variants": [{'
        + ", ".join(f'"{f}"' for f in used_fields(platform))
        + "}]}."
    )


def user_message(facts: CopyFacts, profile: Profile, platform: str, n: int) -> str:
    payload = {
        "platform": platform,
        "variants": n,
        "facts": facts.model_dump(),
        "dictionary_facts_en": profile.facts_en,
    }
    return json.dumps(payload, ensure_ascii=False)


def messages(facts: CopyFacts, profile: Profile, platform: str, n: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system_message(platform, n)},
        {"role": "user", "content": user_message(facts, profile, platform, n)},
    ]


def parse_request(body: dict[str, Any]) -> tuple[CopyFacts, str, int]:
    """The inputs back out of a request this module built (the local test server's model
    reads them to answer)."""
    payload = json.loads(body["messages"][-1]["content"])
    return CopyFacts.model_validate(payload["facts"]), payload["platform"], payload["variants"]

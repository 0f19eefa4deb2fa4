"""Each platform's validators catch each rule broken, and pass a clean variant."""

from __future__ import annotations

import pytest

from globalpic_common import errors
from globalpic_common.copy_facts import copy_platform
from globalpic_common.errors import BadInputError
from globalpic_common.schemas import CopyVariant
from globalpic_copywriting.rules import promo_terms, validate_variant

ZH = "方案A：突出材质与规格。"
GOOD = {
    "amazon": CopyVariant(
        title="Acme Stainless Steel Vacuum Flask 500ml for Home, Office and Travel",
        bullets=[f"POINT {i}: A clear fact about the flask." for i in range(5)],
        description="The Acme vacuum flask made of stainless steel.",
        search_terms="thermos travel mug insulated cup",
        explanation_zh=ZH,
    ),
    "ebay": CopyVariant(
        title="Acme Stainless Steel Vacuum Flask 500ml", description="A flask.", explanation_zh=ZH
    ),
    "shopify": CopyVariant(
        title="Acme Vacuum Flask 500ml",
        description="<p>A flask.</p><ul><li>Capacity: 500ml</li></ul>",
        meta_description="Acme vacuum flask, 500ml.",
        search_terms="flask, stainless steel",
        explanation_zh=ZH,
    ),
    "tiktok": CopyVariant(
        caption="Meet the flask.", hashtags=["#Flask", "#Drinkware", "#OnTheGo"], explanation_zh=ZH
    ),
    "instagram": CopyVariant(
        caption="Meet the flask.", hashtags=["#Flask", "#Drinkware", "#OnTheGo"], explanation_zh=ZH
    ),
    "facebook": CopyVariant(caption="Meet the flask.", hashtags=["#Flask"], explanation_zh=ZH),
}


def _failed(variant: CopyVariant, platform: str) -> set[str]:
    return {c.rule for c in validate_variant(variant, platform) if not c.passed}


@pytest.mark.parametrize("platform", list(GOOD))
def test_a_clean_variant_passes(platform: str) -> None:
    assert _failed(GOOD[platform], platform) == set()


def _with(platform: str, **update: object) -> CopyVariant:
    return GOOD[platform].model_copy(update=update)


@pytest.mark.parametrize(
    ("platform", "update", "rule"),
    [
        ("amazon", {"title": "A" * 201}, "title_length"),
        ("amazon", {"title": "Vacuum Flask!"}, "title_chars"),
        ("amazon", {"title": "Best Seller Vacuum Flask"}, "promo_terms"),
        ("amazon", {"bullets": ["one", "two", "three", "four"]}, "bullets_count"),
        ("amazon", {"bullets": ["x" * 256, "b", "c", "d", "e"]}, "bullet_length"),
        ("amazon", {"bullets": ["same", "same", "c", "d", "e"]}, "bullets_distinct"),
        ("amazon", {"bullets": ["FREE SHIPPING on it", "b", "c", "d", "e"]}, "promo_terms"),
        ("amazon", {"search_terms": "é" * 125}, "search_terms_bytes"),  # 250 bytes
        ("amazon", {"search_terms": "mug, cup"}, "search_terms_bytes"),
        ("amazon", {"search_terms": "mug mug"}, "search_terms_bytes"),
        ("amazon", {"caption": "a post"}, "unused_fields_empty"),
        ("amazon", {"description": "x" * 2001}, "description_length"),
        ("ebay", {"title": "x" * 81}, "title_length"),
        ("ebay", {"bullets": ["a"]}, "unused_fields_empty"),
        ("ebay", {"description": "#1 flask on eBay"}, "promo_terms"),
        ("shopify", {"title": "x" * 71}, "title_length"),
        ("shopify", {"meta_description": "x" * 161}, "meta_description_length"),
        ("shopify", {"description": "<p>open"}, "description_html"),
        ("shopify", {"description": "<script>x</script>"}, "description_html"),
        ("shopify", {"description": '<p class="a">x</p>'}, "description_html"),
        ("shopify", {"search_terms": "flask,,mug"}, "tags"),
        ("tiktok", {"hashtags": ["#A1", "#B1"]}, "hashtags_count"),
        ("tiktok", {"hashtags": [f"#Tag{c}" for c in "ABCDEF"]}, "hashtags_count"),
        ("tiktok", {"hashtags": ["#Flask", "#flask", "#Mug"]}, "hashtag_format"),
        ("tiktok", {"hashtags": ["Flask", "#Mug", "#Cup"]}, "hashtag_format"),
        ("tiktok", {"hashtags": ["#Two Words", "#Mug", "#Cup"]}, "hashtag_format"),
        ("tiktok", {"caption": "x" * 2200}, "caption_length"),
        ("tiktok", {"caption": "Meet the flask #Flask"}, "hashtag_format"),
        ("tiktok", {"title": "A title"}, "unused_fields_empty"),
        ("instagram", {"hashtags": [f"#Tag{c}" for c in "ABCDEF"]}, "hashtags_count"),
        ("facebook", {"hashtags": ["#A1", "#B1", "#C1", "#D1"]}, "hashtags_count"),
        ("facebook", {"caption": "x" * 1001}, "caption_length"),
        ("facebook", {"explanation_zh": "English only"}, "explanation_zh"),
        ("facebook", {"explanation_zh": ""}, "explanation_zh"),
    ],
)
def test_each_broken_rule_is_caught(platform: str, update: dict[str, object], rule: str) -> None:
    assert rule in _failed(_with(platform, **update), platform)


def test_platform_names_and_presets_map_to_copy_rules() -> None:
    assert copy_platform("Amazon") == "amazon"
    assert copy_platform("shopify-product") == "shopify"
    assert copy_platform("instagram-story") == "instagram"
    with pytest.raises(BadInputError) as caught:
        copy_platform("myspace")
    assert caught.value.code == errors.UNKNOWN_PLATFORM


def test_promo_terms() -> None:
    assert promo_terms("Top Rated mug, Free Shipping, Limited Time") == [
        "Top Rated",
        "Free Shipping",
        "Limited Time",
    ]
    assert promo_terms("A salad bowl for the weekend") == []

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from globalpic_common.errors import UNKNOWN_STYLE, BadInputError
from globalpic_common.styles import STYLES, Style, get_style, style_ids

REQUIRED = {
    "minimal-white", "minimal-grey", "minimal-beige", "amazon-white", "studio-sweep",
    "modern-home", "business-desk", "natural-outdoor", "tiktok-vivid", "instagram-lifestyle",
    "brand-store",
}  # fmt: skip


def test_catalog_covers_the_required_styles() -> None:
    ids = style_ids()
    assert len(ids) >= 12
    assert len(set(ids)) == len(ids)
    assert set(ids) >= REQUIRED


def test_ids_are_kebab_case_and_names_are_bilingual() -> None:
    for style in STYLES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", style.id)
        assert style.name_en and style.description
        assert re.search(r"[\u4e00-\u9fff]", style.name_zh), style.id


def test_solid_styles_are_exact_and_scenes_approximate() -> None:
    assert get_style("amazon-white").rendering == "exact"
    assert get_style("studio-sweep").rendering == "exact"
    for sid in ("modern-home", "natural-outdoor", "brand-store", "instagram-lifestyle"):
        assert get_style(sid).rendering == "approximate"
    assert {s.rendering for s in STYLES} == {"exact", "approximate"}


def test_prompts_are_photographic_and_never_describe_a_product() -> None:
    for style in STYLES:
        prompt = style.prompt.lower()
        assert "photograph" in prompt, style.id
        assert "{" not in prompt  # no template slot for a product description
        assert "text" in style.negative_prompt and "watermark" in style.negative_prompt
    assert "255" in get_style("amazon-white").prompt


def test_get_style_is_case_insensitive() -> None:
    assert get_style(" Modern-Home ").id == "modern-home"


def test_unknown_style_names_the_valid_ids() -> None:
    with pytest.raises(BadInputError) as info:
        get_style("vaporwave")
    assert info.value.code == UNKNOWN_STYLE
    assert "amazon-white" in info.value.message and "vaporwave" in info.value.message


def test_styles_are_frozen_and_validated() -> None:
    style = get_style("minimal-grey")
    with pytest.raises(ValidationError):
        style.id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Style(
            id="Not Kebab", name_en="x", name_zh="x", prompt="x", negative_prompt="x",
            rendering="exact", family="solid", description="x",
        )  # fmt: skip

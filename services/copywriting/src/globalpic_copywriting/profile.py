"""``Profile``: the facts of one product in English, and the evidence the copy is held to.

Built from ``CopyFacts`` with the dictionary: the seller's facts win over what the photo says
(the seller knows the product; OCR may misread), the photo's Chinese fills in the rest. The
``Evidence`` keeps every number, material and claim word found in any input, so the quality
gate can refuse copy that says something no input said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from globalpic_common.copy_facts import CopyFacts
from globalpic_copywriting.dictionary import Dictionary, Term
from globalpic_copywriting.glossary import GLOSSARY

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z]+")

# Product words -> the category whose phrase bank the offline writer uses.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "drinkware": (
        "bottle", "flask", "cup", "mug", "tumbler", "teacup", "kettle", "thermos", "jug",
    ),
    "beverage": ("water", "tea", "coffee", "juice", "drink", "milk", "soda", "beverage"),
    "food": (
        "biscuits", "cookies", "snack", "snacks", "candy", "chocolate", "noodles", "jerky", "nuts",
        "yogurt",
    ),
    "apparel": (
        "shirt", "t-shirt", "tee", "top", "dress", "skirt", "jacket", "coat", "sweatshirt",
        "hoodie", "jeans", "pants", "trousers", "socks", "hat", "cap", "sweater", "blouse",
        "sneakers", "shoes", "slippers", "boots", "pullover", "leggings",
    ),
    "bags": ("backpack", "bag", "handbag", "wallet", "purse", "tote", "rucksack", "daypack"),
    "electronics": (
        "headphones", "earbuds", "earphones", "charger", "cable", "bank", "speaker",
        "bluetooth", "case", "adapter", "mouse", "keyboard",
    ),
    "kitchen": ("pan", "wok", "pot", "knife", "bowl", "plate", "skillet", "spatula"),
    "home": (
        "box", "organizer", "pillow", "cushion", "towel", "lamp", "blanket", "umbrella",
        "storage", "basket", "rug", "vase", "bin",
    ),
    "beauty": (
        "lipstick", "mask", "cream", "serum", "lotion", "cleanser", "brush", "conditioner",
        "shampoo", "wash", "moisturizer",
    ),
    "toys": ("toy", "blocks", "puzzle", "doll", "plush", "game"),
    "jewelry": ("necklace", "earrings", "ring", "bracelet", "watch", "pendant"),
}  # fmt: skip


@dataclass(frozen=True)
class Spec:
    label: str  # "Net content", "Capacity", "Size", ...
    value: str  # "550ml", "M", "30 x 20 cm"


@dataclass(frozen=True)
class Evidence:
    """What the inputs said, for the traceability checks."""

    numbers: frozenset[str]  # normalised: "550", "39.9"
    text: str  # every English fact and keyword, lowercase, space-joined
    chinese: str  # every Chinese input, joined
    words: frozenset[str]  # lowercase words of the English facts: the spell check allows them


@dataclass
class Profile:
    product: str  # "vacuum flask": as written mid-sentence
    category: str
    brand: str | None = None
    materials: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    specs: list[Spec] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    audience: list[str] = field(default_factory=list)
    seasons: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # other words read on the photo
    facts_en: list[str] = field(default_factory=list)
    evidence: Evidence = field(default_factory=lambda: Evidence(frozenset(), "", "", frozenset()))

    @property
    def known_product(self) -> bool:
        return self.product != "product"


def normalise_number(text: str) -> str:
    value = text.replace(",", ".")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value.lstrip("0") or "0"


def _add(items: list[str], value: str | None) -> None:
    if value and value.lower() not in {i.lower() for i in items}:
        items.append(value)


def _english(dictionary: Dictionary, value: str) -> tuple[str, list[Term]]:
    """A seller value in English: as given, or translated when it is Chinese."""
    if not _CJK.search(value):
        return value, []
    terms = dictionary.translate(value)
    words = [t.en for t in terms if t.kind not in ("number",)]
    return (" ".join(words) if words else ""), terms


def category_of(*phrases: str) -> str:
    words = [w for p in phrases for w in re.split(r"[\s/]+", p.lower()) if w]
    for word in reversed(words):  # the head noun is last in English too
        for category, names in CATEGORIES.items():
            if word in names or word.rstrip("s") in names:
                return category
    return "general"


def build_profile(facts: CopyFacts, dictionary: Dictionary) -> Profile:
    lines = [dictionary.translate(line) for line in facts.ocr_lines]
    ocr_terms = [t for line in lines for t in line]
    seller: dict[str, str] = {}
    seller_terms: list[Term] = []
    for fact in facts.seller:
        english, terms = _english(dictionary, fact.value)
        if english:
            seller[fact.name] = english
        seller_terms.extend(terms)

    product, product_synonyms = _product(seller, lines, facts.keywords)
    profile = Profile(product=product, category=category_of(product, *facts.keywords))
    profile.brand = seller.get("brand") or next(
        (t.en for t in ocr_terms if t.kind == "brand"), None
    )
    for value in _split(seller.get("material")):
        _add(profile.materials, value.lower())
    for term in [*seller_terms, *ocr_terms]:
        if term.kind == "material":
            _add(profile.materials, term.en)
    for value in _split(seller.get("color")) or facts.colors:
        _add(profile.colors, value.lower())
    _specs(profile, seller, ocr_terms)
    for term in ocr_terms:
        if term.kind == "feature":
            _add(profile.features, term.en)
        elif term.kind == "audience":
            _add(profile.audience, term.en)
        elif term.kind == "season":
            _add(profile.seasons, term.en)
        elif term.kind in ("term", "latin") and term.en.lower() not in product.lower():
            _add(profile.terms, term.en)
    for name in ("feature", "features", "style"):
        for value in _split(seller.get(name)):
            _add(profile.features, value.lower())
    for value in _split(seller.get("audience") or seller.get("gender")):
        _add(profile.audience, value.lower())
    for keyword in facts.keywords:
        _add(profile.keywords, _english(dictionary, keyword)[0] or keyword)
    for synonym in product_synonyms:
        if synonym.lower() != product.lower():
            _add(profile.synonyms, synonym)
    profile.facts_en = _facts_en(profile, seller)
    profile.evidence = _evidence(facts, profile, ocr_terms, seller_terms)
    return profile


def _split(value: str | None) -> list[str]:
    if not value:
        return []
    return [p.strip() for p in re.split(r"\s*(?:/|\band\b|&|\+)\s*", value) if p.strip()]


def _product(
    seller: dict[str, str], lines: list[list[Term]], keywords: list[str]
) -> tuple[str, list[str]]:
    """The product's name and synonyms: the seller's, else the photo's head noun (with the
    words right before it on its line: 厨房收纳盒 -> kitchen storage box), else the first
    keyword."""
    if seller.get("product"):
        return seller["product"].lower(), []
    # A glossary product (a trade noun) before one the general dictionary guessed from a
    # head character.
    curated = any(t.kind == "product" and t.zh in GLOSSARY for line in lines for t in line)
    for terms in lines:
        for i, term in enumerate(terms):
            if term.kind != "product" or (curated and term.zh not in GLOSSARY):
                continue
            modifiers: list[str] = []
            j = i - 1
            # At most two words of them: "kitchen storage box", not a whole slogan.
            while j >= 0 and terms[j].kind == "term":
                if len(" ".join([terms[j].en, *modifiers]).split()) > 2:
                    break
                modifiers.insert(0, terms[j].en)
                j -= 1
            words: list[str] = []
            for word in " ".join([*modifiers, term.en]).split():
                if word.lower() not in {w.lower() for w in words}:
                    words.append(word)
            others = [t.en for line in lines for t in line if t.kind == "product" and t != term]
            name = " ".join(words)
            return (name if term.en[0].isupper() else name.lower()), [*term.synonyms, *others]
    if keywords:
        return keywords[0].lower(), []
    return "product", []


_SPEC_FACTS = {
    "size": "Size",
    "capacity": "Capacity",
    "weight": "Weight",
    "dimensions": "Dimensions",
    "quantity": "Quantity",
    "model": "Model",
    "power": "Power",
    "net_content": "Net content",
}


def _specs(profile: Profile, seller: dict[str, str], ocr_terms: list[Term]) -> None:
    seen: set[str] = set()
    for name, label in _SPEC_FACTS.items():
        if seller.get(name):
            profile.specs.append(Spec(label, seller[name]))
            seen.add(label.lower())
    for term in ocr_terms:
        if term.kind in ("spec", "size"):
            label = term.label or "Size"
            key = f"{label.lower()}:{term.en.lower()}"
            if label.lower() in seen or key in seen:
                continue
            seen.add(key)
            profile.specs.append(Spec(label, term.en))


def _facts_en(profile: Profile, seller: dict[str, str]) -> list[str]:
    out = [f"Product: {profile.product}"]
    if profile.brand:
        out.append(f"Brand: {profile.brand}")
    if profile.materials:
        out.append(f"Material: {', '.join(profile.materials)}")
    if profile.colors:
        out.append(f"Color: {', '.join(profile.colors)}")
    out.extend(f"{s.label}: {s.value}" for s in profile.specs)
    if profile.features:
        out.append(f"Features: {', '.join(profile.features)}")
    if profile.audience:
        out.append(f"For: {', '.join(profile.audience)}")
    if profile.seasons:
        out.append(f"Season: {', '.join(profile.seasons)}")
    known = {"product", "brand", "material", "color", "feature", "features", "style"}
    known |= set(_SPEC_FACTS) | {"audience", "gender"}
    out.extend(
        f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in seller.items() if k not in known
    )
    if profile.terms:
        out.append(f"Also on the photo: {', '.join(profile.terms)}")
    return out


def _evidence(
    facts: CopyFacts, profile: Profile, ocr_terms: list[Term], seller_terms: list[Term]
) -> Evidence:
    raw = [*facts.ocr_lines, *facts.keywords, *(f"{f.name} {f.value}" for f in facts.seller)]
    english = [
        *profile.facts_en,
        *profile.keywords,
        *profile.synonyms,
        *(t.en for t in [*ocr_terms, *seller_terms]),
        *(f"{f.name} {f.value}" for f in facts.seller),
        *facts.colors,
    ]
    numbers = {normalise_number(n) for text in [*raw, *english] for n in _NUMBER.findall(text)}
    text = " ".join(english).lower()
    chinese = " ".join(t for t in raw if _CJK.search(t))
    words = frozenset(w.lower() for w in _WORD.findall(" ".join(english)))
    return Evidence(frozenset(numbers), f" {' '.join(text.split())} ", chinese, words)

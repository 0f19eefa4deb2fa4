"""The offline writer's templates: one field of one variant from the profile and an angle.

Facts (brand, material, colour, specs, features) are written only from the ``Profile``; the
phrase banks add uses and occasions. Each builder returns candidates in order of preference;
``offline`` picks among them what passes the rules and keeps the variants apart.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from globalpic_copywriting.phrases import ANGLE_ZH, FACT_ZH, PLATFORM_ZH, Bank
from globalpic_copywriting.profile import Profile, Spec

_SMALL = frozenset({"and", "or", "for", "with", "in", "of", "the", "a", "an", "to", "on"})
_UNITS = frozenset({"ml", "l", "g", "kg", "mm", "cm", "m", "oz", "pcs", "mah", "w", "v", "inch"})
_TITLE_SPECS = ("Capacity", "Net content", "Size", "Weight", "Dimensions", "Quantity")


def title_case(text: str) -> str:
    words = text.split()
    out: list[str] = []
    for i, word in enumerate(words):
        low = word.lower()
        if any(ch.isdigit() for ch in word) or low in _UNITS or word.isupper():
            out.append(word)
        elif i and low in _SMALL:
            out.append(low)
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in word.split("-")))
    return " ".join(out)


def sentence(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] if text else text


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def spec_text(spec: Spec) -> str:
    """How a spec reads in a title: "550ml", "Size M"."""
    if spec.label.lower().startswith("size") and not any(c.isdigit() for c in spec.value):
        return f"Size {spec.value}"
    return spec.value


def title_spec(profile: Profile) -> str | None:
    for label in _TITLE_SPECS:
        for spec in profile.specs:
            if spec.label == label:
                return spec_text(spec)
    return spec_text(profile.specs[0]) if profile.specs else None


def audience_phrase(profile: Profile) -> str | None:
    return (
        f"for {join_words([a.title() for a in profile.audience[:2]])}" if profile.audience else None
    )


def cores(profile: Profile) -> list[str]:
    """The product's name, from the richest (brand, feature, material, spec) to the bare
    noun: titles start with one of these."""
    product = title_case(profile.product)
    brand = profile.brand
    material = title_case(profile.materials[0]) if profile.materials else None
    feature = title_case(profile.features[0]) if profile.features else None
    color = title_case(profile.colors[0]) if profile.colors else None
    spec = title_spec(profile)
    forms: list[list[str | None]] = [
        [brand, feature, material, product, spec],
        [brand, material, product, spec],
        [material, product, spec],
        [brand, product, spec],
        [feature, product, spec],
        [color, product],
        [product, spec],
        [product],
    ]
    out: list[str] = []
    for form in forms:
        words: list[str] = []
        for part in form:
            if not part:
                continue
            for word in part.split():  # "Natural" + "Natural Water": once
                if word.lower() not in {w.lower() for w in words}:
                    words.append(word)
        core = " ".join(words)
        if core and core not in out:
            out.append(core)
    return out


def tails(profile: Profile, angle: str, bank: Bank, rng: random.Random) -> list[str]:
    """What follows the name in a title for ``angle``, shuffled per seed."""
    colors = [title_case(c) for c in profile.colors[:2]]
    features = [title_case(f) for f in profile.features[:3]]
    uses = list(bank.uses)
    rng.shuffle(uses)
    audience = audience_phrase(profile)
    by_angle: dict[str, list[str]] = {
        "facts": [
            ", ".join(x for x in [join_words(colors), ", ".join(features)] if x),
            ", ".join(features),
            join_words(colors),
            *(s.label + " " + s.value for s in profile.specs[1:3]),
        ],
        "use": [f"for {u}" for u in uses],
        "gift": [f"Gift for {title_case(bank.gift)}", "Gift Idea for Family and Friends",
                 f"Thoughtful Gift {audience or 'for Any Occasion'}"],
        "look": [*(f"in {c}" for c in colors), "Simple Modern Look", "Clean Minimal Design"],
        "search": [
            ", ".join(title_case(s) for s in profile.synonyms[:2]),
            ", ".join(title_case(k) for k in profile.keywords[:3]),
            *(title_case(s) for s in profile.synonyms[2:4]),
            *(f"{u} Essential" for u in uses[:3] if "essential" not in u.lower()),
        ],
    }  # fmt: skip
    found = [t for t in by_angle.get(angle, []) if t]
    if audience and angle in ("use", "facts"):
        found.append(audience)
    if angle == "search":
        rng.shuffle(found)
    return list(dict.fromkeys(found)) or [f"for {uses[0]}"]


_CORE_START = {"facts": 0, "use": 2, "gift": 1, "look": 5, "search": 6}


def titles(
    profile: Profile, angle: str, bank: Bank, rng: random.Random, pairs: bool
) -> Iterator[str]:
    """Title candidates: name, then one tail (two when ``pairs``, for long titles)."""
    own = tails(profile, angle, bank, rng)
    other = [t for a in ("use", "facts", "look", "gift") if a != angle
             for t in tails(profile, a, bank, rng)[:2]]  # fmt: skip
    names = cores(profile)
    # Each angle leads with its own form of the name (facts: the richest; look: colour and
    # noun; search: noun and spec), so the five titles differ from their first words.
    start = min(_CORE_START.get(angle, 0), len(names) - 1)
    for core in [*names[start:], *names[:start]]:
        fresh = [x for x in own if not _repeats(core, x)]
        if pairs:
            for first in fresh:
                for second in other:
                    if not _repeats(f"{core} {first}", second):
                        yield f"{core} - {first}, {second}"
        for first in fresh:
            yield f"{core} - {first}" if not first.startswith("for ") else f"{core} {first}"
        yield core


def _repeats(text: str, tail: str) -> bool:
    """Whether a piece of ``tail`` ("Gray, Large Capacity") is already said in ``text``."""
    said = text.lower()
    parts = (re.sub(r"^(?:in|for) ", "", p.strip().lower()) for p in re.split(r",| and ", tail))
    return any(part in said for part in parts if part)


def bullet_pool(profile: Profile, bank: Bank, rng: random.Random) -> dict[str, str]:
    product = profile.product
    pool: dict[str, str] = {}
    if profile.materials:
        pool["material"] = f"MATERIAL: {sentence(product)} made of {join_words(profile.materials)}."
    if profile.specs:
        pool["spec"] = (
            "SPECIFICATIONS: " + "; ".join(f"{s.label} {s.value}" for s in profile.specs[:4]) + "."
        )
    if profile.colors:
        pool["color"] = f"COLOR: {sentence(join_words(profile.colors))}, as shown in the photos."
    if profile.features:
        pool["feature"] = f"FEATURES: {sentence(', '.join(profile.features[:4]))}."
    if profile.brand:
        pool["brand"] = f"BRAND: {profile.brand} {product}, exactly as pictured."
    if profile.audience or profile.seasons:
        who = join_words([*profile.audience[:2], *profile.seasons[:1]])
        pool["audience"] = f"MADE FOR: {sentence(who)}."
    moments = list(bank.moments)
    rng.shuffle(moments)
    pool["use"] = f"EVERYDAY USE: {moments[0]}"
    if len(moments) > 1:
        pool["use2"] = f"ON THE GO: {moments[1]}"
    pool["look"] = f"THE LOOK: {rng.choice(bank.style)}"
    pool["gift"] = f"GIFT IDEA: A thoughtful present for {bank.gift}."
    if profile.keywords:
        pool["keywords"] = f"GREAT FOR: {sentence(join_words(profile.keywords[:4]))}."
    pool["contents"] = f"WHAT YOU GET: The {product} shown in the photos."
    return pool


_BULLET_ORDER: dict[str, tuple[str, ...]] = {
    "facts": ("material", "spec", "color", "feature", "brand", "audience", "use", "contents"),
    "use": ("use", "spec", "material", "use2", "feature", "audience", "gift", "contents"),
    "gift": ("gift", "material", "spec", "color", "use", "feature", "look", "contents"),
    "look": ("look", "color", "material", "spec", "feature", "use", "gift", "contents"),
    "search": ("keywords", "feature", "material", "spec", "use", "color", "gift", "contents"),
}


def bullets(profile: Profile, angle: str, bank: Bank, rng: random.Random, n: int) -> list[str]:
    pool = bullet_pool(profile, bank, rng)
    order = [k for k in _BULLET_ORDER[angle] if k in pool]
    order += [k for k in pool if k not in order]
    return [pool[k] for k in order[:n]]


def details(profile: Profile) -> list[str]:
    """The facts as "Label: value" lines."""
    lines: list[str] = []
    if profile.brand:
        lines.append(f"Brand: {profile.brand}")
    if profile.materials:
        lines.append(f"Material: {join_words(profile.materials)}")
    if profile.colors:
        lines.append(f"Color: {join_words(profile.colors)}")
    lines.extend(f"{s.label}: {s.value}" for s in profile.specs[:5])
    if profile.features:
        lines.append(f"Features: {', '.join(profile.features[:4])}")
    return lines


def opening(profile: Profile, angle: str, bank: Bank, rng: random.Random) -> str:
    product = profile.product
    name = f"{profile.brand} {product}" if profile.brand else product
    made = f" made of {join_words(profile.materials[:2])}" if profile.materials else ""
    color = f" in {join_words(profile.colors[:2])}" if profile.colors else ""
    by_angle = {
        "facts": f"The {name}{made}{color}.",
        "use": rng.choice(bank.moments),
        "gift": f"Looking for a present for {bank.gift}? This {product} is a thoughtful pick.",
        "look": f"{rng.choice(bank.style)} Meet the {name}{color}.",
        "search": f"Everything you need to know about this {product}{made}.",
    }
    return sentence(by_angle[angle])


def description(profile: Profile, angle: str, bank: Bank, rng: random.Random, html: bool) -> str:
    first = opening(profile, angle, bank, rng)
    moment = rng.choice([m for m in bank.moments if m != first] or list(bank.moments))
    lines = details(profile)
    if html:
        items = "".join(f"<li>{_escape(line)}</li>" for line in lines)
        body = f"<ul>{items}</ul>" if items else ""
        return f"<p>{_escape(first)}</p>{body}<p>{_escape(moment)}</p>"
    listed = "\n".join(f"- {line}" for line in lines)
    parts = [first, f"Item details:\n{listed}" if listed else "", moment]
    return "\n\n".join(p for p in parts if p)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def meta_description(
    profile: Profile, core: str, bank: Bank, rng: random.Random, limit: int
) -> str:
    facts = [f"{s.label} {s.value}" for s in profile.specs[:2]]
    if profile.materials:
        facts.insert(0, f"made of {profile.materials[0]}")
    parts = [f"{core}{': ' + ', '.join(facts) if facts else ''}.", rng.choice(bank.moments)]
    while parts:
        text = " ".join(parts)
        if len(text) <= limit:
            return text
        parts.pop()
    return core[:limit]


def search_terms(profile: Profile, title: str, bank: Bank, rng: random.Random, limit: int) -> str:
    """Backend keywords: words buyers search that the title does not already hold."""
    taken = set(re.findall(r"[a-z0-9]+", title.lower()))
    # Words read on the photo by the general dictionary (profile.terms) stay out: they are
    # as often the store's slogan as the product's.
    phrases = [
        *profile.keywords,
        *profile.synonyms,
        *profile.features,
        *profile.audience,
        *profile.seasons,
        *profile.colors,
        *profile.materials,
        *bank.uses,
        profile.product,
    ]
    words: list[str] = []
    for phrase in phrases:
        for word in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", phrase.lower()):
            if word not in taken and word not in words and word not in {"and", "for", "the"}:
                words.append(word)
    head = words[:6]
    rest = words[6:]
    rng.shuffle(rest)  # vary the tail per variant, keep the seller's words first
    out = ""
    for word in [*head, *rest]:
        candidate = f"{out} {word}".strip()
        if len(candidate.encode("utf-8")) <= limit:
            out = candidate
    if not out:
        out = " ".join(re.findall(r"[a-z]+", profile.product.lower()))[:limit]
    return out


def tags(profile: Profile, category: str, limit: int) -> str:
    items = [profile.product, *profile.materials[:2], *profile.colors[:2], *profile.keywords[:4],
             *profile.features[:2], category if category != "general" else ""]  # fmt: skip
    out: list[str] = []
    for item in items:
        fresh = item and item.lower() not in {o.lower() for o in out}
        if fresh and len(", ".join([*out, item])) <= limit:
            out.append(item)
    return ", ".join(out)


def hooks(profile: Profile, angle: str, bank: Bank, rng: random.Random) -> list[str]:
    """A post's first line for ``angle``: several wordings (each over the bank's uses), so
    five posts can open differently even for a long product name."""
    product = profile.product
    color = f"{profile.colors[0]} " if profile.colors else ""
    spec = title_spec(profile)
    other = (profile.synonyms or profile.keywords or [""])[0]
    uses = [u.lower() for u in bank.uses]
    rng.shuffle(uses)
    by_angle = {
        "facts": [
            f"Meet the {product}" + (f" ({spec})" if spec else "") + ", details below.",
            f"All the details on this {product}.",
            f"The {product} at a glance.",
        ],
        "use": [f"Your new favorite {product} for {u}." for u in uses[:3]]
        + [f"Made for {u}: this {product}." for u in uses[3:]],
        "gift": [
            f"Gift idea: this {product} for {bank.gift}.",
            f"Looking for a present? This {product} is a thoughtful pick.",
            f"Treat someone special to this {product}.",
        ],
        "look": [
            f"Say hello to the {color}{product} and its clean look.",
            f"The {color}{product}, exactly as pictured.",
            f"Clean and simple: the {color}{product}.",
        ],
        "search": [
            *([f"Searching for a {other}? This {product} is it."] if other else []),
            f"Everything you want to know about this {product}.",
            f"Shopping for a {product}? Start here.",
        ],
    }
    return [sentence(h) for h in by_angle[angle]]


def hook(profile: Profile, angle: str, bank: Bank, rng: random.Random) -> str:
    return hooks(profile, angle, bank, rng)[0]


def caption(profile: Profile, first: str, bank: Bank, rng: random.Random, platform: str) -> str:
    """A post's text after its hook ``first`` (the headline the variant was chosen for)."""
    facts = details(profile)[:3]
    moment = rng.choice(bank.moments)
    cta = rng.choice(["Find it in our shop.", "Tap through to see every detail.",
                      "Shop it from the link in our profile."])  # fmt: skip
    if platform == "instagram":
        listed = "\n".join(f"- {f}" for f in facts)
        return "\n\n".join(p for p in [first, listed, f"{moment} {cta}"] if p)
    if platform == "facebook":
        return f"{first} {moment} {cta}"
    fact = f"{facts[0]}." if facts else ""
    return " ".join(p for p in [first, fact, cta] if p)


def camel(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-z]+", text))


def hashtags(profile: Profile, bank: Bank, rng: random.Random, lo: int, hi: int) -> list[str]:
    own = [camel(profile.product), *(camel(k) for k in profile.keywords[:2])]
    own += [camel(m) for m in profile.materials[:1]]
    general = list(bank.hashtags)
    rng.shuffle(general)
    out: list[str] = []
    for tag in [*(f"#{t}" for t in own if 1 < len(t) <= 49), *general]:
        if tag.lower() not in {o.lower() for o in out}:
            out.append(tag)
    count = rng.randint(lo, hi) if hi > lo else hi
    return out[: max(lo, count)]


def explanation(profile: Profile, angle: str, index: int, platform: str) -> str:
    used = [
        key
        for key, present in (
            ("brand", profile.brand),
            ("material", profile.materials),
            ("color", profile.colors),
            ("spec", profile.specs),
            ("feature", profile.features),
            ("audience", profile.audience),
            ("keywords", profile.keywords),
        )
        if present
    ]
    facts = "、".join(FACT_ZH[k] for k in used) or "商品名称"
    letter = chr(ord("A") + index) if index < 26 else str(index + 1)
    text = f"方案{letter}：{ANGLE_ZH[angle]}。用到的信息：{facts}。{PLATFORM_ZH[platform]}。"
    if not profile.known_product:
        text += "图中未识别出商品名称，请用 --facts product=... 或 --keywords 补充。"
    return text

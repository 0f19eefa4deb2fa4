"""``OfflineCopywriter``: templates and phrase banks, no network, deterministic per seed.

Write, validate, regenerate: each variant takes an angle (facts, use, gift, look, search);
its headline (title, or a caption's first line) is the first candidate that passes the
platform's rules and the quality gate and stays far enough (token Jaccard <= 0.5) from the
headlines already chosen; the other fields are built around it. The finished set is checked
once more in full; a variant that still fails is rebuilt from its next candidate.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable

from globalpic_common.copy_facts import CopyFacts, copy_platform
from globalpic_common.errors import GlobalPicError
from globalpic_common.schemas import CopyReport, CopyVariant
from globalpic_copywriting import templates as t
from globalpic_copywriting.dictionary import Dictionary
from globalpic_copywriting.phrases import ANGLES, bank
from globalpic_copywriting.profile import Profile, build_profile
from globalpic_copywriting.quality import (
    MAX_JACCARD,
    check_copy,
    failures,
    headline,
    jaccard,
    traceability,
    variant_quality,
)
from globalpic_copywriting.rules import RULES, promo_terms, validate_variant, variant_count
from globalpic_copywriting.spelling import checker

_MAX_CANDIDATES = 400  # headline candidates tried per variant before giving up on an angle


class OfflineCopywriter:
    """The default ``Copywriter``: our own templates, phrase banks and rules."""

    name = "offline"

    def __init__(self, dictionary: Dictionary | None = None, seed: int = 0) -> None:
        self.dictionary = dictionary or Dictionary()
        self.seed = seed

    def load(self) -> None:
        self.dictionary.load()
        checker()

    def profile(self, facts: CopyFacts) -> Profile:
        return build_profile(facts, self.dictionary)

    def write(self, facts: CopyFacts, platform: str, n: int = 5) -> CopyReport:
        started = time.perf_counter()
        platform = copy_platform(platform)
        profile = self.profile(facts)
        variants = self.variants(profile, platform, n)
        checks = check_copy(variants, platform, profile.evidence)
        return CopyReport(
            platform=platform,
            variants=variants,
            backend=self.name,
            facts_en=profile.facts_en,
            passed=not failures(checks),
            checks=checks,
            seconds=round(time.perf_counter() - started, 4),
        )

    def variants(self, profile: Profile, platform: str, n: int = 5) -> list[CopyVariant]:
        variant_count(n)
        rng = random.Random(f"{self.seed}:{platform}:{profile.product}")
        chosen: list[CopyVariant] = []
        for index in range(n):
            angle = ANGLES[index % len(ANGLES)]
            chosen.append(self._variant(profile, platform, angle, index, chosen, rng))
        return chosen

    def _variant(
        self,
        profile: Profile,
        platform: str,
        angle: str,
        index: int,
        chosen: list[CopyVariant],
        rng: random.Random,
    ) -> CopyVariant:
        fallback: CopyVariant | None = None
        # The angle's own candidates first, then every other angle's: a sparse profile may
        # leave one angle without a headline far enough from the others.
        angles = [angle, *(a for a in ANGLES if a != angle)]
        for candidate_angle in angles:
            for variant in self._candidates(profile, platform, candidate_angle, index, rng):
                fallback = fallback or variant
                if self._fits(variant, profile, platform, index, chosen):
                    return variant
        if fallback is None:
            raise GlobalPicError(f"offline copy: no candidate for variant {index}")
        return fallback  # the report's checks will say what failed

    def _candidates(
        self, profile: Profile, platform: str, angle: str, index: int, rng: random.Random
    ) -> Iterable[CopyVariant]:
        rules = RULES[platform]
        b = bank(profile.category)
        heads: Iterable[str]
        if rules.title_max:
            heads = t.titles(profile, angle, b, rng, pairs=rules.title_max > 100)
        else:
            heads = t.hooks(profile, angle, b, rng)
        seen: set[str] = set()
        for count, head in enumerate(heads):
            if count >= _MAX_CANDIDATES:
                return
            if head in seen or (rules.title_max and len(head) > rules.title_max):
                continue
            seen.add(head)
            yield self._build(profile, platform, angle, index, head, rng)

    def _build(
        self,
        profile: Profile,
        platform: str,
        angle: str,
        index: int,
        head: str,
        rng: random.Random,
    ) -> CopyVariant:
        rules = RULES[platform]
        b = bank(profile.category)
        fields: dict[str, object] = {
            "explanation_zh": t.explanation(profile, angle, index, platform)
        }
        if rules.title_max:
            fields["title"] = head
        if rules.bullets:
            fields["bullets"] = t.bullets(profile, angle, b, rng, rules.bullets)
        if rules.description_max:
            fields["description"] = t.description(profile, angle, b, rng, rules.description_html)
        if rules.meta_max:
            core = t.cores(profile)[0]
            fields["meta_description"] = t.meta_description(profile, core, b, rng, rules.meta_max)
        if rules.search_terms_max_bytes:
            fields["search_terms"] = t.search_terms(
                profile, head, b, rng, rules.search_terms_max_bytes
            )
        if rules.tags_max_chars:
            fields["search_terms"] = t.tags(profile, profile.category, rules.tags_max_chars)
        if rules.caption_max:
            fields["caption"] = t.caption(profile, head, b, rng, platform)
            fields["hashtags"] = t.hashtags(profile, b, rng, rules.hashtags_min, rules.hashtags_max)
        return CopyVariant.model_validate(fields)

    def _fits(
        self,
        variant: CopyVariant,
        profile: Profile,
        platform: str,
        index: int,
        chosen: list[CopyVariant],
    ) -> bool:
        head = headline(variant)
        if promo_terms(head) or failures(traceability(head, profile.evidence, index)):
            return False
        if any(jaccard(head, headline(other)) > MAX_JACCARD for other in chosen):
            return False
        checks = [
            *validate_variant(variant, platform, index),
            *variant_quality(variant, platform, profile.evidence, index),
        ]
        return not failures(checks)

"""A job's processing options: parsed from the upload's form fields, hashed for the cache.

Defaults mirror ``globalpic localize``: every op; remix draws ``amazon-white`` and resize
targets ``amazon`` unless the form says otherwise. Unknown ids fail with the catalog's stable
codes (``unknown_style``, ``unknown_platform``), inconsistent combinations with ``bad_option``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.platforms import get_platform
from globalpic_common.quantities import IntegerParseError, parse_int
from globalpic_common.schemas import parse_ops
from globalpic_common.styles import get_style

if TYPE_CHECKING:
    from globalpic_jobs.models import Job

# What a job runs when the form names no ops: the CLI's `localize` default (copy is asked for).
DEFAULT_OPS = "clean,extract,remix,resize"
DEFAULT_STYLE = "amazon-white"
DEFAULT_PLATFORM = "amazon"
MAX_CANDIDATES = 8
# Bump when the pipeline's output for the same options changes, so stale cache entries stop
# matching instead of serving results the current code would not produce.
CACHE_VERSION = 1
# A re-run that fine-tunes one result: its job's ops, in place of the pipeline's.
ADJUST_OP = "adjust"


@dataclass(frozen=True)
class Adjustment:
    """Fine-tuning of one result (``globalpic adjust``): -1..1 each, strength 0..1."""

    candidate: int = 0  # 0-based: which of the parent image's results
    brightness: float = 0.0
    saturation: float = 0.0
    detail: float = 0.0
    strength: float = 1.0


@dataclass(frozen=True)
class JobOptions:
    ops: tuple[str, ...]
    style: str | None
    platform: str | None
    candidates: int
    # copy: the seller's words, and every marketplace to write for (the first is the
    # report's ``copy``; all are in its ``copies``)
    keywords: tuple[str, ...] = ()
    facts: str = ""
    copy_platforms: tuple[str, ...] = ()
    # remix: the seller's own background (its storage key, content-addressed) instead of a style
    background: str | None = None
    adjust: Adjustment | None = None  # an adjust re-run: its values

    @property
    def ops_text(self) -> str:
        return ",".join(self.ops)

    def extras(self) -> dict[str, Any]:
        """What the job row keeps beyond its columns (``Job.extras``): non-defaults only, so
        the options of a plain job hash as they always did."""
        extras: dict[str, Any] = {}
        if self.keywords:
            extras["keywords"] = list(self.keywords)
        if self.facts:
            extras["facts"] = self.facts
        if self.copy_platforms:
            extras["copy_platforms"] = list(self.copy_platforms)
        if self.background is not None:
            extras["background"] = self.background
        if self.adjust is not None:
            extras["adjust"] = asdict(self.adjust)
        return extras

    def hash(self, output_format: str) -> str:
        """The options part of the result-cache key."""
        canonical = json.dumps(
            {
                "v": CACHE_VERSION,
                "ops": list(self.ops),
                "style": self.style,
                "platform": self.platform,
                "candidates": self.candidates,
                "format": output_format,
                **self.extras(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def job_options(job: Job) -> JobOptions:
    """A stored job's options, as the runner processes them."""
    extras = job.extras or {}
    adjust = extras.get("adjust")
    return JobOptions(
        ops=tuple(job.ops.split(",")),
        style=job.style,
        platform=job.platform,
        candidates=job.candidates,
        keywords=tuple(extras.get("keywords", ())),
        facts=extras.get("facts", ""),
        copy_platforms=tuple(extras.get("copy_platforms", ())),
        background=extras.get("background"),
        adjust=Adjustment(**adjust) if adjust is not None else None,
    )


def image_options_hash(options_hash: str, mask_shas: tuple[str | None, str | None]) -> str | None:
    """The cache key's options part for an image with brush masks (None: the job's applies).
    Masks change the result, so an image with them never shares a cache entry with one
    without."""
    if mask_shas == (None, None):
        return None
    erase, keep = mask_shas
    return hashlib.sha256(f"{options_hash}|erase={erase}|keep={keep}".encode()).hexdigest()


def _copy_inputs(fields: dict[str, str], ops: tuple[str, ...]) -> dict[str, Any]:
    """Form fields ``keywords``, ``facts``, ``copy_platforms`` (they need ``copy``)."""
    from globalpic_common.copy_facts import copy_platform, parse_keywords, parse_seller_facts

    raw = {
        name: (fields.get(name) or "").strip() for name in ("keywords", "facts", "copy_platforms")
    }
    if "copy" not in ops:
        given = [name for name, value in raw.items() if value]
        if given:
            raise BadInputError(
                f"form field(s) {', '.join(given)} need 'copy' in the form field ops",
                code=errors.BAD_OPTION,
            )
        return {}
    try:
        keywords = tuple(parse_keywords(raw["keywords"]))
        parse_seller_facts(raw["facts"])  # bad_option with the piece that is wrong
    except BadInputError as exc:
        raise BadInputError(f"form field {exc.message}", code=exc.code) from exc
    platforms: list[str] = []
    for name in raw["copy_platforms"].split(","):
        if name.strip():
            platform = copy_platform(name)  # unknown_platform
            if platform not in platforms:
                platforms.append(platform)
    return {"keywords": keywords, "facts": raw["facts"], "copy_platforms": tuple(platforms)}


def parse_options(fields: dict[str, str], *, background: str | None = None) -> JobOptions:
    """Form fields ``ops``, ``style``, ``platform``, ``candidates``, ``keywords``, ``facts``,
    ``copy_platforms`` -> options, or BadInputError. ``background``: the storage key of the
    seller's own background, sent as a file (it takes the place of a style)."""
    spec = (fields.get("ops") or DEFAULT_OPS).lower()
    ops = tuple(op.value for op in parse_ops(spec, source="form field ops"))
    style = (fields.get("style") or "").strip() or None
    platform = (fields.get("platform") or "").strip().lower() or None
    raw_candidates = (fields.get("candidates") or "1").strip()
    try:
        candidates = parse_int(raw_candidates, minimum=1, maximum=MAX_CANDIDATES)
    except IntegerParseError as exc:
        raise BadInputError(
            f"form field candidates {raw_candidates!r}: {exc}", code=errors.BAD_OPTION
        ) from exc

    if style is not None:
        style = get_style(style).id  # unknown_style
    if platform is not None:
        platform = get_platform(platform).id  # unknown_platform
    if background is not None:
        if "remix" not in ops:
            raise BadInputError(
                "the file field background needs 'remix' in the form field ops",
                code=errors.BAD_OPTION,
            )
        if style is not None or candidates > 1:
            raise BadInputError(
                "a background file takes the place of the style: send no style, and one candidate",
                code=errors.BAD_OPTION,
            )
    elif "remix" in ops:
        style = style or DEFAULT_STYLE
    elif style is not None or candidates > 1:
        raise BadInputError(
            "form fields style / candidates need 'remix' in the form field ops",
            code=errors.BAD_OPTION,
        )
    if "resize" in ops:
        platform = platform or DEFAULT_PLATFORM
    elif platform is not None:
        raise BadInputError(
            "form field platform needs 'resize' in the form field ops", code=errors.BAD_OPTION
        )
    return JobOptions(
        ops=ops,
        style=style,
        platform=platform,
        candidates=candidates,
        background=background,
        **_copy_inputs(fields, ops),
    )

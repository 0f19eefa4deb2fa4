"""A job's processing options: parsed from the upload's form fields, hashed for the cache.

Defaults mirror ``globalpic localize``: every op; remix draws ``amazon-white`` and resize
targets ``amazon`` unless the form says otherwise. Unknown ids fail with the catalog's stable
codes (``unknown_style``, ``unknown_platform``), inconsistent combinations with ``bad_option``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.platforms import get_platform
from globalpic_common.quantities import IntegerParseError, parse_int
from globalpic_common.schemas import parse_ops
from globalpic_common.styles import get_style

# What a job runs when the form names no ops: the CLI's `localize` default (copy is asked for).
DEFAULT_OPS = "clean,extract,remix,resize"
DEFAULT_STYLE = "amazon-white"
DEFAULT_PLATFORM = "amazon"
MAX_CANDIDATES = 8
# Bump when the pipeline's output for the same options changes, so stale cache entries stop
# matching instead of serving results the current code would not produce.
CACHE_VERSION = 1


@dataclass(frozen=True)
class JobOptions:
    ops: tuple[str, ...]
    style: str | None
    platform: str | None
    candidates: int

    @property
    def ops_text(self) -> str:
        return ",".join(self.ops)

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
            },
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_options(fields: dict[str, str]) -> JobOptions:
    """Form fields ``ops``, ``style``, ``platform``, ``candidates`` -> options, or BadInputError."""
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
    if "remix" in ops:
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
    return JobOptions(ops=ops, style=style, platform=platform, candidates=candidates)

"""Pydantic schemas shared by the CLI's ``--json``, the REST API, SSE progress and NATS events.

One set of models, so a report printed by ``globalpic clean --json`` has exactly the shape the
API will return for the same image.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from globalpic_common import errors
from globalpic_common.errors import BadInputError

Point = tuple[float, float]


class TextLine(BaseModel):
    """One line of text as a detector reports it."""

    model_config = ConfigDict(frozen=True)

    box: list[Point] = Field(description="Quadrilateral, 4 (x, y) points clockwise from top-left")
    text: str
    confidence: float = Field(ge=0.0, le=1.0)


class TextKind(StrEnum):
    """Where a text line lives: added on top of the photo, or part of what was photographed."""

    OVERLAY = "overlay"  # badge, sticker, banner, price tag, watermark: added after the shot
    PRODUCT = "product"  # printed on the product or its packaging
    SCENE = "scene"  # physically in the scene (a sign, a menu board)


@dataclass(frozen=True)
class LineDecision:
    """The classifier's call on one text line (``globalpic_ocr.overlay.classify_lines``, or
    the OCR service's ``Classify``): what it is, how sure, and the cues behind it."""

    kind: TextKind
    overlay_score: float
    cues: dict[str, float]
    # Kept, but the classifier is not sure it is not an overlay: offered for a one-click erase.
    uncertain: bool = False


class TextAction(StrEnum):
    """What ``clean`` did with a detected line."""

    ERASED = "erased"
    KEPT = "kept"
    # Kept, but the classifier is unsure it is not an overlay (a middle score, or an
    # overlay-like line with strong product-print evidence): its cues say why; a client can
    # offer it as a one-click erase (``clean --mask`` / the add-mask with its box).
    KEPT_UNCERTAIN = "kept_uncertain"


class TextMode(StrEnum):
    """``clean --text``: which text to erase."""

    OVERLAY = "overlay"
    ALL = "all"


class TextRegion(BaseModel):
    """A detected line with the decision taken on it."""

    box: list[Point]
    text: str
    confidence: float
    kind: TextKind
    action: TextAction
    overlay_score: float = Field(
        description="Classifier score in [0, 1]; >= 0.5 means overlay", ge=0.0, le=1.0
    )
    cues: dict[str, float] = Field(
        default_factory=dict, description="Measured cues behind the decision"
    )


class ImageStatus(StrEnum):
    OK = "ok"
    BAD_INPUT = "bad_input"
    FAILED = "failed"


class ErrorInfo(BaseModel):
    code: str
    message: str


class RuleResult(BaseModel):
    """One marketplace rule checked on one image (``globalpic check``, ``resize``)."""

    rule: str = Field(description="Stable id: white_background, product_fill, overlay_text, ...")
    passed: bool
    message: str = Field(description="What was measured, in words a seller understands")
    measured: float | None = None
    required: float | None = None


class ProductObject(BaseModel):
    """extract: one object of the photo, judged as a product or not (``extract --json``)."""

    box: tuple[int, int, int, int] = Field(description="x0, y0, x1, y1 in pixels (x1, y1 excl.)")
    score: float = Field(description="Product-likeness in [0, 1]", ge=0.0, le=1.0)
    cues: dict[str, float] = Field(
        default_factory=dict,
        description="Measured cues: print, units, person, solidity, flat, backdrop, area, ...",
    )
    kept: bool = Field(description="Whether the cut-out keeps it")


class ImageReport(BaseModel):
    """What happened to one input image."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    input: str
    output: str | None = None
    status: ImageStatus = ImageStatus.OK
    width: int | None = None
    height: int | None = None
    texts: list[TextRegion] = Field(default_factory=list)
    residual_passes: int = Field(0, description="Extra OCR re-check passes that found residuals")
    erased_fraction: float = Field(0.0, description="Share of the image's pixels rebuilt")
    inpainter: str | None = None
    outputs: list[str] = Field(
        default_factory=list,
        description="Every file written for this input (candidates, --keep-steps), in order",
    )
    style: str | None = Field(None, description="remix: the style id used")
    platform: str | None = Field(None, description="resize / check: the platform preset id")
    products: int | None = Field(None, description="extract: products kept in the matte")
    checks: list[RuleResult] = Field(
        default_factory=list, description="check / resize: marketplace rules and their outcome"
    )
    # "copy" on the wire; the attribute is ``copy_report`` (``copy`` is a BaseModel method).
    copy_report: CopyReport | None = Field(
        None, alias="copy", description="localize --ops ...,copy: the English copy"
    )
    copies: list[CopyReport] = Field(
        default_factory=list,
        description="The copy for every marketplace asked for (the API's copy_platforms), "
        "the one in `copy` first",
    )
    seconds: dict[str, float] = Field(
        default_factory=dict, description="Wall seconds per stage (decode, ocr, segment, ...)"
    )
    error: ErrorInfo | None = None
    objects: list[ProductObject] = Field(
        default_factory=list,
        description="extract: every object found, best first, with its score and cues",
    )


class Op(StrEnum):
    """The operations a user asks for (CLI ``--ops``, the API's form field ``ops``)."""

    CLEAN = "clean"
    EXTRACT = "extract"
    REMIX = "remix"
    RESIZE = "resize"
    COPY = "copy"


# The order ops run in, whatever order they are asked in.
OP_ORDER: tuple[Op, ...] = (Op.CLEAN, Op.EXTRACT, Op.REMIX, Op.RESIZE, Op.COPY)


def parse_ops(spec: str, *, source: str = "--ops") -> tuple[Op, ...]:
    """``"clean,remix"`` -> the ops in pipeline order; unknown or empty -> ``bad_option``.

    ``source`` names where the list came from in the error (``--ops``, ``form field ops``).
    """
    names = [part.strip() for part in spec.split(",") if part.strip()]
    known = {op.value for op in Op}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise BadInputError(
            f"{source} {spec!r}: use a comma list of {', '.join(op.value for op in OP_ORDER)}",
            code=errors.BAD_OPTION,
        )
    return tuple(op for op in OP_ORDER if op.value in names)


class ProgressStage(StrEnum):
    """The stages a user watches (the web page's progress bar): each op of ``localize``."""

    ANALYZE = "analyze"  # decode, find the product
    CLEAN = "clean"  # erase overlays
    EXTRACT = "extract"  # cut the product out
    REMIX = "remix"  # new background
    RESIZE = "resize"  # marketplace frame
    DONE = "done"


# The seed's progress bar: the percent shown when each stage starts.
STAGE_PERCENT: dict[ProgressStage, int] = {
    ProgressStage.ANALYZE: 10,
    ProgressStage.CLEAN: 25,
    ProgressStage.EXTRACT: 50,
    ProgressStage.REMIX: 75,
    ProgressStage.RESIZE: 90,
    ProgressStage.DONE: 100,
}


class ProgressEvent(BaseModel):
    """One step of one image's job (CLI progress, SSE, ``globalpic.jobs.<id>.progress``)."""

    input: str
    stage: ProgressStage
    percent: int = Field(ge=0, le=100)


class BatchReport(BaseModel):
    """The ``--json`` report of one CLI call."""

    op: str
    images: list[ImageReport]
    ok: int
    failed: int
    seconds: float


class CopyVariant(BaseModel):
    """One A/B variant of a listing's English copy; fields a platform does not use stay empty."""

    title: str = Field("", description="Amazon / eBay title, Shopify SEO title")
    bullets: list[str] = Field(default_factory=list, description="Amazon: the 5 bullet points")
    description: str = Field("", description="Product description (Shopify: HTML)")
    meta_description: str = Field("", description="Shopify: the search-result snippet")
    search_terms: str = Field(
        "", description="Amazon: backend search terms (space separated); Shopify: tags (commas)"
    )
    caption: str = Field("", description="TikTok / Instagram / Facebook: the post text")
    hashtags: list[str] = Field(default_factory=list, description="'#Word' each, social only")
    explanation_zh: str = Field("", description="Why this variant, in Chinese, for the seller")


class CopyCheck(BaseModel):
    """One platform rule or quality check on one variant (``variant`` None: on the set)."""

    rule: str = Field(description="Stable id: title_length, promo_terms, spelling, ...")
    variant: int | None = Field(None, description="0-based variant index; None for set checks")
    passed: bool
    message: str = ""
    measured: float | None = None
    required: float | None = None


class CopyUsage(BaseModel):
    """What the copy cost: model calls and their tokens (all 0 for the offline backend)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class CopyReport(BaseModel):
    """The copy written for one image (``globalpic copy --json`` prints one per image)."""

    image: str = Field("", description="The input image")
    platform: str = Field("", description="amazon, ebay, shopify, tiktok, instagram, facebook")
    variants: list[CopyVariant] = Field(default_factory=list)
    backend: str = Field("", description="offline, or openai:<model>")
    facts_en: list[str] = Field(
        default_factory=list, description="The English facts the copy was written from"
    )
    passed: bool = Field(True, description="Every variant passed every rule and quality check")
    checks: list[CopyCheck] = Field(default_factory=list)
    repaired: int = Field(0, description="Model fields replaced by offline ones to pass checks")
    fallback: str | None = Field(
        None, description="Why the offline writer replaced the model's answer (None: it did not)"
    )
    usage: CopyUsage = Field(default_factory=CopyUsage)
    seconds: float = 0.0
    status: ImageStatus = ImageStatus.OK
    error: ErrorInfo | None = None


ImageReport.model_rebuild()  # its ``copy`` field names CopyReport, defined after it

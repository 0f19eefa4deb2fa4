"""``localize``: any subset of clean -> extract -> remix -> resize -> copy on one image, in
that order.

The product is found once: U²-Net-p runs once per image (inside ``clean`` when it runs, else
up front), the extractor refines that map into the matte, and every later op reuses the
matte. When ``remix`` and ``resize`` both run, the cut-out is framed first and the new
background is drawn at the frame's size: a style rendered for the frame is exact where an
extended one would only be plausible.

``copy`` writes English listing copy for the product: from the text OCR read on the original
photo (the clean step's lines when clean runs), the product's colours under the matte, and
the seller's keywords and facts.

Progress: ``on_progress(stage)`` is called as each stage starts (the seed's 10 / 25 / 50 /
75 / 90 % steps, ``STAGE_PERCENT``) and once at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, Framer, ImageArray, Segmenter
from globalpic_common.schemas import (
    CopyReport,
    Op,
    ProductObject,
    ProgressStage,
    RuleResult,
    TextRegion,
)
from globalpic_common.timing import StageTimer
from globalpic_orchestrator.pipeline.clean import Cleaner, CleanOptions
from globalpic_orchestrator.pipeline.frame import Frame, fit_frame
from globalpic_orchestrator.pipeline.objects import report_objects
from globalpic_orchestrator.pipeline.texts import load_backends

if TYPE_CHECKING:
    from globalpic_common.copy_facts import CopyFacts
    from globalpic_common.interfaces import Copywriter
    from globalpic_orchestrator.pipeline.check import Checker
    from globalpic_orchestrator.pipeline.ports import BackgroundRemixer, CutoutExtractor


@dataclass(frozen=True)
class LocalizeOptions:
    ops: tuple[Op, ...]
    clean: CleanOptions = field(default_factory=CleanOptions)
    extract_mode: str = "salient"
    style: str | None = None  # remix: a catalog style id ...
    background: ImageArray | None = None  # ... or the seller's own background
    backgrounds_dir: Path | None = None
    candidates: int = 1
    seed: int = 0
    frame: Frame | None = None  # resize
    # copy: amazon, ebay, shopify, tiktok, instagram, facebook; None: the resize frame's
    # platform when it has copy rules (shopify-product -> shopify), else amazon.
    copy_platform: str | None = None
    more_copy_platforms: tuple[str, ...] = ()  # copy: also written for these (the web app)
    keywords: tuple[str, ...] = ()  # copy: the seller's keywords
    facts: str = ""  # copy: the seller's facts, "material=cotton, size=M"

    def __post_init__(self) -> None:
        if Op.REMIX in self.ops and (self.style is None) == (self.background is None):
            raise BadInputError(
                "remix needs exactly one of --style or --background", code=errors.BAD_OPTION
            )
        if Op.RESIZE in self.ops and self.frame is None:
            raise BadInputError("resize needs --platform or --size", code=errors.BAD_OPTION)
        if self.candidates > 1 and (Op.REMIX not in self.ops or self.background is not None):
            raise BadInputError(
                "--candidates > 1 needs remix with a --style", code=errors.BAD_OPTION
            )
        if Op.COPY in self.ops:
            from globalpic_common.copy_facts import copy_platform

            self.copy_inputs()  # bad facts or an unknown platform fail before any image
            for platform in self.more_copy_platforms:
                copy_platform(platform)

    def copy_inputs(self) -> tuple[str, CopyFacts]:
        """The copy's platform, and its facts less what only the image gives (OCR, colours);
        ``bad_option`` / ``unknown_platform`` for bad ones."""
        from globalpic_common.copy_facts import (
            CopyFacts,
            copy_platform,
            parse_keywords,
            parse_seller_facts,
        )

        if self.copy_platform is not None:
            platform = copy_platform(self.copy_platform)
        else:
            preset = self.frame.platform.id if self.frame and self.frame.platform else None
            try:
                platform = copy_platform(preset or "amazon")
            except BadInputError:  # a frame without copy rules: the default marketplace
                platform = "amazon"
        keywords = parse_keywords(list(self.keywords))
        return platform, CopyFacts(keywords=keywords, seller=parse_seller_facts(self.facts))


@dataclass
class LocalizeResult:
    finals: list[ImageArray]  # one per candidate
    # The product matte of the finals when they are cut-outs (last op extract, or resize of
    # a cut-out): written as the alpha channel. None when the finals are opaque.
    final_alpha: AlphaArray | None
    steps: dict[Op, list[ImageArray]]  # each op's output(s), for --keep-steps
    step_alpha: AlphaArray | None  # the extract step's matte
    texts: list[TextRegion]
    checks: list[list[RuleResult]]  # per final, when a platform's rules were checked
    style: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    copy: CopyReport | None = None  # the copy op's variants and checks
    copies: list[CopyReport] = field(default_factory=list)  # one per platform, ``copy`` first
    objects: list[ProductObject] = field(default_factory=list)  # extract's, best first


ProgressFn = Callable[[ProgressStage], None]


def _no_progress(stage: ProgressStage) -> None:
    del stage


class Localizer:
    """Runs ``localize`` on one image at a time; every model loads once and is shared."""

    def __init__(
        self,
        cleaner: Cleaner,
        extractor: CutoutExtractor,  # Extractor, or the segmentation service's client
        remixer: BackgroundRemixer,  # Remixer, or the generation service's client
        checker_for: Callable[[Frame], Checker | None],
        copywriter: Copywriter,  # the copywriting service's client, or a writer in process
        *,
        framer: Framer,  # resize's fit: generation's canvas, or the generation service's client
    ) -> None:
        self.cleaner = cleaner
        self.extractor = extractor
        self.remixer = remixer
        self.checker_for = checker_for
        self.copywriter = copywriter
        self.framer = framer

    @property
    def segmenter(self) -> Segmenter:
        return self.cleaner.segmenter

    def load(self, ops: Sequence[Op]) -> None:
        """Load the models the ops need (OCR only for clean, copy or a platform's text rule)."""
        if Op.CLEAN in ops:
            self.cleaner.load()
        load_backends(self.segmenter, self.extractor)
        if Op.COPY in ops:
            load_backends(self.cleaner.detector, self.copywriter)
        if Op.RESIZE in ops:
            load_backends(self.framer)

    def run(
        self,
        image: ImageArray,
        options: LocalizeOptions,
        on_progress: ProgressFn = _no_progress,
    ) -> LocalizeResult:
        from globalpic_common.results import ExtractMode

        ops = options.ops
        timer = StageTimer()
        steps: dict[Op, list[ImageArray]] = {}
        texts: list[TextRegion] = []
        original = image

        on_progress(ProgressStage.ANALYZE)
        coarse: AlphaArray | None = None
        if Op.CLEAN in ops:
            on_progress(ProgressStage.CLEAN)
            cleaned = self.cleaner.clean(image, options.clean)
            for name, seconds in cleaned.seconds.items():
                timer.seconds[f"clean.{name}"] = seconds
            image, coarse, texts = cleaned.image, cleaned.product_alpha, cleaned.regions
            steps[Op.CLEAN] = [image]
        if coarse is None:
            with timer.stage("segment"):
                coarse = self.segmenter.segment(image)

        # Every op after clean needs the refined matte, whether or not extract is asked for.
        alpha = coarse
        step_alpha: AlphaArray | None = None
        objects: list[ProductObject] = []
        if any(op in ops for op in (Op.EXTRACT, Op.REMIX, Op.RESIZE)):
            if Op.EXTRACT in ops:
                on_progress(ProgressStage.EXTRACT)
            mode = ExtractMode(options.extract_mode)
            # clean's lines of product print tell the extractor which object is the product.
            cutout = self.extractor.extract(image, mode, coarse=coarse, texts=texts)
            for name, seconds in cutout.seconds.items():
                timer.seconds[f"extract.{name}"] = seconds
            alpha = cutout.alpha
            objects = report_objects(cutout.objects)
            if Op.EXTRACT in ops:
                steps[Op.EXTRACT], step_alpha = [image], alpha
        product = (image, alpha)  # the product as found, before any framing: its colours
        # Extract without remix leaves a cut-out, unless a white platform flattens it.
        is_cutout = Op.EXTRACT in ops and Op.REMIX not in ops

        frame = options.frame if Op.RESIZE in ops else None
        if frame is not None and Op.REMIX in ops:
            # Frame the cut-out first, then draw the new background at the frame's size.
            with timer.stage("resize"):
                fitted = fit_frame(
                    image, alpha, frame, self.framer, cutout=True, enforce_white=False
                )
            image, alpha = fitted.image, fitted.alpha

        finals = [image]
        style: str | None = None
        if Op.REMIX in ops:
            on_progress(ProgressStage.REMIX)
            if options.background is not None:
                results = [
                    self.remixer.remix(
                        image, alpha, background=options.background, seed=options.seed
                    )
                ]
            else:
                assert options.style is not None  # LocalizeOptions checked it
                results = self.remixer.candidates(
                    image,
                    alpha,
                    options.style,
                    options.candidates,
                    seed=options.seed,
                    backgrounds_dir=options.backgrounds_dir,
                )
            for result in results:
                for name, seconds in result.seconds.items():
                    key = f"remix.{name}"
                    timer.seconds[key] = round(timer.seconds.get(key, 0.0) + seconds, 4)
            finals = [r.image for r in results]
            style = results[0].style_id
            steps[Op.REMIX] = finals

        checks: list[list[RuleResult]] = []
        if frame is not None:
            on_progress(ProgressStage.RESIZE)
            with timer.stage("resize"):
                if Op.REMIX in ops:  # framed before remix; only the white rule is left
                    if frame.white:
                        finals = [self.framer.enforce_white(img, alpha) for img in finals]
                else:
                    fitted = fit_frame(image, alpha, frame, self.framer, cutout=is_cutout)
                    finals, alpha = [fitted.image], fitted.alpha
            steps[Op.RESIZE] = finals
            checker = self.checker_for(frame)
            if checker is not None:
                with timer.stage("check"):
                    checks = [checker.check(img, alpha) for img in finals]

        copies: list[CopyReport] = []
        if Op.COPY in ops:
            # No progress stage of its own: the seed's stages (and the web page's bar) are
            # fixed, and copy is the shortest step (offline: a few hundredths of a second).
            copies = self._copy(original, product, texts, options, timer)

        on_progress(ProgressStage.DONE)
        return LocalizeResult(
            finals=finals,
            final_alpha=alpha if is_cutout and not (frame and frame.white) else None,
            steps=steps,
            step_alpha=step_alpha,
            texts=texts,
            checks=checks,
            style=style,
            seconds=timer.seconds,
            copy=copies[0] if copies else None,
            copies=copies,
            objects=objects,
        )

    def _copy(
        self,
        original: ImageArray,
        product: tuple[ImageArray, AlphaArray],
        texts: list[TextRegion],
        options: LocalizeOptions,
        timer: StageTimer,
    ) -> list[CopyReport]:
        """The copy op: OCR text of the original photo (clean's, or read now), the product's
        colours, the seller's words -> the writer, once per platform asked for."""
        from globalpic_common.colours import product_colors
        from globalpic_common.copy_facts import copy_platform, ocr_text

        platform, facts = options.copy_inputs()
        if Op.CLEAN in options.ops:
            lines = [region.text for region in texts]
        else:
            with timer.stage("ocr"):
                lines = [line.text for line in self.cleaner.detector.detect(original)]
        facts = facts.model_copy(
            update={"ocr_lines": ocr_text(lines), "colors": product_colors(*product)}
        )
        platforms = [platform] + [p for p in options.more_copy_platforms if p != platform]
        with timer.stage("copy"):
            return [self.copywriter.write(facts, copy_platform(p)) for p in platforms]


def as_rgba(image: ImageArray, alpha: AlphaArray) -> np.ndarray:
    """H x W x 4 uint8 (straight alpha) for writing a cut-out."""
    matte = np.clip(np.round(alpha * 255.0), 0, 255).astype(np.uint8)
    return np.dstack([image, matte])

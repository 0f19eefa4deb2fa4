"""``globalpic resize``: fit product photos to a marketplace frame without cropping the product."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer
from PIL import Image

from globalpic_cli.app import (
    Format,
    Inputs,
    Json,
    Out,
    Verbose,
    app,
    err,
    fail,
    plan,
    resolve_inputs,
    setup_logging,
)
from globalpic_cli.batch import ExitCode, run_batch
from globalpic_cli.check import broken_rules, finish_checked
from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.imageio import InputLimitsSettings, encode_image, load_image, write_atomic
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray
from globalpic_common.schemas import ImageReport
from globalpic_common.timing import StageTimer
from globalpic_orchestrator.pipeline.texts import load_backends

# File size cap for --size (no platform limit known): the encoder's usual default.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


def _cutout(rgb: ImageArray, matte: MaskArray) -> tuple[ImageArray, AlphaArray]:
    """A transparent input (a cut-out from ``extract``): its matte is the product, and what
    lies under transparent pixels is arbitrary, so it is shown on white."""
    alpha = matte.astype(np.float32) / 255.0
    on_white = rgb.astype(np.float32) * alpha[:, :, None] + 255.0 * (1.0 - alpha[:, :, None])
    return np.clip(np.round(on_white), 0, 255).astype(np.uint8), alpha


def _as_written(data: bytes, alpha: AlphaArray) -> tuple[ImageArray, AlphaArray]:
    """The pixels a marketplace will see (after JPEG / WEBP compression, or the encoder's
    downscale to fit the size cap), and the alpha matched to them."""
    with Image.open(io.BytesIO(data)) as img:
        rgb = np.asarray(img.convert("RGB"))
    h, w = rgb.shape[:2]
    if alpha.shape != (h, w):
        alpha = np.asarray(cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    return rgb, alpha


@app.command()
def resize(
    inputs: Inputs,
    output: Out,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            help="Platform preset id (`globalpic platforms` lists them); its rules are checked.",
        ),
    ] = None,
    size: Annotated[
        str | None, typer.Option("--size", help="Custom frame WIDTHxHEIGHT, e.g. 1200x800.")
    ] = None,
    fmt: Format = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Fit photos to a platform frame without ever cropping the product.

    Background is cropped where the photo has more than the frame needs and extended where
    it has less; small photos are upscaled; amazon gets a pure white background and every
    preset's rules are checked on the written file (exit 3 if one is broken).
    """
    setup_logging(verbose)
    from globalpic_generation.canvas import CanvasFramer, build_canvas_backends
    from globalpic_ocr.overlay import classify_lines
    from globalpic_ocr.registry import build_detector
    from globalpic_orchestrator.pipeline.check import Checker
    from globalpic_orchestrator.pipeline.frame import fit_frame, frame_for
    from globalpic_segmentation.registry import build_segmenter
    from globalpic_segmentation.rules import PixelRules

    try:
        frame = frame_for(platform, size)
    except BadInputError as exc:
        fail(exc.code, exc.message)
    preset, width, height = frame.platform, frame.width, frame.height
    paths = resolve_inputs(inputs)
    outputs, out_fmt = plan(paths, output, fmt)

    limits = InputLimitsSettings().limits()
    segmenter = build_segmenter()
    checker = (
        Checker(preset, build_detector(), segmenter, classify=classify_lines, judge=PixelRules())
        if preset is not None
        else None
    )
    # GLOBALPIC_GENERATION__OUTPAINTER / __UPSCALER = zimage: generated new area / upscales.
    canvas = build_canvas_backends()
    framer = CanvasFramer(canvas)
    try:
        load_backends(segmenter)
        if checker is not None:
            checker.load()
        if canvas.generative and not frame.white:  # a white frame is never generated
            canvas.load()
    except GlobalPicError as exc:
        fail(exc.code, exc.message, ExitCode.INTERNAL)
    white = frame.white
    max_bytes = preset.max_bytes if preset is not None else DEFAULT_MAX_BYTES

    def process(src: Path, dst: Path) -> ImageReport:
        timer = StageTimer()
        with timer.stage("decode"):
            loaded = load_image(src, limits)
        cutout = loaded.alpha is not None
        if loaded.alpha is not None:
            rgb, alpha = _cutout(loaded.rgb, loaded.alpha)
        else:
            rgb = loaded.rgb
            with timer.stage("segment"):
                alpha = segmenter.segment(rgb)
        with timer.stage("fit"):
            fitted = fit_frame(rgb, alpha, frame, framer, cutout=cutout)
            image = fitted.image
        # A cut-out stays a cut-out (png / webp); a white-background image has no alpha.
        keep_alpha = cutout and not white
        matte = np.round(fitted.alpha * 255).astype(np.uint8) if keep_alpha else None
        with timer.stage("encode"):
            data = encode_image(image, out_fmt, alpha=matte, max_bytes=max_bytes)
        seconds = dict(timer.seconds)
        checks = []
        out_h, out_w = image.shape[:2]
        if checker is not None:
            # Judge what was written: JPEG ringing or a downscale to fit the size cap count.
            written, written_alpha = _as_written(data, fitted.alpha)
            out_h, out_w = written.shape[:2]
            result = checker.inspect(written, written_alpha)
            checks = result.rules
            seconds.update({f"check_{k}": v for k, v in result.seconds.items()})
        write_atomic(dst, data)
        report = ImageReport(
            input=str(src),
            output=str(dst),
            outputs=[str(dst)],
            width=out_w,
            height=out_h,
            platform=preset.id if preset is not None else None,
            checks=checks,
            seconds=seconds,
        )
        broken = broken_rules(report)
        if not as_json:
            total = sum(seconds.values())
            verdict = f", {len(broken)} rule(s) broken" if broken else ""
            err.print(
                f"resized {src} -> {dst} ({width}x{height}, scale {fitted.scale:.2f}"
                f"{verdict}, {total:.1f} s)",
                highlight=False,
            )
            for line in broken:
                err.print(f"  ✗ {line}", highlight=False)
        return report

    report = run_batch("resize", paths, outputs, process, err, show_progress=len(paths) > 1)
    finish_checked(report, as_json)

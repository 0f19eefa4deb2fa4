"""``globalpic adjust``: fine-tune brightness, saturation, detail and the remix strength."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer

from globalpic_cli.app import (
    Format,
    Inputs,
    Json,
    Out,
    Verbose,
    app,
    err,
    fail,
    finish,
    plan,
    resolve_inputs,
    setup_logging,
)
from globalpic_cli.batch import ExitCode, run_batch
from globalpic_common import errors
from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.imageio import (
    ImageLimits,
    InputLimitsSettings,
    LoadedImage,
    load_image,
    save_image,
)
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.outputs import IMAGE_SUFFIXES
from globalpic_common.schemas import ImageReport
from globalpic_common.timing import StageTimer
from globalpic_orchestrator.pipeline.texts import load_backends

Brightness = Annotated[
    float, typer.Option("--brightness", help="-1 (darker) .. 1 (brighter); 0 keeps it.")
]
Saturation = Annotated[
    float, typer.Option("--saturation", help="-1 (grey) .. 1 (more vivid); 0 keeps it.")
]
Detail = Annotated[
    float, typer.Option("--detail", help="-1 (smoother) .. 1 (sharper); 0 keeps it.")
]
Strength = Annotated[
    float,
    typer.Option(
        "--strength",
        help="1 keeps the remixed background; lower blends it back toward --original "
        "(0 = the original's background). The product is never blended.",
    ),
]
Original = Annotated[
    Path | None,
    typer.Option(
        "--original",
        help="The photo before remix: a file, or a directory looked up as DIR/<stem>.*.",
    ),
]


def original_for(spec: Path, src: Path) -> Path:
    """``--original FILE`` serves every input; ``--original DIR`` holds ``<stem>.<ext>``."""
    if not spec.is_dir():
        return spec
    for candidate in sorted(spec.iterdir()):
        if candidate.stem == src.stem and candidate.suffix.lower() in IMAGE_SUFFIXES:
            return candidate
    raise BadInputError(
        f"no original for {src.name} in {spec} (looked for {src.stem}.*)",
        code=errors.FILE_NOT_FOUND,
    )


def _load_original(path: Path, image: LoadedImage, limits: ImageLimits) -> ImageArray:
    """The original at the image's size (remix may have changed the resolution, never the
    aspect ratio; another aspect ratio is another photo)."""
    original = load_image(path, limits).rgb
    h, w = image.rgb.shape[:2]
    oh, ow = original.shape[:2]
    if (oh, ow) == (h, w):
        return original
    if abs(ow / oh - w / h) > 0.01:
        raise BadInputError(
            f"original {path.name} is {ow}x{oh} but the image is {w}x{h}",
            code=errors.BAD_OPTION,
        )
    interpolation = cv2.INTER_AREA if ow > w else cv2.INTER_LANCZOS4
    return np.asarray(cv2.resize(original, (w, h), interpolation=interpolation), np.uint8)


@app.command()
def adjust(
    inputs: Inputs,
    output: Out,
    brightness: Brightness = 0.0,
    saturation: Saturation = 0.0,
    detail: Detail = 0.0,
    strength: Strength = 1.0,
    original: Original = None,
    fmt: Format = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Fine-tune photos: brightness, saturation, detail, and how much of a remix to keep."""
    setup_logging(verbose)
    from globalpic_generation.adjust import adjust as adjust_image
    from globalpic_generation.adjust import check_adjust_options
    from globalpic_segmentation.registry import build_segmenter

    if strength < 1.0 and original is None:
        fail("bad_option", "--strength below 1 blends toward the original: give --original")
    try:
        check_adjust_options(
            brightness=brightness,
            saturation=saturation,
            detail=detail,
            strength=strength,
            has_original=original is not None,
        )
    except BadInputError as exc:
        fail(exc.code, exc.message)
    if original is not None and not original.exists():
        fail("file_not_found", f"--original {original}: no such file or directory")
    paths = resolve_inputs(inputs)
    outputs, out_fmt = plan(paths, output, fmt)

    limits = InputLimitsSettings().limits()
    blend = strength < 1.0 and original is not None
    # The product must be kept out of the blend: segment only when blending.
    segmenter = build_segmenter() if blend else None
    try:
        load_backends(segmenter)
    except GlobalPicError as exc:
        fail(exc.code, exc.message, ExitCode.INTERNAL)

    def process(src: Path, dst: Path) -> ImageReport:
        timer = StageTimer()
        with timer.stage("decode"):
            loaded = load_image(src, limits)
            before = (
                _load_original(original_for(original, src), loaded, limits)
                if blend and original is not None
                else None
            )
        alpha: AlphaArray | None = None
        if before is not None:
            if loaded.alpha is not None:
                alpha = loaded.alpha.astype(np.float32) / 255.0
            elif segmenter is not None:
                with timer.stage("segment"):
                    alpha = segmenter.segment(loaded.rgb)
        with timer.stage("adjust"):
            result = adjust_image(
                loaded.rgb,
                brightness=brightness,
                saturation=saturation,
                detail=detail,
                strength=strength,
                original=before,
                alpha=alpha,
            )
        with timer.stage("encode"):
            save_image(dst, result, out_fmt, alpha=loaded.alpha)
        if not as_json:
            total = sum(timer.seconds.values())
            err.print(f"adjusted {src} -> {dst} ({total:.1f} s)", highlight=False)
        return ImageReport(
            input=str(src),
            output=str(dst),
            outputs=[str(dst)],
            width=loaded.width,
            height=loaded.height,
            seconds=timer.seconds,
        )

    report = run_batch("adjust", paths, outputs, process, err, show_progress=len(paths) > 1)
    finish(report, as_json)

"""``globalpic extract``: cut the product out (RGBA PNG / WEBP, alpha = product)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from globalpic_cli.app import (
    Format,
    Inputs,
    Json,
    Out,
    OutputFormat,
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
from globalpic_common.errors import GlobalPicError
from globalpic_common.imageio import InputLimitsSettings, load_image, save_image
from globalpic_common.schemas import ImageReport
from globalpic_common.timing import StageTimer
from globalpic_orchestrator.pipeline.objects import report_objects


@app.command()
def extract(
    inputs: Inputs,
    output: Out,
    all_products: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Keep every product-like object (default: the product and every unit of it; "
            "--json lists each object found with its score).",
        ),
    ] = False,
    fmt: Format = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Cut the product out: an RGBA image the size of the input, alpha = product."""
    setup_logging(verbose)
    from globalpic_common.results import ExtractMode
    from globalpic_segmentation.extract import Extractor

    if fmt == OutputFormat.JPG or (output.suffix.lower() in (".jpg", ".jpeg")):
        fail("bad_option", "a cut-out needs an alpha channel: use --format png or webp")
    paths = resolve_inputs(inputs)
    outputs, out_fmt = plan(paths, output, fmt)
    mode = ExtractMode.ALL if all_products else ExtractMode.SALIENT
    limits = InputLimitsSettings().limits()
    extractor = Extractor.from_settings()
    try:
        extractor.load()
    except GlobalPicError as exc:
        fail(exc.code, exc.message, ExitCode.INTERNAL)

    def process(src: Path, dst: Path) -> ImageReport:
        timer = StageTimer()
        with timer.stage("decode"):
            loaded = load_image(src, limits)
        cutout = extractor.extract(loaded.rgb, mode)
        with timer.stage("encode"):
            matte = np.clip(np.round(cutout.alpha * 255.0), 0, 255).astype(np.uint8)
            save_image(dst, loaded.rgb, out_fmt, alpha=matte)
        seconds = {"decode": timer.seconds["decode"], **cutout.seconds}
        seconds["encode"] = timer.seconds["encode"]
        if not as_json:
            err.print(
                f"extracted {src} -> {dst} ({len(cutout.boxes)} product(s), "
                f"{sum(seconds.values()):.1f} s)",
                highlight=False,
            )
        return ImageReport(
            input=str(src),
            output=str(dst),
            outputs=[str(dst)],
            width=loaded.width,
            height=loaded.height,
            products=len(cutout.boxes),
            seconds=seconds,
            objects=report_objects(cutout.objects),
        )

    report = run_batch("extract", paths, outputs, process, err, show_progress=len(paths) > 1)
    finish(report, as_json)

"""``globalpic clean``: erase Chinese marketing text and watermarks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    mask_for,
    plan,
    resolve_inputs,
    setup_logging,
)
from globalpic_cli.batch import ExitCode, run_batch
from globalpic_common.errors import GlobalPicError
from globalpic_common.imageio import InputLimitsSettings, load_image, save_image
from globalpic_common.schemas import ImageReport, TextAction, TextMode
from globalpic_common.timing import StageTimer


@app.command()
def clean(
    inputs: Inputs,
    output: Out,
    text: Annotated[
        TextMode,
        typer.Option(
            "--text",
            help="overlay: erase marketing overlays, keep text on the product or in the scene; "
            "all: erase every detected text.",
        ),
    ] = TextMode.OVERLAY,
    masks: Annotated[
        Path | None,
        typer.Option("--masks", help="Also write each image's erase mask to this directory."),
    ] = None,
    mask: Annotated[
        Path | None,
        typer.Option(
            "--mask",
            help="User-painted mask (white = erase too): a file, or a "
            "directory of <stem>.png masks.",
        ),
    ] = None,
    keep_mask: Annotated[
        Path | None,
        typer.Option(
            "--keep-mask",
            help="User-painted mask of areas never to touch: a file, "
            "or a directory of <stem>.png masks.",
        ),
    ] = None,
    fmt: Format = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Erase Chinese marketing text and watermarks and rebuild the background."""
    setup_logging(verbose)
    from globalpic_cli import embedded
    from globalpic_orchestrator.pipeline.clean import CleanOptions

    paths = resolve_inputs(inputs)
    for spec, flag in ((mask, "--mask"), (keep_mask, "--keep-mask")):
        if spec is not None and not spec.exists():
            fail("file_not_found", f"{flag} {spec}: no such file or directory")
    outputs, out_fmt = plan(paths, output, fmt)

    limits = InputLimitsSettings().limits()
    cleaner = embedded.cleaner_from_settings()
    try:
        cleaner.load()
    except GlobalPicError as exc:
        fail(exc.code, exc.message, ExitCode.INTERNAL)

    def process(src: Path, dst: Path) -> ImageReport:
        timer = StageTimer()
        with timer.stage("decode"):
            loaded = load_image(src, limits)
            size = (loaded.width, loaded.height)
            options = CleanOptions(
                text_mode=text,
                add_mask=mask_for(mask, src, size),
                keep_mask=mask_for(keep_mask, src, size),
            )
        result = cleaner.clean(loaded.rgb, options)
        with timer.stage("encode"):
            save_image(dst, result.image, out_fmt, alpha=loaded.alpha)
            if masks is not None:
                save_image(masks / f"{dst.stem}.png", result.erase_mask, "png")
        erased = sum(r.action == TextAction.ERASED for r in result.regions)
        unsure = [r for r in result.regions if r.action == TextAction.KEPT_UNCERTAIN]
        kept = len(result.regions) - erased
        if not as_json:
            total = sum(result.seconds.values()) + sum(timer.seconds.values())
            err.print(
                f"cleaned {src} -> {dst} ({erased} text erased, {kept} kept, {total:.1f} s)",
                highlight=False,
            )
            if unsure:
                # Kept on doubt (product print is never erased on a guess): name them, so the
                # user can erase any with --mask if it is an overlay after all.
                names = ", ".join(repr(r.text) for r in unsure)
                err.print(
                    f"  kept {len(unsure)} uncertain (erase with --mask if overlay): {names}",
                    highlight=False,
                )
        return ImageReport(
            input=str(src),
            output=str(dst),
            width=loaded.width,
            height=loaded.height,
            texts=result.regions,
            residual_passes=result.residual_passes,
            erased_fraction=round(float((result.erase_mask > 0).mean()), 5),
            inpainter=cleaner.inpainter.name,
            seconds={
                "decode": timer.seconds["decode"],
                **result.seconds,
                "encode": timer.seconds["encode"],
            },
        )

    report = run_batch("clean", paths, outputs, process, err, show_progress=len(paths) > 1)
    finish(report, as_json)

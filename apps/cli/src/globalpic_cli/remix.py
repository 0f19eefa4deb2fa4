"""``globalpic remix``: the same product, same placement, on a new background."""

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
    Verbose,
    app,
    err,
    fail,
    finish,
    plan_variants,
    resolve_inputs,
    setup_logging,
)
from globalpic_cli.batch import ExitCode, run_batch
from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.imageio import InputLimitsSettings, load_image, save_image
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.schemas import ImageReport
from globalpic_common.styles import get_style
from globalpic_common.timing import StageTimer

Style = Annotated[
    str | None,
    typer.Option("--style", help="Style id (`globalpic styles` lists them), e.g. amazon-white."),
]
Background = Annotated[
    Path | None,
    typer.Option("--background", help="Your own background photo instead of a style."),
]
Backgrounds = Annotated[
    Path | None,
    typer.Option(
        "--backgrounds",
        help="Library of photos for scene styles: DIR/<style-id>/*.jpg|png|webp.",
    ),
]
Candidates = Annotated[
    int,
    typer.Option("--candidates", min=1, max=16, help="Distinct variants per image, <stem>_<k>."),
]
Seed = Annotated[int, typer.Option("--seed", min=0, help="First variant's seed.")]


def load_background(
    style: str | None, background: Path | None, backgrounds: Path | None
) -> ImageArray | None:
    """Validate the style options up front (before any model loads); exits 2 when bad."""
    if (style is None) == (background is None):
        fail("bad_option", "give exactly one of --style ID or --background FILE")
    if backgrounds is not None and not backgrounds.is_dir():
        fail("file_not_found", f"--backgrounds {backgrounds}: no such directory")
    try:
        if style is not None:
            get_style(style)
            return None
        assert background is not None
        return load_image(background, InputLimitsSettings().limits()).rgb
    except BadInputError as exc:
        fail(exc.code, f"{exc.message}" if style else f"--background {background}: {exc.message}")


@app.command()
def remix(
    inputs: Inputs,
    output: Out,
    style: Style = None,
    background: Background = None,
    backgrounds: Backgrounds = None,
    candidates: Candidates = 1,
    seed: Seed = 0,
    fmt: Format = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Put the product on a new background: same canvas and placement, product pixels
    unchanged. An RGBA input (from `extract`) is used as the cut-out as it is."""
    setup_logging(verbose)
    from globalpic_generation.remix import Remixer
    from globalpic_segmentation.extract import Extractor

    backdrop = load_background(style, background, backgrounds)
    if candidates > 1 and backdrop is not None:
        fail("bad_option", "--candidates > 1 needs a --style (one --background gives one image)")
    paths = resolve_inputs(inputs)
    outputs, out_fmt = plan_variants(paths, output, fmt, candidates)
    limits = InputLimitsSettings().limits()
    extractor = Extractor.from_settings()
    remixer = Remixer.from_settings()
    try:
        extractor.load()
    except GlobalPicError as exc:
        fail(exc.code, exc.message, ExitCode.INTERNAL)

    def process(src: Path, dsts: list[Path]) -> ImageReport:
        timer = StageTimer()
        with timer.stage("decode"):
            loaded = load_image(src, limits)
        seconds: dict[str, float] = dict(timer.seconds)
        if loaded.alpha is not None:
            alpha: AlphaArray = (loaded.alpha / 255.0).astype(np.float32)
        else:
            cutout = extractor.extract(loaded.rgb)
            alpha = cutout.alpha
            seconds.update({f"extract.{k}": v for k, v in cutout.seconds.items()})
        if backdrop is not None:
            results = [remixer.remix(loaded.rgb, alpha, background=backdrop, seed=seed)]
        else:
            assert style is not None
            results = remixer.candidates(
                loaded.rgb, alpha, style, candidates, seed=seed, backgrounds_dir=backgrounds
            )
        for result in results:
            for k, v in result.seconds.items():
                seconds[f"remix.{k}"] = round(seconds.get(f"remix.{k}", 0.0) + v, 4)
        with timer.stage("encode"):
            for result, dst in zip(results, dsts, strict=True):
                save_image(dst, result.image, out_fmt)
        seconds["encode"] = timer.seconds["encode"]
        if not as_json:
            err.print(
                f"remixed {src} -> {', '.join(str(d) for d in dsts)} "
                f"({results[0].style_id}, {sum(seconds.values()):.1f} s)",
                highlight=False,
            )
        return ImageReport(
            input=str(src),
            output=str(dsts[0]),
            outputs=[str(d) for d in dsts],
            width=loaded.width,
            height=loaded.height,
            style=results[0].style_id,
            seconds=seconds,
        )

    report = run_batch("remix", paths, outputs, process, err, show_progress=len(paths) > 1)
    finish(report, as_json)

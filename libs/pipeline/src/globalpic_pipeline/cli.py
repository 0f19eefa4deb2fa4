"""``globalpic``: the command line (rembg / IOPaint style), one subcommand per op.

Conventions every subcommand follows: ``-o OUT`` (a file when exactly one output results,
otherwise a directory), ``--format png|jpg|webp``, ``--json`` (a ``BatchReport`` on stdout),
a progress bar on stderr for several images, exit codes 0 ok / 1 internal error / 2 bad input /
3 a check failed.
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.imageio import InputLimitsSettings, load_image, load_mask, save_image
from globalpic_common.interfaces import MaskArray
from globalpic_common.outputs import plan_outputs
from globalpic_common.schemas import BatchReport, ImageReport, TextAction, TextMode
from globalpic_common.timing import StageTimer
from globalpic_pipeline.batch import ExitCode, exit_code, expand_inputs, run_batch

app = typer.Typer(
    name="globalpic",
    help="Localize Chinese marketplace product photos for Western marketplaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)  # one error line per file, never wrapped


@app.callback()
def _root() -> None:
    """Localize Chinese marketplace product photos for Western marketplaces."""
    # An explicit callback keeps `globalpic <command>` a command group even while only one
    # subcommand exists (Typer would otherwise fold it into the root).


class OutputFormat(StrEnum):
    PNG = "png"
    JPG = "jpg"
    WEBP = "webp"


Inputs = Annotated[
    list[Path], typer.Argument(help="Images (JPG, PNG, WEBP) or directories of images.")
]
Out = Annotated[Path, typer.Option("-o", "--output", help="Output file (one image) or directory.")]
Format = Annotated[
    OutputFormat | None, typer.Option("--format", help="Output format (default: png).")
]
Json = Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout.")]
Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Log details to stderr.")]


def _mask_for(spec: Path | None, src: Path, size: tuple[int, int]) -> MaskArray | None:
    """``--mask FILE`` applies to every input; ``--mask DIR`` looks up ``DIR/<stem>.png``."""
    if spec is None:
        return None
    if spec.is_dir():
        candidates = [spec / f"{src.stem}{ext}" for ext in (".png", ".jpg", ".webp")]
        found = next((c for c in candidates if c.is_file()), None)
        return load_mask(found, size) if found else None
    return load_mask(spec, size)


def _finish(report: BatchReport, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    raise typer.Exit(int(exit_code(report)))


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


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
    _setup_logging(verbose)
    from globalpic_pipeline.clean import Cleaner, CleanOptions

    paths = expand_inputs(inputs)
    if not paths:
        err.print("error: no input images (bad_input)")
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    for spec, flag in ((mask, "--mask"), (keep_mask, "--keep-mask")):
        if spec is not None and not spec.exists():
            err.print(f"error: {flag} {spec}: no such file or directory (file_not_found)")
            raise typer.Exit(int(ExitCode.BAD_INPUT))
    try:
        outputs, out_fmt = plan_outputs(paths, output, fmt.value if fmt else None)
    except BadInputError as exc:
        err.print(f"error: {exc.code}: {exc.message}")
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None

    limits = InputLimitsSettings().limits()
    cleaner = Cleaner.from_settings()
    try:
        cleaner.load()
    except GlobalPicError as exc:
        err.print(f"error: {exc.code}: {exc.message}")
        raise typer.Exit(int(ExitCode.INTERNAL)) from None

    def process(src: Path, dst: Path) -> ImageReport:
        timer = StageTimer()
        with timer.stage("decode"):
            loaded = load_image(src, limits)
            size = (loaded.width, loaded.height)
            options = CleanOptions(
                text_mode=text,
                add_mask=_mask_for(mask, src, size),
                keep_mask=_mask_for(keep_mask, src, size),
            )
        result = cleaner.clean(loaded.rgb, options)
        with timer.stage("encode"):
            save_image(dst, result.image, out_fmt, alpha=loaded.alpha)
            if masks is not None:
                save_image(masks / f"{dst.stem}.png", result.erase_mask, "png")
        erased = sum(r.action == TextAction.ERASED for r in result.regions)
        kept = len(result.regions) - erased
        if not as_json:
            total = sum(result.seconds.values()) + sum(timer.seconds.values())
            err.print(
                f"cleaned {src} -> {dst} ({erased} text erased, {kept} kept, {total:.1f} s)",
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
    _finish(report, as_json)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

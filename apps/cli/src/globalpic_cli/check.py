"""``globalpic check``: which marketplace rules each image breaks (exit 3 if any)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from globalpic_cli.app import (
    Inputs,
    Json,
    Verbose,
    app,
    err,
    fail,
    resolve_inputs,
    setup_logging,
)
from globalpic_cli.batch import ExitCode, exit_code, run_batch
from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.imageio import InputLimitsSettings, load_image
from globalpic_common.platforms import Platform, get_platform
from globalpic_common.schemas import BatchReport, ImageReport
from globalpic_common.timing import StageTimer

PlatformId = Annotated[
    str,
    typer.Option(
        "--platform", help="Platform preset id (`globalpic platforms` lists them), e.g. amazon."
    ),
]


def platform_or_fail(platform_id: str) -> Platform:
    try:
        return get_platform(platform_id)
    except BadInputError as exc:
        fail(exc.code, exc.message)


def broken_rules(report: ImageReport) -> list[str]:
    """One line per rule the image breaks: ``rule: message``."""
    return [f"{r.rule}: {r.message}" for r in report.checks if not r.passed]


def finish_checked(report: BatchReport, as_json: bool) -> NoReturn:
    """Like ``app.finish``, but exit 3 when every image was read and one breaks a rule.

    An internal error (1) or a bad input (2) is the more basic problem and wins over 3.
    """
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2, exclude_none=False) + "\n")
    code = exit_code(report)
    if code == ExitCode.OK and any(not r.passed for img in report.images for r in img.checks):
        code = ExitCode.CHECK_FAILED
    raise typer.Exit(int(code))


@app.command()
def check(
    inputs: Inputs,
    platform: PlatformId,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Check images against a platform's rules: size, white background, fill, overlay text."""
    setup_logging(verbose)
    from globalpic_cli import embedded

    preset = platform_or_fail(platform)
    paths = resolve_inputs(inputs)
    limits = InputLimitsSettings().limits()
    checker = embedded.checker_from_settings(preset)
    try:
        checker.load()
    except GlobalPicError as exc:
        fail(exc.code, exc.message, ExitCode.INTERNAL)

    def process(src: Path, _: Path) -> ImageReport:
        timer = StageTimer()
        with timer.stage("decode"):
            loaded = load_image(src, limits)
        result = checker.inspect(loaded.rgb)
        report = ImageReport(
            input=str(src),
            width=loaded.width,
            height=loaded.height,
            platform=preset.id,
            checks=result.rules,
            texts=result.texts,
            seconds={**timer.seconds, **result.seconds},
        )
        if not as_json:
            broken = broken_rules(report)
            for line in broken:
                typer.echo(f"✗ {src}: {line}")
            if not broken:
                typer.echo(f"✓ {src}: meets the {preset.name} rules")
        return report

    # check writes nothing: each input stands in for its (unused) output path.
    report = run_batch("check", paths, paths, process, err, show_progress=len(paths) > 1)
    finish_checked(report, as_json)

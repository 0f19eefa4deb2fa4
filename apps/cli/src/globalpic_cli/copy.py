"""``globalpic copy``: English listing copy for each photo, 5 A/B variants per platform.

Each photo's text is read by OCR (the configured detector, on the original photo) and its
product's colours named under the segmenter's matte; with the seller's ``--keywords`` and
``--facts`` they are what the copy may say. The writer is the configured one (offline by
default; ``GLOBALPIC_COPYWRITING__BACKEND=openai``; or the service at
``GLOBALPIC_PIPELINE__COPYWRITING_ADDR``). Exit codes: 0 ok, 1 internal error, 2 bad input,
3 a variant failed a platform rule or quality check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from globalpic_cli.batch import ExitCode
from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.schemas import CopyReport, ErrorInfo, ImageStatus

if TYPE_CHECKING:
    from globalpic_common.copy_facts import CopyFacts
    from globalpic_common.interfaces import Copywriter
    from globalpic_orchestrator.pipeline.clean import Cleaner

CopyPlatform = Annotated[
    str,
    typer.Option(
        "--platform", help="amazon, ebay, shopify, tiktok, instagram or facebook (or a preset id)."
    ),
]
Keywords = Annotated[
    list[str] | None,
    typer.Option("--keywords", help="Seller keywords, comma separated (repeatable)."),
]
Facts = Annotated[
    str | None,
    typer.Option("--facts", help='Seller facts: "material=cotton, size=M, brand=Acme".'),
]


@app.command("copy")
def copy_command(
    inputs: Inputs,
    platform: CopyPlatform = "amazon",
    keywords: Keywords = None,
    facts: Facts = None,
    variants: Annotated[
        int, typer.Option("-n", "--variants", help="A/B variants per image (1-10).")
    ] = 5,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Also write DIR/<stem>.copy.json per image."),
    ] = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Write English marketing copy for each product photo (titles, bullets, captions, ...)."""
    setup_logging(verbose)
    from globalpic_cli import embedded
    from globalpic_common.copy_facts import (
        CopyFacts,
        copy_platform,
        parse_keywords,
        parse_seller_facts,
    )
    from globalpic_copywriting.rules import variant_count
    from globalpic_orchestrator.pipeline.texts import load_backends

    try:
        target = copy_platform(platform)
        variant_count(variants)
        base = CopyFacts(keywords=parse_keywords(keywords), seller=parse_seller_facts(facts))
    except BadInputError as exc:
        fail(exc.code, exc.message)
    if output is not None and output.exists() and not output.is_dir():
        fail("bad_option", f"-o {output}: copy writes a directory of <stem>.copy.json")
    paths = resolve_inputs(inputs)
    cleaner = embedded.cleaner_from_settings()
    writer = embedded.copywriter_from_settings()
    try:
        load_backends(cleaner.detector, cleaner.segmenter, writer)
    except GlobalPicError as exc:
        fail(exc.code, exc.message, ExitCode.INTERNAL)

    reports = [_one(src, base, target, variants, cleaner, writer) for src in paths]
    for src, report in zip(paths, reports, strict=True):
        if output is not None and report.status == ImageStatus.OK:
            output.mkdir(parents=True, exist_ok=True)
            (output / f"{src.stem}.copy.json").write_text(report.model_dump_json(indent=2) + "\n")
        if not as_json:
            _print(report)
    if as_json:
        payload = [r.model_dump(mode="json") for r in reports]
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    raise typer.Exit(int(_exit_code(reports)))


def _one(
    src: Path, base: CopyFacts, platform: str, n: int, cleaner: Cleaner, writer: Copywriter
) -> CopyReport:
    """One image's copy; a bad or failing image becomes a report with its error."""
    from globalpic_common.colours import product_colors
    from globalpic_common.copy_facts import ocr_text
    from globalpic_common.imageio import InputLimitsSettings, load_image

    try:
        rgb = load_image(src, InputLimitsSettings().limits()).rgb
        lines = ocr_text(line.text for line in cleaner.detector.detect(rgb))
        colors = product_colors(rgb, cleaner.segmenter.segment(rgb))
        facts = base.model_copy(update={"ocr_lines": lines, "colors": colors})
        report = writer.write(facts, platform, n)
        return report.model_copy(update={"image": str(src)})
    except GlobalPicError as exc:
        bad = isinstance(exc, BadInputError)
        err.print(f"[red]error[/red] {src}: {exc.code}: {exc.message}", highlight=False)
        return CopyReport(
            image=str(src),
            platform=platform,
            status=ImageStatus.BAD_INPUT if bad else ImageStatus.FAILED,
            passed=False,
            error=ErrorInfo(code=exc.code, message=exc.message),
        )


def _exit_code(reports: list[CopyReport]) -> ExitCode:
    statuses = {r.status for r in reports}
    if ImageStatus.FAILED in statuses:
        return ExitCode.INTERNAL
    if ImageStatus.BAD_INPUT in statuses:
        return ExitCode.BAD_INPUT
    if not all(r.passed for r in reports):
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


def _print(report: CopyReport) -> None:
    """The variants as a seller reads them, on stdout; the verdict on stderr."""
    if report.status != ImageStatus.OK:
        return
    failed = [c for c in report.checks if not c.passed]
    verdict = "all checks passed" if not failed else f"{len(failed)} check(s) failed"
    note = f"; fallback: {report.fallback}" if report.fallback else ""
    err.print(
        f"copy {report.image} ({report.platform}, {report.backend}, {verdict}{note})",
        highlight=False,
    )
    out = [f"== {report.image} · {report.platform}", "Facts: " + "; ".join(report.facts_en)]
    for index, v in enumerate(report.variants):
        out.append(f"[{chr(ord('A') + index)}] {v.title or v.caption.splitlines()[0]}")
        out.extend(f"    - {b}" for b in v.bullets)
        if v.description:
            out.append(f"    Description: {' '.join(v.description.split())}")
        if v.meta_description:
            out.append(f"    Meta: {v.meta_description}")
        if v.search_terms:
            out.append(f"    Search terms: {v.search_terms}")
        if v.caption and v.title == "":
            out.extend(f"    {line}" for line in v.caption.splitlines()[1:] if line)
        if v.hashtags:
            out.append(f"    {' '.join(v.hashtags)}")
        out.append(f"    说明: {v.explanation_zh}")
    for check in failed:
        out.append(f"  ✗ {check.rule} (variant {check.variant}): {check.message}")
    sys.stdout.write("\n".join(out) + "\n\n")

"""``globalpic localize``: clean -> extract -> remix -> resize -> copy (any subset) in one
process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from globalpic_cli.app import (
    Format,
    Inputs,
    Json,
    OutputFormat,
    Verbose,
    app,
    err,
    fail,
    plan_variants,
    resolve_inputs,
    setup_logging,
)
from globalpic_cli.batch import ExitCode, StageProgress, run_batch
from globalpic_cli.check import broken_rules, finish_checked
from globalpic_cli.remix import Background, Backgrounds, Candidates, Seed, Style
from globalpic_cli.remix import load_background as load_style_background
from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.imageio import InputLimitsSettings, load_image, save_image
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.outputs import IMAGE_SUFFIXES
from globalpic_common.schemas import STAGE_PERCENT, ImageReport, ProgressStage, TextMode
from globalpic_common.timing import StageTimer

STAGE_LABEL = {
    ProgressStage.ANALYZE: "finding the product",
    ProgressStage.CLEAN: "erasing overlays",
    ProgressStage.EXTRACT: "cutting out",
    ProgressStage.REMIX: "new background",
    ProgressStage.RESIZE: "sizing",
    ProgressStage.DONE: "done",
}


def _matte(alpha: AlphaArray | None) -> ImageArray | None:
    import numpy as np

    if alpha is None:
        return None
    return np.clip(np.round(alpha * 255.0), 0, 255).astype(np.uint8)


@app.command()
def localize(
    inputs: Inputs,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output directory.")],
    ops: Annotated[
        str,
        typer.Option(
            "--ops", help="Comma list, run in this order: clean,extract,remix,resize,copy."
        ),
    ] = "clean,extract,remix,resize",
    style: Style = None,
    background: Background = None,
    backgrounds: Backgrounds = None,
    candidates: Candidates = 1,
    seed: Seed = 0,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform", help="resize: platform preset id; copy: its marketplace (amazon)."
        ),
    ] = None,
    size: Annotated[str | None, typer.Option("--size", help="resize: WIDTHxHEIGHT.")] = None,
    text: Annotated[
        TextMode, typer.Option("--text", help="clean: overlay (default) or all text.")
    ] = TextMode.OVERLAY,
    all_products: Annotated[
        bool, typer.Option("--all", help="extract: keep every product, not only the salient.")
    ] = False,
    keywords: Annotated[
        list[str] | None, typer.Option("--keywords", help="copy: seller keywords, comma list.")
    ] = None,
    facts: Annotated[
        str | None, typer.Option("--facts", help='copy: seller facts, "material=cotton, size=M".')
    ] = None,
    keep_steps: Annotated[
        bool, typer.Option("--keep-steps", help="Also write DIR/<stem>/<op>.<ext> per op.")
    ] = False,
    fmt: Format = None,
    as_json: Json = False,
    verbose: Verbose = False,
) -> None:
    """Run several ops on each image in one go; the product is found once and shared.

    Final images go to DIR/<stem>.<ext> (DIR/<stem>_<k>.<ext> with --candidates);
    --keep-steps also writes each op's result. With a --platform its rules are checked on
    the final images (exit 3 when one is broken). With copy, DIR/<stem>.copy.json holds the
    English copy (5 variants for the --platform's marketplace, amazon by default).
    """
    setup_logging(verbose)
    from globalpic_cli import embedded
    from globalpic_common.schemas import Op, parse_ops
    from globalpic_orchestrator.pipeline.clean import CleanOptions
    from globalpic_orchestrator.pipeline.frame import frame_for
    from globalpic_orchestrator.pipeline.localize import LocalizeOptions

    if output.suffix.lower() in IMAGE_SUFFIXES and not output.is_dir():
        fail("bad_option", f"-o {output}: localize writes a directory")
    try:
        op_list = parse_ops(ops)
        frame = frame_for(platform, size) if Op.RESIZE in op_list else None
        if Op.RESIZE not in op_list and (size or (platform and Op.COPY not in op_list)):
            raise BadInputError("--platform / --size need the resize op", code="bad_option")
        if Op.COPY not in op_list and (keywords or facts):
            raise BadInputError("--keywords / --facts need the copy op", code="bad_option")
    except BadInputError as exc:
        fail(exc.code, exc.message)
    remixing = Op.REMIX in op_list
    backdrop = load_style_background(style, background, backgrounds) if remixing else None
    if not remixing and (style or background or candidates > 1):
        fail("bad_option", "--style / --background / --candidates need the remix op")
    try:
        options = LocalizeOptions(
            ops=op_list,
            clean=CleanOptions(text_mode=text),
            extract_mode="all" if all_products else "salient",
            style=style,
            background=backdrop,
            backgrounds_dir=backgrounds,
            candidates=candidates,
            seed=seed,
            frame=frame,
            copy_platform=platform if Op.COPY in op_list and Op.RESIZE not in op_list else None,
            keywords=tuple(keywords or ()),
            facts=facts or "",
        )
    except BadInputError as exc:
        fail(exc.code, exc.message)
    # A cut-out (extract last, no white frame) keeps its alpha: PNG or WEBP only.
    cutout_last = Op.EXTRACT in op_list and not remixing and not (frame and frame.white)
    if cutout_last and fmt == OutputFormat.JPG:
        fail("bad_option", "the result is a cut-out with an alpha channel: use png or webp")

    paths = resolve_inputs(inputs)
    outputs, out_fmt = plan_variants(paths, output, fmt, candidates)
    limits = InputLimitsSettings().limits()
    localizer = embedded.localizer_from_settings()
    try:
        localizer.load(op_list)
    except GlobalPicError as exc:
        fail(exc.code, exc.message, ExitCode.INTERNAL)
    stages = StageProgress()

    def process(src: Path, dsts: list[Path]) -> ImageReport:
        timer = StageTimer()
        with timer.stage("decode"):
            loaded = load_image(src, limits)

        def on_progress(stage: ProgressStage) -> None:
            stages(STAGE_PERCENT[stage], STAGE_LABEL[stage])

        result = localizer.run(loaded.rgb, options, on_progress)
        copy = result.copy.model_copy(update={"image": str(src)}) if result.copy else None
        written = [str(d) for d in dsts]
        with timer.stage("encode"):
            for image, dst in zip(result.finals, dsts, strict=True):
                save_image(dst, image, out_fmt, alpha=_matte(result.final_alpha))
            if keep_steps:
                step_dir = output / dsts[0].stem.removesuffix("_1" if candidates > 1 else "")
                for op, images in result.steps.items():
                    step_alpha = result.step_alpha if op == Op.EXTRACT else None
                    for k, image in enumerate(images, start=1):
                        name = f"{op.value}_{k}" if len(images) > 1 else op.value
                        # the cut-out step keeps its alpha, so PNG whatever the final format
                        step_fmt = "png" if step_alpha is not None else out_fmt
                        path = step_dir / f"{name}.{step_fmt}"
                        save_image(path, image, step_fmt, alpha=_matte(step_alpha))
                        written.append(str(path))
            if copy is not None:
                copy_path = output / f"{src.stem}.copy.json"
                copy_path.write_text(copy.model_dump_json(indent=2) + "\n")
                written.append(str(copy_path))
        seconds = {"decode": timer.seconds["decode"], **result.seconds}
        seconds["encode"] = timer.seconds["encode"]
        report = ImageReport(
            input=str(src),
            output=written[0],
            outputs=written,
            width=result.finals[0].shape[1],
            height=result.finals[0].shape[0],
            texts=result.texts,
            style=result.style,
            platform=frame.platform.id if frame and frame.platform else None,
            checks=[rule for rules in result.checks for rule in rules],
            copy=copy,
            seconds=seconds,
            objects=result.objects,
        )
        if not as_json:
            broken = broken_rules(report)
            verdict = f", {len(broken)} rule(s) broken" if broken else ""
            err.print(
                f"localized {src} -> {', '.join(str(d) for d in dsts)} "
                f"({'+'.join(op.value for op in op_list)}{verdict}, {sum(seconds.values()):.1f} s)",
                highlight=False,
            )
            for line in broken:
                err.print(f"  ✗ {line}", highlight=False)
        return report

    report = run_batch("localize", paths, outputs, process, err, show_progress=True, stages=stages)
    finish_checked(report, as_json)

"""The per-image loop every CLI subcommand shares: validation, progress, errors, report.

One bad file never stops the batch: it gets one clear line on stderr and a ``bad_input`` entry
in the report, and the others are still processed. Exit codes: 0 ok, 1 internal error, 2 bad
input, 3 a check failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from globalpic_common.errors import BadInputError, GlobalPicError
from globalpic_common.schemas import BatchReport, ErrorInfo, ImageReport, ImageStatus

log = logging.getLogger("globalpic")

INPUT_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    BAD_INPUT = 2
    CHECK_FAILED = 3


def expand_inputs(inputs: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for the images directly inside it, sorted."""
    paths: list[Path] = []
    for item in inputs:
        if item.is_dir():
            paths.extend(sorted(p for p in item.iterdir() if p.suffix.lower() in INPUT_SUFFIXES))
        else:
            paths.append(item)
    return paths


Output = TypeVar("Output")  # one path, or a list of paths (candidates)
StageFn = Callable[[int, str], None]


class StageProgress:
    """Lets a long per-image job move the bar within the image: ``stages(percent, label)``.

    ``run_batch`` binds it to the current image; unbound (no bar) it does nothing.
    """

    def __init__(self) -> None:
        self._report: StageFn | None = None

    def __call__(self, percent: int, label: str) -> None:
        if self._report is not None:
            self._report(percent, label)

    def bind(self, report: StageFn | None) -> None:
        self._report = report


def run_batch(
    op: str,
    inputs: Sequence[Path],
    outputs: Sequence[Output],
    process: Callable[[Path, Output], ImageReport],
    err: Console,
    show_progress: bool,
    stages: StageProgress | None = None,
) -> BatchReport:
    """Run ``process(input, output)`` for each pair; never raises for a single image.

    With ``stages``, the bar counts percent within each image as ``process`` reports it.
    """
    started = time.perf_counter()
    reports: list[ImageReport] = []
    progress = Progress(
        TextColumn(f"[bold]{op}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=err,
        disable=not show_progress,
        transient=False,
    )
    with progress:
        per_image = 100 if stages is not None else 1
        task = progress.add_task("", total=len(inputs) * per_image)
        for index, (src, dst) in enumerate(zip(inputs, outputs, strict=True)):
            progress.update(task, description=src.name, completed=index * per_image)
            if stages is not None:
                stages.bind(_stage_reporter(progress, task, index, src.name))
            try:
                report = process(src, dst)
            except GlobalPicError as exc:
                bad = isinstance(exc, BadInputError)
                label = "[red]error[/red]" if bad else "[red]failed[/red]"
                err.print(f"{label} {src}: {exc.code}: {exc.message}", highlight=False)
                report = _failure(
                    src, ImageStatus.BAD_INPUT if bad else ImageStatus.FAILED, exc.code, exc.message
                )
            except Exception as exc:  # one broken image must not lose the rest of the batch
                log.debug("internal error on %s", src, exc_info=True)
                message = f"{type(exc).__name__}: {exc}"
                err.print(f"[red]failed[/red] {src}: internal_error: {message}", highlight=False)
                report = _failure(src, ImageStatus.FAILED, "internal_error", message)
            reports.append(report)
            progress.update(task, completed=(index + 1) * per_image)
        if stages is not None:
            stages.bind(None)
    ok = sum(r.status == ImageStatus.OK for r in reports)
    return BatchReport(
        op=op,
        images=reports,
        ok=ok,
        failed=len(reports) - ok,
        seconds=round(time.perf_counter() - started, 3),
    )


def _stage_reporter(progress: Progress, task: TaskID, index: int, name: str) -> StageFn:
    def report(percent: int, label: str) -> None:
        progress.update(task, completed=index * 100 + percent, description=f"{name}: {label}")

    return report


def _failure(src: Path, status: ImageStatus, code: str, message: str) -> ImageReport:
    return ImageReport(input=str(src), status=status, error=ErrorInfo(code=code, message=message))


def exit_code(report: BatchReport) -> ExitCode:
    statuses = {r.status for r in report.images}
    if ImageStatus.FAILED in statuses:
        return ExitCode.INTERNAL
    if ImageStatus.BAD_INPUT in statuses:
        return ExitCode.BAD_INPUT
    return ExitCode.OK

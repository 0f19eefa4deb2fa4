"""The ``globalpic`` Typer app and what every subcommand shares.

Conventions every subcommand follows: ``-o OUT`` (a file when exactly one output results,
otherwise a directory), ``--format png|jpg|webp``, ``--json`` (a ``BatchReport`` on stdout),
a progress bar on stderr for several images, exit codes 0 ok / 1 internal error / 2 bad input /
3 a check failed. Each subcommand lives in its own module of this package.
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from globalpic_cli.batch import ExitCode, exit_code, expand_inputs
from globalpic_common.errors import BadInputError
from globalpic_common.imageio import load_mask
from globalpic_common.interfaces import MaskArray
from globalpic_common.outputs import plan_outputs, plan_variant_outputs
from globalpic_common.schemas import BatchReport

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
    # An explicit callback keeps `globalpic <command>` a command group whatever the number of
    # subcommands (Typer would otherwise fold a lone command into the root).


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


def fail(code: str, message: str, exit_with: ExitCode = ExitCode.BAD_INPUT) -> NoReturn:
    """One clear line on stderr and the matching exit code; never a stack trace."""
    err.print(f"error: {code}: {message}", highlight=False)
    raise typer.Exit(int(exit_with))


def resolve_inputs(inputs: list[Path]) -> list[Path]:
    paths = expand_inputs(inputs)
    if not paths:
        fail("bad_input", "no input images")
    return paths


def plan(paths: list[Path], output: Path, fmt: OutputFormat | None) -> tuple[list[Path], str]:
    """Output paths per input (see ``plan_outputs``); a bad ``-o`` exits 2."""
    try:
        return plan_outputs(paths, output, fmt.value if fmt else None)
    except BadInputError as exc:
        fail(exc.code, exc.message)


def plan_variants(
    paths: list[Path], output: Path, fmt: OutputFormat | None, variants: int
) -> tuple[list[list[Path]], str]:
    """Output paths per input when each gives ``variants`` images (``<stem>_<k>.<ext>``)."""
    try:
        return plan_variant_outputs(paths, output, fmt.value if fmt else None, variants)
    except BadInputError as exc:
        fail(exc.code, exc.message)


def mask_for(spec: Path | None, src: Path, size: tuple[int, int]) -> MaskArray | None:
    """``--mask FILE`` applies to every input; ``--mask DIR`` looks up ``DIR/<stem>.png``."""
    if spec is None:
        return None
    if spec.is_dir():
        candidates = [spec / f"{src.stem}{ext}" for ext in (".png", ".jpg", ".webp")]
        found = next((c for c in candidates if c.is_file()), None)
        return load_mask(found, size) if found else None
    return load_mask(spec, size)


def finish(report: BatchReport, as_json: bool) -> NoReturn:
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2, exclude_none=False) + "\n")
    raise typer.Exit(int(exit_code(report)))


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

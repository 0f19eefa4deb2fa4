"""Output naming shared by every CLI subcommand (and later the batch ZIP of the REST API).

``-o OUT`` is a file when exactly one output results, otherwise a directory; outputs are named
``<input stem>.<ext>`` and stems that collide get ``-2``, ``-3``, ...
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from globalpic_common import errors
from globalpic_common.errors import BadInputError

IMAGE_SUFFIXES = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}


def unique_names(stems: Sequence[str], ext: str) -> list[str]:
    """``a, b, a, a`` -> ``a.ext, b.ext, a-2.ext, a-3.ext``; never reuses a name."""
    taken: set[str] = set()
    names = []
    for stem in stems:
        candidate, k = stem, 1
        while f"{candidate}.{ext}".lower() in taken:
            k += 1
            candidate = f"{stem}-{k}"
        taken.add(f"{candidate}.{ext}".lower())
        names.append(f"{candidate}.{ext}")
    return names


def plan_outputs(
    inputs: Sequence[Path], out: Path, fmt: str | None, suffix: str = ""
) -> tuple[list[Path], str]:
    """Decide every output path up front (before any work) and the format used.

    Returns the paths, one per input, and the format. A single input with ``out`` that has an
    image suffix writes exactly that file; anything else makes ``out`` a directory.
    """
    out_suffix = out.suffix.lower()
    as_file = out_suffix in IMAGE_SUFFIXES and not out.is_dir()
    if as_file and len(inputs) != 1:
        raise BadInputError(
            f"-o {out} names one file but {len(inputs)} outputs result; give a directory",
            code=errors.BAD_OPTION,
        )
    if as_file:
        file_fmt = IMAGE_SUFFIXES[out_suffix]
        if fmt is not None and fmt != file_fmt:
            raise BadInputError(
                f"-o {out} is a .{out_suffix.lstrip('.')} file but --format is {fmt}",
                code=errors.BAD_OPTION,
            )
        paths, fmt = [out], file_fmt
    else:
        fmt = fmt or "png"
        stems = [p.stem + suffix for p in inputs]
        paths = [out / name for name in unique_names(stems, fmt)]
    _refuse_overwriting_inputs(inputs, paths)
    return paths, fmt


def plan_variant_outputs(
    inputs: Sequence[Path], out: Path, fmt: str | None, variants: int
) -> tuple[list[list[Path]], str]:
    """Like ``plan_outputs`` for ops that write ``variants`` images per input (remix
    ``--candidates N``): with one variant, exactly ``plan_outputs``; with more, ``out`` is a
    directory and input ``x`` gives ``x_1.ext`` .. ``x_N.ext``."""
    if variants < 1:
        raise BadInputError(f"{variants} variants: need at least 1", code=errors.BAD_OPTION)
    if variants == 1:
        paths, fmt = plan_outputs(inputs, out, fmt)
        return [[p] for p in paths], fmt
    if out.suffix.lower() in IMAGE_SUFFIXES and not out.is_dir():
        raise BadInputError(
            f"-o {out} names one file but {variants} candidates result per image; give a directory",
            code=errors.BAD_OPTION,
        )
    fmt = fmt or "png"
    stems = [Path(name).stem for name in unique_names([p.stem for p in inputs], fmt)]
    flat = unique_names([f"{stem}_{k}" for stem in stems for k in range(1, variants + 1)], fmt)
    paths = [out / name for name in flat]
    _refuse_overwriting_inputs(inputs, paths)
    return [paths[i * variants : (i + 1) * variants] for i in range(len(inputs))], fmt


def _refuse_overwriting_inputs(inputs: Sequence[Path], outputs: Sequence[Path]) -> None:
    """Never lose the seller's original: an output may not be one of the inputs."""
    originals = {p.resolve() for p in inputs}
    for path in outputs:
        if path.resolve() in originals:
            raise BadInputError(
                f"{path} would overwrite an input image; choose another -o or --format",
                code=errors.BAD_OPTION,
            )

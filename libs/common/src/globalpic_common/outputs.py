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


def _refuse_overwriting_inputs(inputs: Sequence[Path], outputs: Sequence[Path]) -> None:
    """Never lose the seller's original: an output may not be one of the inputs."""
    originals = {p.resolve() for p in inputs}
    for path in outputs:
        if path.resolve() in originals:
            raise BadInputError(
                f"{path} would overwrite an input image; choose another -o or --format",
                code=errors.BAD_OPTION,
            )

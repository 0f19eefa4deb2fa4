"""Tune / test split of the evaluation sets (issue 12: generalisation discipline).

Real photos are split by *source*, so that no photo of a test source is ever looked at while
tuning: every ``posters/posterrase_*`` poster and every ``paddleclas_*`` photo (in ``text/``
and ``products/``) is test, all the others tune. Synthetic cases are split by *generator*:
``bench.synthetic`` (and ``bench.composites``) are tune, ``bench.heldout`` is test. This is
the single place that rule is written; every bench asks ``split_of``.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Literal

Split = Literal["tune", "test"]
SPLITS: tuple[Split, ...] = ("tune", "test")

TEST_DIRS = ("posters",)
TEST_NAME_PREFIXES = ("paddleclas_",)


def split_of(relpath: str) -> Split:
    """``"test"`` iff the photo is under ``posters/`` or its file name starts with
    ``paddleclas_``; ``relpath`` is relative to ``../shared/data/realworld`` (a bare file
    name is judged by its name alone)."""
    path = PurePosixPath(relpath.replace("\\", "/"))
    if not path.name:
        raise ValueError(f"not a photo path: {relpath!r}")
    if any(part in TEST_DIRS for part in path.parts[:-1]):
        return "test"
    if path.name.startswith(TEST_NAME_PREFIXES):
        return "test"
    return "tune"


def wanted(split: Split, selection: str) -> bool:
    """Whether ``--split`` ``selection`` (tune | test | both) includes ``split``."""
    if selection not in ("tune", "test", "both"):
        raise ValueError(f"unknown split selection {selection!r}: tune, test or both")
    return selection in ("both", split)

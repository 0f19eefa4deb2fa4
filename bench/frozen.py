"""The frozen test set: a manifest of the sha256 of everything that defines the TEST split.

Issue 12 asks that the test generator, its seed and the real-photo test labels be committed
before any tuning commit, and that the bench checks their hash: a test set edited after the
fact (a harder case dropped, a label flipped) would make every later figure meaningless.
``bench/labels/FROZEN.sha256`` lists, one per line, ``<sha256>  <path>`` for each frozen file
and ``<value>  HELDOUT_SEED`` / ``HELDOUT_N`` for the generator's constants.

``python -m bench.frozen --write`` (re)writes the manifest (the lead runs it when committing
the test set); ``python -m bench.frozen`` verifies it. Benches call ``verify()`` first.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from globalpic_common.errors import BadInputError

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = REPO_ROOT / "bench" / "labels" / "FROZEN.sha256"
FROZEN_FILES = (
    "bench/heldout.py",
    "bench/labels/realworld_posters.json",
    "bench/labels/realworld_text.json",
    "bench/labels/realworld_text_missed.json",
    "bench/labels/product_boxes.json",
)
FROZEN_CONSTANTS = ("HELDOUT_SEED", "HELDOUT_N")
CONSTANTS_MODULE = "bench.heldout"


class FrozenSetError(BadInputError):
    """The frozen test set is missing, or differs from its manifest."""

    code = "frozen_test_set"


@dataclass(frozen=True)
class Check:
    """What ``verify`` found: ``changed`` lists one human line per difference."""

    changed: list[str]

    @property
    def ok(self) -> bool:
        return not self.changed


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _constants(module_name: str) -> dict[str, str]:
    module = importlib.import_module(module_name)
    values = {}
    for name in FROZEN_CONSTANTS:
        if not hasattr(module, name):
            raise FrozenSetError(f"{module_name} has no {name}: cannot freeze the test set")
        values[name] = repr(getattr(module, name))
    return values


def current_entries(
    root: Path = REPO_ROOT,
    files: Sequence[str] = FROZEN_FILES,
    constants_module: str | None = CONSTANTS_MODULE,
) -> dict[str, str]:
    """``{path or constant name: sha256 or repr(value)}`` of the working tree now."""
    missing = [rel for rel in files if not (root / rel).is_file()]
    if missing:
        raise FrozenSetError(
            "frozen test set incomplete, missing: " + ", ".join(missing)
            + " (commit the test generator and labels first)"
        )  # fmt: skip
    entries = {rel: file_sha256(root / rel) for rel in files}
    if constants_module is not None:
        entries.update(_constants(constants_module))
    return entries


def format_manifest(entries: dict[str, str]) -> str:
    return "".join(f"{value}  {key}\n" for key, value in entries.items())


def parse_manifest(text: str) -> dict[str, str]:
    entries = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        value, sep, key = line.partition("  ")
        if not sep or not key:
            raise FrozenSetError(f"{MANIFEST.name} line {number}: expected '<value>  <name>'")
        entries[key.strip()] = value
    return entries


def compare(expected: dict[str, str], actual: dict[str, str]) -> Check:
    """One line per entry added, removed or changed (pure; the unit of ``verify``)."""
    changed = []
    for key in sorted(expected.keys() | actual.keys()):
        if key not in actual:
            changed.append(f"{key}: in the manifest, no longer frozen")
        elif key not in expected:
            changed.append(f"{key}: not in the manifest")
        elif expected[key] != actual[key]:
            changed.append(f"{key}: {expected[key][:16]} -> {actual[key][:16]}")
    return Check(changed)


def write(manifest: Path = MANIFEST, root: Path = REPO_ROOT) -> dict[str, str]:
    entries = current_entries(root)
    manifest.write_text(format_manifest(entries), encoding="utf-8")
    return entries


def verify(
    manifest: Path = MANIFEST,
    root: Path = REPO_ROOT,
    files: Sequence[str] = FROZEN_FILES,
    constants_module: str | None = CONSTANTS_MODULE,
) -> Check:
    """Compare the working tree with the manifest; raises ``FrozenSetError`` when the manifest
    or a frozen file is missing. Callers decide what a difference means (``require``)."""
    if not manifest.is_file():
        raise FrozenSetError(
            f"{manifest} not found: run `python -m bench.frozen --write` when committing the "
            "test set"
        )
    expected = parse_manifest(manifest.read_text(encoding="utf-8"))
    return compare(expected, current_entries(root, files, constants_module))


def require(allow_changed: bool, **kwargs: object) -> list[str]:
    """For benches: exit with the list of changes unless ``allow_changed``; returns the
    warning lines to repeat (loudly) in the summary."""
    try:
        check = verify(**kwargs)  # type: ignore[arg-type]
    except FrozenSetError as exc:
        if not allow_changed:
            raise SystemExit(f"frozen test set: {exc}") from exc
        return [f"FROZEN TEST SET NOT VERIFIED: {exc}"]
    if check.ok:
        return []
    detail = "\n  ".join(check.changed)
    if not allow_changed:
        raise SystemExit(
            f"frozen test set changed since {MANIFEST.name} was written:\n  {detail}\n"
            "The test split must not move while tuning. If this change is deliberate (a new "
            "test set, committed before any tuning), run `python -m bench.frozen --write`; "
            "to measure anyway, pass --allow-changed-test-set."
        )
    return ["TEST SET CHANGED SINCE FROZEN: test figures are not comparable:", *check.changed]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.frozen", description=__doc__)
    parser.add_argument("--write", action="store_true", help="(re)write the manifest")
    args = parser.parse_args(argv)
    try:
        if args.write:
            entries = write()
            print(f"wrote {MANIFEST} ({len(entries)} entries)")
            return 0
        check = verify()
    except FrozenSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if check.ok:
        print(f"frozen test set matches {MANIFEST.name}")
        return 0
    print("frozen test set changed:\n  " + "\n  ".join(check.changed), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

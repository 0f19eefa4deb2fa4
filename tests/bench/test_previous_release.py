"""The previous release runs from ``git archive`` in a worker whose imports resolve to that
tree: checked with a throwaway git repository holding a fake ``globalpic_pipeline``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.previous_release import (
    PreviousRelease,
    PreviousUnavailableError,
    extract_tree,
    resolve_rev,
)
from globalpic_common.schemas import TextAction, TextKind

FAKE_CLEAN = '''
from dataclasses import dataclass, field
from typing import Any


class CleanOptions:
    pass


@dataclass
class Region:
    box: list
    text: str
    confidence: float = 0.9
    kind: str = "overlay"
    action: str = "erased"
    overlay_score: float = 0.8


@dataclass
class Result:
    image: Any
    regions: list = field(default_factory=list)


class Cleaner:
    """Inverts the image: easy to tell from the input, and from the real Cleaner."""

    def load(self):
        print("stray output a library might print")  # must not break the protocol

    def clean(self, image, options):
        if image.shape[0] == 1:
            raise ValueError("too small")
        return Result(255 - image, [Region([[0, 0], [4, 0], [4, 2], [0, 2]], "包邮")])
'''

FAKE_BACKENDS = """
from globalpic_pipeline.clean import Cleaner


def cleaner_from_settings():
    return Cleaner()
"""


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    pkg = repo / "libs" / "pipeline" / "src" / "globalpic_pipeline"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "clean.py").write_text(FAKE_CLEAN)
    (pkg / "backends.py").write_text(FAKE_BACKENDS)
    (repo / "services").mkdir()
    (repo / "services" / "README").write_text("services\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "release")
    return repo


def test_unknown_rev_is_reported_not_raised(repo: Path) -> None:
    with pytest.raises(PreviousUnavailableError, match="not in this clone"):
        resolve_rev("0123456", repo)


def test_extract_once_and_run_in_a_worker(repo: Path, tmp_path: Path) -> None:
    commit = _git(repo, "rev-parse", "HEAD")
    cache = tmp_path / "cache"
    tree = extract_tree(commit[:7], cache, repo)
    assert tree == cache / commit
    assert (tree / "libs/pipeline/src/globalpic_pipeline/clean.py").is_file()
    assert extract_tree(commit, cache, repo) == tree  # cached: no second archive

    release = PreviousRelease(commit[:7], cache, repo)
    try:
        assert release.module.startswith(str(tree))  # the tree's module, not the installed one
        rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
        out, regions = release(rgb)
        assert np.array_equal(out, 255 - rgb)
        assert regions[0].text == "包邮" and regions[0].kind == TextKind.OVERLAY
        assert regions[0].action == TextAction.ERASED
        with pytest.raises(RuntimeError, match="too small"):
            release(np.zeros((1, 1, 3), np.uint8))
        out, _ = release(rgb)  # the worker survives a failed image
        assert np.array_equal(out, 255 - rgb)
    finally:
        release.close()


def test_a_release_with_apps_brings_them_along(repo: Path, tmp_path: Path) -> None:
    """Since the orchestrator split the CLI and its embedded root live in ``apps/``."""
    cli = repo / "apps" / "cli" / "src" / "globalpic_cli"
    cli.mkdir(parents=True)
    (cli / "embedded.py").write_text("")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "apps")
    tree = extract_tree(_git(repo, "rev-parse", "HEAD"), tmp_path / "cache", repo)
    assert (tree / "apps/cli/src/globalpic_cli/embedded.py").is_file()
    assert (tree / "libs/pipeline/src/globalpic_pipeline/clean.py").is_file()

"""The previous release's ``clean``, run beside the working tree's in one bench run.

``git archive REV libs services [apps]`` (the source folders the release has) is unpacked
once into a cache folder keyed by the full commit id; a worker process
(``bench/_previous_worker.py``) puts that tree's sources first on ``sys.path`` and runs its
``Cleaner``. Images go over as ``.npy`` files (lossless), the
output comes back the same way, the regions as JSON. A rev the clone does not have (shallow
clone) is reported as skipped, not an error: the other methods still run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from globalpic_common.interfaces import ImageArray
from globalpic_common.schemas import TextAction, TextKind, TextRegion

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REV = "d4c58e1"
WORKER = Path(__file__).resolve().parent / "_previous_worker.py"
READY_TIMEOUT_S = 600


class PreviousUnavailableError(Exception):
    """The previous release cannot run here (the reason is the message)."""


def default_cache_root() -> Path:
    override = os.environ.get("GLOBALPIC_BENCH_CACHE")
    base = Path(override) if override else Path.home() / ".cache" / "globalpic" / "bench"
    return base / "previous"


def resolve_rev(rev: str, repo: Path = REPO_ROOT) -> str:
    """The full commit id of ``rev``; ``PreviousUnavailableError`` when the clone lacks it."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PreviousUnavailableError(f"git is not usable here: {exc}") from exc
    if done.returncode != 0 or not done.stdout.strip():
        shallow = (repo / ".git" / "shallow").exists()
        raise PreviousUnavailableError(
            f"commit {rev} is not in this clone" + (" (shallow clone)" if shallow else "")
        )
    return done.stdout.strip()


SOURCE_FOLDERS = ("libs", "services", "apps")


def _source_folders(commit: str, repo: Path) -> list[str]:
    """The top-level source folders ``commit`` has, of ``SOURCE_FOLDERS``."""
    done = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "--name-only", commit],
        capture_output=True,
        text=True,
        check=False,
    )
    present = set(done.stdout.split()) if done.returncode == 0 else set()
    return [folder for folder in SOURCE_FOLDERS if folder in present]


def extract_tree(rev: str, cache_root: Path | None = None, repo: Path = REPO_ROOT) -> Path:
    """``git archive REV <its source folders> | tar -x`` into ``<cache>/<commit id>`` (once).

    The folders are ``libs`` and ``services``, and ``apps`` in releases since the orchestrator
    split (the CLI and its embedded composition root moved there)."""
    commit = resolve_rev(rev, repo)
    root = cache_root or default_cache_root()
    tree = root / commit
    if (tree / ".complete").is_file():
        return tree
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{commit[:12]}."))
    try:
        folders = _source_folders(commit, repo)
        archive = subprocess.Popen(
            ["git", "-C", str(repo), "archive", commit, *folders], stdout=subprocess.PIPE
        )
        untar = subprocess.run(["tar", "-x", "-C", str(tmp)], stdin=archive.stdout, check=False)
        if archive.stdout is not None:
            archive.stdout.close()
        if archive.wait() != 0 or untar.returncode != 0:
            raise PreviousUnavailableError(
                f"git archive {commit} {' '.join(folders)} | tar -x failed"
            )
        (tmp / ".complete").write_text(commit + "\n")
        shutil.rmtree(tree, ignore_errors=True)
        os.replace(tmp, tree)  # atomic: a crash leaves no half tree that looks complete
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tree


def _region(item: dict[str, Any]) -> TextRegion:
    action = str(item["action"])
    known = {a.value for a in TextAction}
    return TextRegion(
        box=[(float(x), float(y)) for x, y in item["box"]],
        text=str(item["text"]),
        confidence=float(item["confidence"]),
        kind=TextKind(item["kind"]),
        # a value this tree's enum does not know yet (an older or newer release) is kept
        # as ERASED / KEPT by its meaning, so the bench never crashes on it
        action=TextAction(action) if action in known else TextAction.KEPT,
        overlay_score=float(item.get("overlay_score", 0.0)),
    )


class PreviousRelease:
    """A callable ``rgb -> (output, regions)`` backed by the worker process."""

    def __init__(
        self, rev: str = DEFAULT_REV, cache_root: Path | None = None, repo: Path = REPO_ROOT
    ) -> None:
        self.rev = rev
        self.tree = extract_tree(rev, cache_root, repo)
        self._tmp = Path(tempfile.mkdtemp(prefix="globalpic-previous-"))
        self._proc: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-P", str(WORKER), str(self.tree)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
            cwd=self._tmp,
        )  # fmt: skip
        ready = self._read()
        if not ready.get("ready"):
            self.close()
            raise PreviousUnavailableError(f"worker did not start: {ready}")
        self.module = str(ready.get("module"))

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        if self._proc is None or self._proc.stdin is None or self._proc.stdout is None:
            raise PreviousUnavailableError("the previous-release worker is closed")
        return self._proc.stdin, self._proc.stdout

    def _read(self) -> dict[str, Any]:
        _, stdout = self._pipes()
        line = stdout.readline()
        if not line:
            code = self._proc.wait(timeout=READY_TIMEOUT_S) if self._proc else None
            raise PreviousUnavailableError(f"the previous-release worker exited (code {code})")
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise PreviousUnavailableError(f"unexpected worker reply {line!r}")
        return reply

    def __call__(self, rgb: ImageArray) -> tuple[ImageArray, list[TextRegion]]:
        stdin, _ = self._pipes()
        src, dst = self._tmp / "in.npy", self._tmp / "out.npy"
        np.save(src, np.ascontiguousarray(rgb, np.uint8))
        dst.unlink(missing_ok=True)
        stdin.write(json.dumps({"in": str(src), "out": str(dst)}) + "\n")
        stdin.flush()
        reply = self._read()
        if not reply.get("ok"):
            raise RuntimeError(f"previous release failed: {reply.get('error')}")
        output = np.asarray(np.load(dst), np.uint8)
        self.last_seconds = float(reply.get("seconds", 0.0))
        return output, [_region(item) for item in reply.get("regions", [])]

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __del__(self) -> None:  # best effort: never leave a worker behind
        with contextlib.suppress(Exception):
            self.close()


def start(rev: str, out: Any = print) -> PreviousRelease | None:
    """The previous release, or None (printed why) when it cannot run here."""
    t0 = time.perf_counter()
    try:
        release = PreviousRelease(rev)
    except PreviousUnavailableError as exc:
        out(f"previous release skipped: {exc}")
        return None
    out(f"previous release {rev}: {release.module} ({time.perf_counter() - t0:.1f}s to start)")
    return release

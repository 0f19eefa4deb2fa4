"""IsNetSegmenter on tiny random-weight IS-Net-shaped models, through the production loader."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import Segmenter
from globalpic_segmentation import SegmentationSettings, U2NetSegmenter, build_segmenter
from globalpic_segmentation.isnet import IsNetSegmenter
from tests.support.tiny_model import build_tiny_isnet


@pytest.fixture(scope="module")
def tiny_isnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The shipped model's exact signature: input 1 x 3 x 1024 x 1024, mask 1 x 1 x 1024 x 1024.
    return build_tiny_isnet(tmp_path_factory.mktemp("isnet") / "isnet.onnx", side=1024)


def _photo(h: int = 90, w: int = 140, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(20, 90, (h, w, 3), dtype=np.uint8)
    img[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = (230, 180, 40)
    return img


def _segmenter(model: Path, **kw: object) -> IsNetSegmenter:
    return IsNetSegmenter(SegmentationSettings(isnet_path=model, **kw))  # type: ignore[arg-type]


def test_segment_returns_alpha_of_image_size(tiny_isnet: Path) -> None:
    alpha = _segmenter(tiny_isnet, threads=1).segment(_photo())
    assert alpha.dtype == np.float32 and alpha.shape == (90, 140)
    assert float(alpha.min()) >= 0.0 and float(alpha.max()) <= 1.0


def test_first_output_with_imgly_normalisation(tiny_isnet: Path) -> None:
    """The expected map is computed here from the definition (not with isnet.preprocess):
    resize to 1024, (x - 128) / 256, NCHW; first output, no stretch, resized back."""
    img = _photo()
    big = cv2.resize(img, (1024, 1024), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    batch = ((big - 128.0) / 256.0).transpose(2, 0, 1)[None].astype(np.float32)
    session = ort.InferenceSession(str(tiny_isnet), providers=["CPUExecutionProvider"])
    mask, side = session.run(None, {"input": batch})
    assert not np.allclose(mask, side)  # picking the other output would not match
    expected = cv2.resize(mask[0, 0], (140, 90), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(_segmenter(tiny_isnet).segment(img), expected, atol=1e-5)


def test_input_size_read_from_model(tmp_path: Path) -> None:
    model = build_tiny_isnet(tmp_path / "small.onnx", side=64)
    segmenter = _segmenter(model)
    alpha = segmenter.segment(_photo(200, 300))
    assert alpha.shape == (200, 300)
    assert segmenter._input_hw == (64, 64)


def test_large_photo_is_shrunk_with_area_filter(tmp_path: Path) -> None:
    """A fine checkerboard, shrunk 4x: point sampling would alias it into a pattern, the area
    filter gives its mean grey, so the network sees a flat image and answers a flat map."""
    model = build_tiny_isnet(tmp_path / "m.onnx", side=64)
    board = (np.indices((256, 256)).sum(axis=0) % 2 * 255).astype(np.uint8)
    alpha = _segmenter(model).segment(np.dstack([board] * 3))
    assert float(alpha.max() - alpha.min()) < 1e-3


def test_session_created_once_across_threads(tiny_isnet: Path) -> None:
    segmenter = _segmenter(tiny_isnet)
    threads = [threading.Thread(target=segmenter.load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session = segmenter._session
    assert session is not None
    segmenter.segment(_photo())
    assert segmenter._session is session


def test_missing_model_names_the_fixes(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        _segmenter(tmp_path / "absent.onnx").segment(_photo())
    for hint in ("make models", "GLOBALPIC_SEGMENTATION__ISNET_PATH", "SEGMENTER=u2netp"):
        assert hint in info.value.message


def test_corrupt_model_is_model_unavailable(tmp_path: Path) -> None:
    bad = tmp_path / "isnet.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(ModelUnavailableError, match="cannot load IS-Net"):
        _segmenter(bad).load()


def test_rejects_non_rgb_input(tiny_isnet: Path) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        _segmenter(tiny_isnet).segment(np.zeros((10, 10), np.uint8))


def test_default_segmenter_is_isnet_from_model_dir(tmp_path: Path) -> None:
    settings = SegmentationSettings(model_dir=tmp_path)
    assert settings.segmenter == "isnet"
    assert settings.isnet_model_path() == tmp_path / "isnet.onnx"
    segmenter = build_segmenter(settings)
    assert isinstance(segmenter, IsNetSegmenter) and isinstance(segmenter, Segmenter)
    assert segmenter.name == "isnet"


def test_environment_picks_the_segmenter(
    tiny_isnet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__ISNET_PATH", str(tiny_isnet))
    segmenter = build_segmenter()
    assert isinstance(segmenter, IsNetSegmenter) and segmenter.model_path == str(tiny_isnet)
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__SEGMENTER", "u2netp")
    assert isinstance(build_segmenter(), U2NetSegmenter)


def test_pinned_u2netp_file_keeps_u2netp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment that pinned a U²-Net-p file (MODEL_PATH) before IS-Net became the default
    keeps U²-Net-p; naming the segmenter opts in."""
    for name in ("SEGMENTER", "ISNET_PATH"):
        monkeypatch.delenv(f"GLOBALPIC_SEGMENTATION__{name}", raising=False)
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(tmp_path / "u2netp.onnx"))
    assert SegmentationSettings().segmenter == "u2netp"
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__SEGMENTER", "isnet")
    assert SegmentationSettings().segmenter == "isnet"
    monkeypatch.delenv("GLOBALPIC_SEGMENTATION__SEGMENTER")
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__ISNET_PATH", str(tmp_path / "isnet.onnx"))
    assert SegmentationSettings().segmenter == "isnet"

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import Segmenter
from globalpic_segmentation import (
    SegmentationSettings,
    U2NetSegmenter,
    build_segmenter,
    product_mask,
)
from globalpic_segmentation.u2net import postprocess, preprocess


def _photo(h: int = 90, w: int = 140, seed: int = 1) -> np.ndarray:
    """A bright square 'product' on a darker noisy background."""
    rng = np.random.default_rng(seed)
    img = rng.integers(20, 90, (h, w, 3), dtype=np.uint8)
    img[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = (230, 180, 40)
    return img


def _segmenter(model: Path, **kw: Any) -> U2NetSegmenter:
    return U2NetSegmenter(SegmentationSettings(model_path=model, **kw))


def test_segment_returns_alpha_of_image_size(tiny_model: Path) -> None:
    alpha = _segmenter(tiny_model, threads=1).segment(_photo())
    assert alpha.dtype == np.float32
    assert alpha.shape == (90, 140)
    assert float(alpha.min()) >= 0.0 and float(alpha.max()) <= 1.0
    # Min-max normalisation stretches the map over most of [0, 1].
    assert float(alpha.max()) - float(alpha.min()) > 0.5


def test_segment_uses_first_output_with_rembg_normalisation(tiny_model: Path) -> None:
    img = _photo()
    session = ort.InferenceSession(str(tiny_model), providers=["CPUExecutionProvider"])
    batch = preprocess(img, 320, 320)
    outs = session.run(None, {"input.1": batch})
    # The heads have different weights, so picking any other output would not match.
    assert not np.allclose(outs[0], outs[1])
    expected = postprocess(outs[0], 90, 140)
    np.testing.assert_allclose(_segmenter(tiny_model).segment(img), expected, atol=1e-6)


def test_preprocess_divides_by_max_and_normalises() -> None:
    img = np.full((40, 60, 3), 100, dtype=np.uint8)
    # rembg divides by the max of the resized image: a bright block survives resizing.
    img[:10, :15] = 200
    batch = preprocess(img, 32, 32)
    assert batch.shape == (1, 3, 32, 32) and batch.dtype == np.float32
    centre = batch[0, :, 16, 16]
    expected = (0.5 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(centre, expected, atol=1e-5)
    # All-black images must not divide by zero.
    assert np.isfinite(preprocess(np.zeros((8, 8, 3), np.uint8), 16, 16)).all()


def test_postprocess_flat_map_is_background() -> None:
    alpha = postprocess(np.full((1, 1, 20, 20), 0.7, np.float32), 30, 50)
    assert alpha.shape == (30, 50) and not alpha.any()


def test_input_size_is_read_from_the_model(make_tiny_model: Callable[..., Path]) -> None:
    seg = _segmenter(make_tiny_model(side=64))
    alpha = seg.segment(_photo(33, 47))  # would fail in onnxruntime if 320 were hard-coded
    assert alpha.shape == (33, 47)


def test_session_created_once(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[object] = []
    real = ort.InferenceSession

    def counting(*args: Any, **kwargs: Any) -> Any:
        created.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", counting)
    seg = _segmenter(tiny_model)
    threads = [threading.Thread(target=seg.load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = seg.segment(_photo())
    second = seg.segment(_photo())
    assert len(created) == 1
    np.testing.assert_array_equal(first, second)


def test_missing_model_file_says_how_to_fix(tmp_path: Path) -> None:
    seg = _segmenter(tmp_path / "absent.onnx")
    with pytest.raises(ModelUnavailableError, match="make models") as info:
        seg.segment(_photo())
    assert "GLOBALPIC_SEGMENTATION__MODEL_PATH" in info.value.message
    assert info.value.code == "model_unavailable"


def test_default_path_is_model_dir(tmp_path: Path) -> None:
    settings = SegmentationSettings(model_dir=tmp_path)
    assert settings.u2netp_path() == tmp_path / "u2netp.onnx"
    with pytest.raises(ModelUnavailableError, match=str(tmp_path / "u2netp.onnx")):
        U2NetSegmenter(settings).load()


def test_corrupt_model_file_is_model_unavailable(tmp_path: Path) -> None:
    bad = tmp_path / "u2netp.onnx"
    bad.write_bytes(b"not an onnx model")
    with pytest.raises(ModelUnavailableError, match="cannot load"):
        _segmenter(bad).load()


def test_unload_frees_the_session_and_the_next_use_loads_it_again(tiny_model: Path) -> None:
    seg = _segmenter(tiny_model)
    before = seg.segment(_photo())
    assert seg.loaded
    seg.unload()
    assert not seg.loaded and seg._session is None
    np.testing.assert_array_equal(seg.segment(_photo()), before)
    assert seg.loaded


def test_rejects_non_rgb_input(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="H x W x 3"):
        _segmenter(tiny_model).segment(np.zeros((10, 10), np.uint8))


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(tmp_path / "m.onnx"))
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__THREADS", "3")
    settings = SegmentationSettings()
    assert settings.u2netp_path() == tmp_path / "m.onnx"
    assert settings.threads == 3


def test_product_mask_thresholds() -> None:
    alpha = np.array([[0.0, 0.49, 0.5, 1.0]], np.float32)
    np.testing.assert_array_equal(product_mask(alpha), [[0, 0, 255, 255]])
    np.testing.assert_array_equal(product_mask(alpha, threshold=0.2), [[0, 255, 255, 255]])
    assert product_mask(alpha).dtype == np.uint8


def test_build_segmenter_implements_protocol(tiny_model: Path) -> None:
    seg = build_segmenter(SegmentationSettings(model_path=tiny_model))
    assert isinstance(seg, Segmenter)
    assert isinstance(seg, U2NetSegmenter)
    assert seg.name == "u2netp"

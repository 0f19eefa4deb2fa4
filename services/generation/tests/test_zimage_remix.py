"""Remix with generated scenes: the tiny random-weight Z-Image pipeline through ``Remixer``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from globalpic_generation import zimage_remix
from globalpic_generation.remix import Remixer
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.zimage import ZImageModels
from globalpic_generation.zimage_remix import ZImageSceneGenerator, batch_limit, work_size

SCENE_STYLE = "modern-home"  # approximate: generated
EXACT_STYLE = "amazon-white"  # exact: still drawn


def _settings(model: Path, **overrides: Any) -> GenerationSettings:
    base: dict[str, Any] = {
        "remixer": "zimage",
        "model": str(model),
        "device": "cpu",
        "warmup_px": 16,
        "remix_side_px": (48, 64),
        "max_sequence_length": 32,
    }
    return GenerationSettings(**(base | overrides))


def _product() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A 90 x 120 photo with a round product (alpha 1 inside, a soft 2 px edge)."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    disc = np.zeros((90, 120), np.float32)
    cv2.circle(disc, (60, 50), 25, 1.0, -1)
    alpha = cv2.GaussianBlur(disc, (0, 0), 1.0)
    alpha = np.where(alpha > 0.97, 1.0, np.where(alpha < 0.03, 0.0, alpha)).astype(np.float32)
    return image, alpha


def test_candidates_keep_product_pixels_exactly(tiny_dir: Path) -> None:
    remixer = Remixer.from_settings(_settings(tiny_dir))
    assert isinstance(remixer.scene_generator, ZImageSceneGenerator)
    image, alpha = _product()
    results = remixer.candidates(image, alpha, SCENE_STYLE, 3, seed=5)
    assert len(results) == 3
    product = alpha >= 1.0
    assert product.sum() > 1000
    for k, res in enumerate(results):
        assert res.image.shape == image.shape and res.image.dtype == np.uint8
        assert res.source == "zimage" and res.style_id == SCENE_STYLE and res.seed == 5 + k
        assert np.array_equal(res.image[product], image[product])
        assert not np.array_equal(res.image[alpha == 0], image[alpha == 0])  # a new scene
    # Distinct candidates, and each candidate is its seed's, whatever batch it ran in.
    assert not np.array_equal(results[0].image, results[1].image)
    alone = remixer.remix(image, alpha, style_id=SCENE_STYLE, seed=6)
    assert alone.source == "zimage" and np.array_equal(alone.image[product], image[product])
    diff = np.abs(alone.image.astype(int) - results[1].image.astype(int))
    assert diff.max() <= 2  # batched vs single: same noise, float rounding at most


def test_candidates_are_batched_up_to_the_limit(
    tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = zimage_remix.generate_inpaint

    def spy(models: ZImageModels, settings: GenerationSettings, images: list[Any], *a: Any) -> Any:
        calls.append(len(images))
        return real(models, settings, images, *a)

    monkeypatch.setattr(zimage_remix, "generate_inpaint", spy)
    remixer = Remixer.from_settings(_settings(tiny_dir, remix_batch_max=2))
    image, alpha = _product()
    remixer.load()
    calls.clear()
    results = remixer.candidates(image, alpha, SCENE_STYLE, 5)
    assert len(results) == 5 and calls == [2, 2, 1]
    assert len({r.image.tobytes() for r in results}) == 5


def test_exact_styles_stay_drawn(tiny_dir: Path) -> None:
    remixer = Remixer.from_settings(_settings(tiny_dir))
    image, alpha = _product()
    res = remixer.remix(image, alpha, style_id=EXACT_STYLE)
    assert res.source == "render"
    assert np.array_equal(res.image[alpha >= 1.0], image[alpha >= 1.0])
    corners = res.image[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 255).all()  # drawn pure white, not generated


def test_batch_limit_and_work_size(tiny_dir: Path) -> None:
    settings = _settings(tiny_dir, remix_batch_max=3)
    generator = ZImageSceneGenerator(settings)
    # CPU: the configured cap. (cuda: also free memory / remix_gib_per_megapixel.)
    assert batch_limit(generator.models, settings, 1024 * 1024) == 3
    assert work_size(1500, 2000, 16, (768, 1024)) == (768, 1024)
    assert work_size(300, 200, 16, (768, 1024)) == (768, 512)
    h, w = work_size(1000, 1000, 16, (768, 1024))
    assert h == w == 992  # 1000 rounded to the nearest multiple of 16


def test_served_over_grpc_after_loading(tiny_dir: Path) -> None:
    """The server's load step loads the model before SERVING; remote == in-process pixels."""
    from globalpic_clients.generation import GenerationClient
    from globalpic_common.grpc_server import ServiceServer, load_models
    from globalpic_generation.registry import build_inpainter
    from globalpic_generation.server import HEALTH_NAME, registrar

    settings = _settings(tiny_dir, inpainter="zimage", zimage_side_px=(32, 64))
    inpainter, remixer = build_inpainter(settings), Remixer.from_settings(settings)
    server = ServiceServer(
        "generation", registrar(inpainter, remixer), port=0, host="127.0.0.1",
        health_services=[HEALTH_NAME],
    )  # fmt: skip
    server.start()
    client = GenerationClient(f"127.0.0.1:{server.port}")
    try:
        assert client.health_status() == "NOT_SERVING"
        load_models(inpainter, remixer)()
        server.set_serving()
        image, alpha = _product()
        mask = np.zeros(image.shape[:2], np.uint8)
        mask[5:20, 10:50] = 255
        assert np.array_equal(client.inpaint(image, mask), inpainter.inpaint(image, mask))
        assert client.name == "zimage"
        remote = client.candidates(image, alpha, SCENE_STYLE, 2, seed=4)
        here = remixer.candidates(image, alpha, SCENE_STYLE, 2, seed=4)
        for got, want in zip(remote, here, strict=True):
            assert got.source == want.source == "zimage"
            assert np.array_equal(got.image, want.image)
    finally:
        client.close()
        server.stop()

"""Resize with Z-Image: outpainting and img2img upscaling on the tiny random-weight pipeline,
loaded through the production loader (``GLOBALPIC_GENERATION__MODEL=dir``).

Random weights generate noise: these tests check the contract (frame size, the placed photo
untouched, product pixels as the classical upscale made them, seeds, white frames never
generated, the lifecycle), not image quality.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from globalpic_common.errors import BadInputError, ModelUnavailableError
from globalpic_common.platforms import get_platform
from globalpic_generation.canvas import (
    CLASSICAL,
    CanvasBackends,
    FitResult,
    build_canvas_backends,
    fit_to_canvas,
)
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.zimage import load_zimage
from globalpic_generation.zimage_resize import ZImageResizer


def _settings(model: Path | str, **overrides: Any) -> GenerationSettings:
    # Tiny working sizes: the tiny model's pixel factor is 4; real Z-Image's is 16.
    base: dict[str, Any] = {
        "outpainter": "zimage",
        "upscaler": "zimage",
        "model": str(model),
        "device": "cpu",
        "warmup_px": 16,
        "outpaint_side_px": (48, 64),
        "upscale_side_px": (32, 64),
        "max_sequence_length": 32,
    }
    return GenerationSettings(**(base | overrides))


def _product(h: int = 96, w: int = 96) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A textured photo with a round product in the middle (alpha 1 inside, soft edge)."""
    rng = np.random.default_rng(4)
    image = np.asarray(cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 1.5))
    disc = np.zeros((h, w), np.float32)
    cv2.circle(disc, (w // 2, h // 2), min(h, w) // 3, 1.0, -1)
    alpha = cv2.GaussianBlur(disc, (0, 0), 1.0)
    alpha = np.where(alpha > 0.97, 1.0, np.where(alpha < 0.03, 0.0, alpha)).astype(np.float32)
    return image, alpha


def _outpaint(tiny_dir: Path, seed: int, **overrides: Any) -> FitResult:
    backends = build_canvas_backends(_settings(tiny_dir, upscaler="classical", **overrides))
    image, alpha = _product()
    return fit_to_canvas(image, alpha, 96, 160, fill=0.5, seed=seed, backends=backends)


def test_outpaint_fills_the_frame_and_keeps_the_photo(tiny_dir: Path) -> None:
    image, alpha = _product()
    classical = fit_to_canvas(image, alpha, 96, 160, fill=0.5, seed=3)
    generated = _outpaint(tiny_dir, seed=3)
    assert generated.image.shape == (160, 96, 3) and generated.image.dtype == np.uint8
    new = generated.extended > 0
    assert new.any() and (~new).any()
    assert np.array_equal(generated.extended, classical.extended)  # same placement
    # Every pixel of the placed photo is the classical fit's (same resample), bit for bit.
    assert np.array_equal(generated.image[~new], classical.image[~new])
    assert np.array_equal(generated.alpha, classical.alpha)
    assert generated.product_box == classical.product_box
    assert not np.array_equal(generated.image[new], classical.image[new])  # generated


def test_outpaint_same_seed_same_frame(tiny_dir: Path) -> None:
    first, again, other = (_outpaint(tiny_dir, seed=s) for s in (11, 11, 12))
    assert np.array_equal(first.image, again.image)
    new = first.extended > 0
    assert not np.array_equal(first.image[new], other.image[new])


def test_outpaint_keeps_an_off_centre_photo_rectangle_exact(tiny_dir: Path) -> None:
    rng = np.random.default_rng(5)
    canvas = rng.integers(0, 256, (70, 130, 3), np.uint8)
    known = np.zeros((70, 130), bool)
    known[9:61, 3:77] = True  # not on the factor's grid, touching no edge
    out = ZImageResizer(_settings(tiny_dir)).outpaint(canvas, known, seed=1)
    assert out.shape == canvas.shape
    assert np.array_equal(out[known], canvas[known])
    assert (out[~known] != canvas[~known]).any()
    whole = np.ones_like(known)
    assert ZImageResizer(_settings(tiny_dir)).outpaint(canvas, whole, seed=1) is canvas


def test_upscale_refines_the_background_and_keeps_the_product(tiny_dir: Path) -> None:
    image, alpha = _product(32, 40)  # a small photo: scaled ~3x into the frame
    backends = build_canvas_backends(_settings(tiny_dir, outpainter="classical"))
    assert backends.outpainter is None and isinstance(backends.upscaler, ZImageResizer)
    classical = fit_to_canvas(image, alpha, 120, 100, seed=2)
    generated = fit_to_canvas(image, alpha, 120, 100, seed=2, backends=backends)
    assert classical.scale >= 1.5
    assert generated.image.shape == (100, 120, 3)
    product = generated.alpha >= 1.0
    assert product.sum() > 500
    assert np.array_equal(generated.image[product], classical.image[product])
    photo = (generated.extended == 0) & (generated.alpha == 0)
    assert not np.array_equal(generated.image[photo], classical.image[photo])
    again = fit_to_canvas(image, alpha, 120, 100, seed=2, backends=backends)
    assert np.array_equal(again.image, generated.image)
    # Without keep_product the whole photo is img2img'd, product included.
    redraw = build_canvas_backends(
        _settings(tiny_dir, outpainter="classical", upscale_keep_product=False)
    )
    redrawn = fit_to_canvas(image, alpha, 120, 100, seed=2, backends=redraw)
    assert not np.array_equal(redrawn.image[product], classical.image[product])


def test_small_upscales_stay_classical(tiny_dir: Path) -> None:
    image, alpha = _product(80, 80)
    backends = build_canvas_backends(_settings(tiny_dir, outpainter="classical"))
    classical = fit_to_canvas(image, alpha, 100, 100, fill=0.7)
    generated = fit_to_canvas(image, alpha, 100, 100, fill=0.7, backends=backends)
    assert 1.0 < classical.scale < 1.5
    assert np.array_equal(generated.image, classical.image)


class _Refuses:
    """An outpainter / upscaler that fails the test if it is ever asked to generate."""

    name = "refuses"

    def load(self) -> None:
        pass

    def outpaint(self, image: Any, known: Any, seed: int) -> Any:
        raise AssertionError("a white frame was generated")

    def upscale(self, image: Any, alpha: Any, scale: float, seed: int) -> Any:
        raise AssertionError("a white frame was generated")


def test_white_frames_and_given_backgrounds_are_never_generated() -> None:
    refuses = CanvasBackends(outpainter=_Refuses(), upscaler=_Refuses())
    image, alpha = _product(32, 40)
    amazon = get_platform("amazon")
    assert amazon.white_background
    white = fit_to_canvas(image, alpha, 160, 100, background="white", backends=refuses)
    assert np.array_equal(
        white.image, fit_to_canvas(image, alpha, 160, 100, background="white").image
    )
    assert (white.image[white.extended > 0] == 255).all()
    plate = np.full((50, 50, 3), (30, 120, 200), np.uint8)
    given = fit_to_canvas(image, alpha, 160, 100, background=plate, backends=refuses)
    assert np.array_equal(
        given.image, fit_to_canvas(image, alpha, 160, 100, background=plate).image
    )


def test_missing_weights_are_a_clear_error(tmp_path: Path) -> None:
    backends = build_canvas_backends(_settings(tmp_path / "nowhere"))  # cheap: nothing loaded
    with pytest.raises(ModelUnavailableError, match="no Z-Image weights"):
        backends.load()
    image, alpha = _product()
    with pytest.raises(ModelUnavailableError):
        fit_to_canvas(image, alpha, 96, 160, backends=backends)


def test_settings_choose_the_backends(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLOBALPIC_GENERATION__OUTPAINTER", raising=False)
    monkeypatch.delenv("GLOBALPIC_GENERATION__UPSCALER", raising=False)
    assert build_canvas_backends() is CLASSICAL and not CLASSICAL.generative
    monkeypatch.setenv("GLOBALPIC_GENERATION__OUTPAINTER", "zimage")
    monkeypatch.setenv("GLOBALPIC_GENERATION__MODEL", str(tiny_dir))
    backends = build_canvas_backends()
    assert isinstance(backends.outpainter, ZImageResizer) and backends.upscaler is None
    assert (
        backends.outpainter.settings.steps == 9
        and backends.outpainter.settings.guidance_scale == 0.0
    )
    # One model for inpaint, text-to-image and img2img: the img2img pipeline shares modules.
    settings = _settings(tiny_dir)
    resizer = ZImageResizer(settings)
    resizer.load()
    models = load_zimage(settings)
    assert resizer.models is models
    assert models.img2img.transformer is models.inpaint.transformer
    assert models.img2img.vae is models.inpaint.vae


def test_building_the_backends_does_not_import_torch(tiny_dir: Path) -> None:
    probe = (
        "import sys\n"
        "from globalpic_generation.canvas import build_canvas_backends\n"
        "from globalpic_generation.settings import GenerationSettings\n"
        f"settings = GenerationSettings(outpainter='zimage', model={str(tiny_dir)!r})\n"
        "b = build_canvas_backends(settings)\n"
        "assert b.generative\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _serve(canvas: CanvasBackends) -> tuple[Any, Any]:
    from globalpic_clients.generation import GenerationClient
    from globalpic_common.grpc_server import ServiceServer
    from globalpic_generation.registry import build_inpainter
    from globalpic_generation.remix import Remixer
    from globalpic_generation.server import HEALTH_NAME, registrar

    server = ServiceServer(
        "generation",
        registrar(build_inpainter(), Remixer(), canvas=canvas),
        port=0,
        host="127.0.0.1",
        health_services=[HEALTH_NAME],
    )
    server.start()
    server.set_serving()
    return server, GenerationClient(f"127.0.0.1:{server.port}")


def test_the_service_outpaints_and_upscales_like_the_process(tiny_dir: Path) -> None:
    settings = _settings(tiny_dir)
    here = ZImageResizer(settings)
    server, client = _serve(build_canvas_backends(settings))
    try:
        client.load()
        image, alpha = _product()
        remote_fit = fit_to_canvas(
            image, alpha, 96, 160, fill=0.5, seed=4, backends=CanvasBackends(client, client)
        )
        local_fit = fit_to_canvas(
            image, alpha, 96, 160, fill=0.5, seed=4, backends=CanvasBackends(here, here)
        )
        assert np.array_equal(remote_fit.image, local_fit.image)
        known = np.zeros((40, 60), bool)
        known[5:35, 10:50] = True
        canvas = np.random.default_rng(1).integers(0, 256, (40, 60, 3), np.uint8)
        assert np.array_equal(client.outpaint(canvas, known, 2), here.outpaint(canvas, known, 2))
        small = np.asarray(cv2.resize(image, (40, 40)), np.uint8)
        small_alpha = np.asarray(cv2.resize(alpha, (40, 40)), np.float32)
        assert np.array_equal(
            client.upscale(small, small_alpha, 3.0, 5), here.upscale(small, small_alpha, 3.0, 5)
        )
        with pytest.raises(BadInputError) as bad:
            client.outpaint(canvas, known, -1)
        assert bad.value.code == "bad_option"
    finally:
        client.close()
        server.stop()


def test_a_classical_server_refuses_to_outpaint() -> None:
    server, client = _serve(CLASSICAL)
    try:
        client.load()
        canvas = np.zeros((40, 60, 3), np.uint8)
        known = np.zeros((40, 60), bool)
        known[5:35, 10:50] = True
        with pytest.raises(ModelUnavailableError, match="OUTPAINTER=zimage"):
            client.outpaint(canvas, known, 0)
        with pytest.raises(ModelUnavailableError, match="UPSCALER=zimage"):
            client.upscale(canvas, np.zeros((40, 60), np.float32), 2.0, 0)
    finally:
        client.close()
        server.stop()

"""Resize's generative backends through the pipeline: chosen by the generation settings,
handed to ``fit_frame`` (in the framer) by the composition root, never used on a white
frame."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from globalpic_cli.embedded import framer_from_settings, localizer_from_settings
from globalpic_clients.generation import GenerationClient
from globalpic_common.platforms import get_platform
from globalpic_generation.canvas import CanvasBackends, CanvasFramer
from globalpic_generation.zimage_resize import ZImageResizer
from globalpic_orchestrator.pipeline.frame import Frame, fit_frame


class _Spy:
    """Records what it is asked to generate; fills the new area with one grey."""

    name = "spy"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def load(self) -> None:
        self.calls.append("load")

    def outpaint(self, image: Any, known: Any, seed: int) -> Any:
        self.calls.append("outpaint")
        out = image.copy()
        out[~known] = 77
        return out

    def upscale(self, image: Any, alpha: Any, scale: float, seed: int) -> Any:
        self.calls.append("upscale")
        return image


def _product() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    image = np.asarray(cv2.GaussianBlur(rng.integers(0, 256, (60, 60, 3), np.uint8), (0, 0), 2))
    alpha = np.zeros((60, 60), np.float32)
    cv2.circle(alpha, (30, 30), 18, 1.0, -1)
    return image, alpha


def test_white_platforms_and_cutouts_are_never_generated() -> None:
    spy = _Spy()
    framer = CanvasFramer(CanvasBackends(outpainter=spy, upscaler=spy))
    image, alpha = _product()
    amazon = get_platform("amazon")
    frame = Frame(amazon.width, amazon.height, amazon)
    assert frame.white
    fitted = fit_frame(image, alpha, frame, framer, cutout=False)
    assert spy.calls == []
    classical = fit_frame(image, alpha, frame, CanvasFramer(), cutout=False)
    assert np.array_equal(fitted.image, classical.image)
    assert (fitted.image[fitted.extended > 0] == 255).all()
    tall = Frame(96, 160)  # no platform: extended, unless the input is a cut-out
    fit_frame(image, alpha, tall, framer, cutout=True)
    assert spy.calls == []
    extended = fit_frame(image, alpha, tall, framer, cutout=False)
    assert spy.calls == ["upscale", "outpaint"]
    assert (extended.image[extended.extended > 0] == 77).all()


def test_the_composition_root_reads_the_generation_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for peer in ("OCR", "SEGMENTATION", "GENERATION", "COPYWRITING"):
        monkeypatch.delenv(f"GLOBALPIC_PIPELINE__{peer}_ADDR", raising=False)
    monkeypatch.delenv("GLOBALPIC_GENERATION__UPSCALER", raising=False)
    monkeypatch.delenv("GLOBALPIC_GENERATION__OUTPAINTER", raising=False)
    framer = localizer_from_settings().framer
    assert isinstance(framer, CanvasFramer) and not framer.backends.generative  # classical
    monkeypatch.setenv("GLOBALPIC_GENERATION__OUTPAINTER", "zimage")
    monkeypatch.setenv("GLOBALPIC_GENERATION__UPSCALER", "zimage")
    framer = localizer_from_settings().framer  # nothing loads until load() / first use
    assert isinstance(framer, CanvasFramer)
    canvas = framer.backends
    assert isinstance(canvas.outpainter, ZImageResizer)
    assert canvas.upscaler is canvas.outpainter


def test_with_a_generation_service_the_service_generates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nothing listens there: a client connects lazily, so this needs no server.
    monkeypatch.setenv("GLOBALPIC_PIPELINE__GENERATION_ADDR", "127.0.0.1:3")
    monkeypatch.setenv("GLOBALPIC_GENERATION__OUTPAINTER", "zimage")
    monkeypatch.delenv("GLOBALPIC_GENERATION__UPSCALER", raising=False)
    localizer = localizer_from_settings()
    assert isinstance(localizer.remixer, GenerationClient)
    # The whole fit is the service's (Fit, EnforceWhite), on its own canvas settings.
    assert localizer.framer is localizer.remixer  # one channel for every RPC
    assert isinstance(framer_from_settings(), GenerationClient)
    monkeypatch.delenv("GLOBALPIC_PIPELINE__GENERATION_ADDR")
    assert isinstance(framer_from_settings(), CanvasFramer)  # resize in this process

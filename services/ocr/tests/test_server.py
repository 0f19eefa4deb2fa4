"""The OCR service over gRPC: ready only after the model loaded, same lines as in process,
bad input keeps its code. RapidOCR's models ship in its wheel: no download."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from globalpic_clients.ocr import OcrClient
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer, load_models
from globalpic_common.schemas import TextLine
from globalpic_ocr.detector import RapidOcrDetector
from globalpic_ocr.overlay import classify_lines
from globalpic_ocr.server import HEALTH_NAME, registrar


@pytest.fixture(scope="module")
def detector() -> RapidOcrDetector:
    return RapidOcrDetector()


@pytest.fixture(scope="module")
def served(detector: RapidOcrDetector) -> Iterator[tuple[ServiceServer, OcrClient]]:
    server = ServiceServer(
        "ocr", registrar(detector), port=0, host="127.0.0.1", health_services=[HEALTH_NAME]
    )
    server.start()
    client = OcrClient(f"127.0.0.1:{server.port}")
    try:
        # Before the model is in memory the service must not take traffic.
        assert client.health_status() == "NOT_SERVING"
        load_models(detector)()
        server.set_serving()
        client.load()
        yield server, client
    finally:
        client.close()
        server.stop()


def _sign(text: str = "SALE 50%") -> np.ndarray:
    image = np.full((160, 360, 3), 235, np.uint8)
    cv2.putText(image, text, (16, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 20), 4)
    return image


def test_serving_after_load_and_detect_equals_in_process(
    served: tuple[ServiceServer, OcrClient], detector: RapidOcrDetector
) -> None:
    _, client = served
    assert client.health_status() == "SERVING"
    image = _sign()
    remote = client.detect(image)
    assert remote, "the sign's text should be found"
    assert remote == detector.detect(image)  # same boxes, text and confidence, exactly
    assert client.name == "rapidocr"


def test_blank_image_gives_no_lines(served: tuple[ServiceServer, OcrClient]) -> None:
    assert served[1].detect(np.full((64, 64, 3), 255, np.uint8)) == []


@pytest.mark.parametrize(
    "bad", [np.zeros((32, 32, 3), np.float32), np.zeros((32, 32, 4), np.uint8)]
)
def test_wrong_dtype_or_shape_is_bad_input_with_its_code(
    served: tuple[ServiceServer, OcrClient], bad: np.ndarray
) -> None:
    with pytest.raises(BadInputError) as caught:
        served[1].detect(bad)
    assert caught.value.code == errors.UNSUPPORTED_FORMAT


def _badge_photo() -> tuple[np.ndarray, list[TextLine], np.ndarray]:
    """A grey product with a label line on it and a red promo badge in a corner."""
    image = np.full((240, 320, 3), 230, np.uint8)
    cv2.rectangle(image, (90, 40), (230, 220), (90, 110, 140), -1)
    cv2.putText(image, "BRAND", (108, 140), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (240, 240, 240), 2)
    cv2.rectangle(image, (8, 8), (110, 46), (30, 30, 220), -1)
    cv2.putText(image, "SALE", (16, 38), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
    alpha = np.zeros((240, 320), np.float32)
    alpha[40:221, 90:231] = 1.0
    lines = [
        TextLine(
            box=[(106, 112), (206, 112), (206, 146), (106, 146)], text="BRAND", confidence=0.9
        ),
        TextLine(box=[(14, 14), (100, 14), (100, 42), (14, 42)], text="SALE 50%", confidence=0.9),
    ]
    return image, lines, alpha


def test_classify_over_the_wire_equals_in_process(served: tuple[ServiceServer, OcrClient]) -> None:
    image, lines, alpha = _badge_photo()
    for product_alpha in (alpha, None):
        remote = served[1].classify(image, lines, product_alpha)
        local = classify_lines(image, lines, product_alpha)
        assert len(remote) == 2
        for got, want in zip(remote, local, strict=True):
            assert got.kind == want.kind and got.uncertain == want.uncertain
            assert got.overlay_score == pytest.approx(want.overlay_score)
            assert got.cues == pytest.approx(want.cues)
    assert served[1].classify(image, [], alpha) == []


def test_classify_rejects_a_bad_line_or_alpha_with_its_code(
    served: tuple[ServiceServer, OcrClient],
) -> None:
    image, lines, alpha = _badge_photo()
    triangle = TextLine(box=[(1, 1), (9, 1), (9, 9)], text="x", confidence=0.5)
    with pytest.raises(BadInputError) as caught:
        served[1].classify(image, [*lines, triangle], alpha)
    assert caught.value.code == errors.BAD_TEXT_LINE
    with pytest.raises(BadInputError) as caught:
        served[1].classify(image, lines, alpha[:100])
    assert caught.value.code == errors.BAD_MASK

"""The OCR service over gRPC: ready only after the model loaded, same lines as in process,
bad input keeps its code. RapidOCR's models ship in its wheel: no download."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer, load_models
from globalpic_ocr.client import OcrClient
from globalpic_ocr.detector import RapidOcrDetector
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

"""The segmentation service over gRPC: Segment and Extract give the in-process numbers on
the tiny random-weight U²-Net-p (loaded through the production loader), errors keep codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer, load_models
from globalpic_segmentation.client import SegmentationClient
from globalpic_segmentation.extract import ExtractMode, Extractor
from globalpic_segmentation.server import HEALTH_NAME, registrar
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter


@pytest.fixture
def served(tiny_model: Path) -> Iterator[tuple[Extractor, SegmentationClient]]:
    segmenter = U2NetSegmenter(SegmentationSettings(model_path=tiny_model))
    extractor = Extractor(segmenter)
    server = ServiceServer(
        "segmentation",
        registrar(segmenter, extractor),
        port=0,
        host="127.0.0.1",
        health_services=[HEALTH_NAME],
    )
    server.start()
    client = SegmentationClient(f"127.0.0.1:{server.port}")
    try:
        assert client.health_status() == "NOT_SERVING"
        load_models(extractor)()
        server.set_serving()
        client.load()
        yield extractor, client
    finally:
        client.close()
        server.stop()


def _photo(size: int = 96) -> np.ndarray:
    """A bright box on a darker, slightly noisy table."""
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(90, 6, (size, size, 3)), 0, 255).astype(np.uint8)
    image[size // 4 : size * 3 // 4, size // 3 : size * 2 // 3] = (230, 225, 215)
    return image


def test_segment_equals_in_process(served: tuple[Extractor, SegmentationClient]) -> None:
    extractor, client = served
    image = _photo()
    remote = client.segment(image)
    assert remote.dtype == np.float32 and remote.shape == image.shape[:2]
    assert np.array_equal(remote, extractor.segmenter.segment(image))
    assert client.name == "u2netp"


@pytest.mark.parametrize("mode", [ExtractMode.SALIENT, ExtractMode.ALL])
def test_extract_equals_in_process(
    served: tuple[Extractor, SegmentationClient], mode: ExtractMode
) -> None:
    extractor, client = served
    image = _photo()
    local = extractor.extract(image, mode)
    remote = client.extract(image, mode)
    assert np.array_equal(remote.alpha, local.alpha)
    assert remote.boxes == local.boxes
    assert set(remote.seconds) == set(local.seconds)  # the same stages ran (times differ)


def test_extract_with_the_callers_coarse_alpha(
    served: tuple[Extractor, SegmentationClient],
) -> None:
    extractor, client = served
    image = _photo()
    coarse = np.zeros(image.shape[:2], np.float32)
    coarse[24:72, 32:64] = 1.0
    local = extractor.extract(image, ExtractMode.SALIENT, coarse=coarse)
    remote = client.extract(image, ExtractMode.SALIENT, coarse=coarse)
    assert np.array_equal(remote.alpha, local.alpha) and remote.boxes == local.boxes
    assert "segment" not in remote.seconds  # the server did not segment again


def test_bad_inputs_keep_their_codes(served: tuple[Extractor, SegmentationClient]) -> None:
    _, client = served
    image = _photo()
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: client.segment(image.astype(np.float32)), errors.UNSUPPORTED_FORMAT),
        (lambda: client.extract(image[:8, :8]), errors.IMAGE_TOO_SMALL),  # the domain's check
        (lambda: client.extract(image, "everything"), errors.BAD_OPTION),  # type: ignore[arg-type]
        (lambda: client.extract(image, coarse=np.zeros((5, 5), np.float32)), errors.BAD_MASK),
    ]
    for call, code in cases:
        with pytest.raises(BadInputError) as caught:
            call()
        assert caught.value.code == code

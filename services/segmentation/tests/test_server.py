"""The segmentation service over gRPC: Segment and Extract give the in-process numbers on
the tiny random-weight U²-Net-p (loaded through the production loader), EvaluateRules the
in-process rule results, errors keep codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from globalpic.segmentation.v1 import segmentation_pb2
from globalpic_clients.segmentation import SegmentationClient
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer, load_models
from globalpic_common.interfaces import RuleJudge
from globalpic_common.platforms import get_platform
from globalpic_common.results import ExtractMode
from globalpic_common.schemas import TextAction, TextKind, TextRegion
from globalpic_common.wire import image_to_proto, mask_to_proto
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.rules import evaluate_rules
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


# --- EvaluateRules: check's pixel rules over the wire ------------------------------------------


def _white_frame() -> tuple[np.ndarray, np.ndarray, list[TextRegion]]:
    """A dark disc with a pale part the mask misses, on white, and a few text lines."""
    image = np.full((300, 300, 3), 255, np.uint8)
    mask = np.zeros((300, 300), np.uint8)
    mask[40:160, 30:270] = 255
    image[mask > 0] = (150, 100, 60)
    image[161:260, 40:260] = 226  # joined to the masked part, not in the mask
    image[10:30, 10:60] = (200, 30, 30)  # a sticker in the corner
    texts = [
        TextRegion(
            box=[(12.0, 12.0), (58.5, 12.0), (58.5, 28.0), (12.0, 28.0)],
            text="包邮",
            confidence=0.91,
            kind=TextKind.OVERLAY,
            action=TextAction.KEPT,
            overlay_score=0.97,
            cues={"promo_words": 1.0, "repetition": 0.0},
        ),
        TextRegion(
            box=[(80, 90), (220, 90), (220, 120), (80, 120)],
            text="NET WT 500g",
            confidence=0.8,
            kind=TextKind.PRODUCT,
            action=TextAction.KEPT_UNCERTAIN,
            overlay_score=0.2,
        ),
    ]
    return image, mask, texts


@pytest.mark.parametrize("platform_id", ["amazon", "ebay", "tiktok", "shopify-product"])
def test_evaluate_rules_equals_in_process(
    served: tuple[Extractor, SegmentationClient], platform_id: str
) -> None:
    _, client = served
    image, mask, texts = _white_frame()
    platform = get_platform(platform_id)
    for given in (None, [], texts):
        for estimated in (False, True):
            want = evaluate_rules(image, mask, platform, given, estimated_mask=estimated)
            got = client.evaluate(image, mask, platform, given, estimated_mask=estimated)
            assert got == want
    assert isinstance(client, RuleJudge)


def test_evaluate_rules_rejects_bad_input_with_its_codes(
    served: tuple[Extractor, SegmentationClient],
) -> None:
    _, client = served
    image, mask, texts = _white_frame()
    amazon = get_platform("amazon")
    custom = amazon.model_copy(update={"min_fill": 0.5})
    bad_kind = [texts[0].model_copy(update={"kind": "sticker"})]
    bad_box = [texts[0].model_copy(update={"box": [(0.0, 0.0), (1.0, 1.0)]})]
    soft: Any = mask.astype(np.float32)  # a mask travels as uint8 only
    floats: Any = image.astype(np.float32)
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: client.evaluate(image, mask[:10], amazon), errors.BAD_MASK),
        (lambda: client.evaluate(image, soft, amazon), errors.BAD_MASK),
        (lambda: client.evaluate(floats, mask, amazon), errors.UNSUPPORTED_FORMAT),
        (lambda: client.evaluate(image, mask, custom), errors.BAD_OPTION),
        (lambda: client.evaluate(image, mask, amazon, bad_kind), errors.BAD_TEXT_LINE),
        (lambda: client.evaluate(image, mask, amazon, bad_box), errors.BAD_TEXT_LINE),
    ]
    for call, code in cases:
        with pytest.raises(BadInputError) as caught:
            call()
        assert caught.value.code == code, caught.value
    # The server's own checks, for a caller that is not this client.
    request = segmentation_pb2.EvaluateRulesRequest(
        image=image_to_proto(image), product_mask=mask_to_proto(mask), platform_id="wish"
    )
    with pytest.raises(BadInputError) as caught:
        client.call(client._stub.EvaluateRules, request)
    assert caught.value.code == errors.UNKNOWN_PLATFORM

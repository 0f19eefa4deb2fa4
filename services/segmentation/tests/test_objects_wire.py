"""The objects report and the text evidence cross the gRPC service unchanged: the client
sends clean's product-print and overlay lines, the server's extractor judges the objects on
them exactly as in process, and the reply lists every object with its score, cues and kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from globalpic_clients.segmentation import SegmentationClient
from globalpic_common.grpc_server import ServiceServer, load_models
from globalpic_common.results import ExtractMode
from globalpic_common.schemas import TextKind
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.extract_settings import ExtractSettings, RefineMethod
from globalpic_segmentation.server import HEALTH_NAME, registrar
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter
from services.segmentation.tests.test_objects import BADGE, poster, text


@pytest.fixture
def served(tiny_model: Path) -> Iterator[tuple[Extractor, SegmentationClient]]:
    segmenter = U2NetSegmenter(SegmentationSettings(model_path=tiny_model))
    settings = ExtractSettings(extract_refine=RefineMethod.NONE, extract_zoom=False)
    extractor = Extractor(segmenter, settings)
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
        load_models(extractor)()
        server.set_serving()
        client.load()
        yield extractor, client
    finally:
        client.close()
        server.stop()


@pytest.mark.parametrize("mode", [ExtractMode.SALIENT, ExtractMode.ALL])
def test_objects_and_text_evidence_cross_the_wire(
    served: tuple[Extractor, SegmentationClient], mode: ExtractMode
) -> None:
    extractor, client = served
    image, coarse, _ = poster()
    x0, _, x1, _ = BADGE
    texts = [
        text((x0 + 8, 70, x1 - 8, 100), TextKind.OVERLAY),
        text((x0 + 8, 115, x1 - 8, 145), TextKind.OVERLAY),
        text((50, 150, 80, 160), TextKind.PRODUCT),
        text((0, 0, 20, 10), TextKind.SCENE),  # neither: not sent
    ]
    local = extractor.extract(image, mode, coarse, texts)
    remote = client.extract(image, mode, coarse, texts)
    assert np.array_equal(remote.alpha, local.alpha)
    assert remote.boxes == local.boxes
    assert len(remote.objects) == len(local.objects) >= 5
    for r, loc in zip(remote.objects, local.objects, strict=True):
        assert r.box == loc.box and r.kept == loc.kept
        assert r.score == pytest.approx(loc.score)
        assert r.cues == pytest.approx(loc.cues)
    assert any(o.cues["print"] == 1.0 for o in remote.objects)
    assert any(o.cues["overlay"] > 0.5 and not o.kept for o in remote.objects)

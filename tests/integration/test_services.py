"""The pipeline across the three services over gRPC equals the pipeline in one process.

All three servers run in this process on free loopback ports (each its own gRPC server and
thread pool), with the tiny random-weight U²-Net-p loaded through the production loader and
RapidOCR's wheel-shipped models. The clients are handed to the unchanged ``Cleaner`` and
``Localizer``; every pixel, matte and text decision must come out identical.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

from globalpic_cli.embedded import (
    checker_from_settings,
    cleaner_from_settings,
    localizer_from_settings,
)
from globalpic_clients.generation import GenerationClient
from globalpic_clients.ocr import OcrClient
from globalpic_clients.segmentation import SegmentationClient
from globalpic_common import tracing
from globalpic_common.errors import ServiceUnavailableError
from globalpic_common.grpc_server import Register, ServiceServer, load_models
from globalpic_common.metrics import start_metrics_server
from globalpic_common.platforms import get_platform
from globalpic_common.schemas import Op
from globalpic_generation import server as generation_server
from globalpic_generation.registry import build_inpainter
from globalpic_generation.remix import Remixer
from globalpic_ocr import server as ocr_server
from globalpic_ocr.registry import build_detector
from globalpic_orchestrator.pipeline.backends import PipelineSettings
from globalpic_orchestrator.pipeline.clean import Cleaner
from globalpic_orchestrator.pipeline.frame import frame_for
from globalpic_orchestrator.pipeline.localize import LocalizeOptions
from globalpic_segmentation import server as segmentation_server
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter
from tests.conftest import add_badge, render_photo


@dataclass
class Cluster:
    ocr: ServiceServer
    segmentation: ServiceServer
    generation: ServiceServer

    def addrs(self) -> PipelineSettings:
        return PipelineSettings(
            ocr_addr=f"127.0.0.1:{self.ocr.port}",
            segmentation_addr=f"127.0.0.1:{self.segmentation.port}",
            generation_addr=f"127.0.0.1:{self.generation.port}",
        )


def _start(name: str, register: Register, health: str, *models: object) -> ServiceServer:
    server = ServiceServer(name, register, port=0, host="127.0.0.1", health_services=[health])
    server.start()
    load_models(*models)()
    server.set_serving()
    return server


@pytest.fixture(scope="module")
def cluster(tiny_u2net: Path) -> Iterator[Cluster]:
    detector = build_detector()
    segmenter = U2NetSegmenter(SegmentationSettings(model_path=tiny_u2net))
    extractor = Extractor(segmenter)
    inpainter, remixer = build_inpainter(), Remixer.from_settings()
    servers = Cluster(
        ocr=_start("ocr", ocr_server.registrar(detector), ocr_server.HEALTH_NAME, detector),
        segmentation=_start(
            "segmentation",
            segmentation_server.registrar(segmenter, extractor),
            segmentation_server.HEALTH_NAME,
            extractor,
        ),
        generation=_start(
            "generation",
            generation_server.registrar(inpainter, remixer),
            generation_server.HEALTH_NAME,
        ),
    )
    yield servers
    for server in (servers.ocr, servers.segmentation, servers.generation):
        server.stop()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return add_badge(render_photo(512), "包邮")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    tracing.setup_tracing("integration")
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
    yield exporter
    exporter.shutdown()


def _remote_cleaner(cluster: Cluster) -> Cleaner:
    addrs = cluster.addrs()
    assert addrs.ocr_addr and addrs.segmentation_addr and addrs.generation_addr
    ocr = OcrClient(addrs.ocr_addr)
    generation = GenerationClient(addrs.generation_addr)
    # Every model step over the wire: clean's decisions come from the OCR service, its erase
    # masks (every mask step) and fills from the generation service.
    return Cleaner(
        ocr,
        SegmentationClient(addrs.segmentation_addr),
        generation,
        classify=ocr.classify,
        masker=generation,
    )


@pytest.mark.usefixtures("tiny_models_env")
def test_clean_over_grpc_equals_clean_in_process(cluster: Cluster, photo: np.ndarray) -> None:
    remote = _remote_cleaner(cluster)
    remote.load()  # waits until the services report SERVING
    here = cleaner_from_settings()

    got, want = remote.clean(photo), here.clean(photo)

    assert any(r.action == "erased" for r in want.regions), "the badge should be erased"
    assert np.array_equal(got.image, want.image)
    assert np.array_equal(got.erase_mask, want.erase_mask)
    assert got.product_alpha is not None and want.product_alpha is not None
    assert np.array_equal(got.product_alpha, want.product_alpha)
    assert got.regions == want.regions
    assert got.residual_passes == want.residual_passes
    assert remote.inpainter.name == here.inpainter.name  # the report names the real backend


@pytest.mark.usefixtures("tiny_models_env")
def test_localize_over_grpc_equals_in_process(cluster: Cluster, photo: np.ndarray) -> None:
    remote = localizer_from_settings(cluster.addrs())
    here = localizer_from_settings(PipelineSettings())
    assert isinstance(remote.extractor, SegmentationClient)
    assert isinstance(here.extractor, Extractor)
    options = LocalizeOptions(
        ops=(Op.CLEAN, Op.EXTRACT, Op.REMIX), style="pastel-gradient", candidates=2, seed=1
    )
    remote.load(options.ops)

    got, want = remote.run(photo, options), here.run(photo, options)

    assert len(got.finals) == len(want.finals) == 2
    for a, b in zip(got.finals, want.finals, strict=True):
        assert np.array_equal(a, b)
    assert got.style == want.style == "pastel-gradient"
    assert got.texts == want.texts
    assert set(got.seconds) == set(want.seconds)


def test_trace_runs_from_the_caller_through_every_service(
    cluster: Cluster, photo: np.ndarray, spans: InMemorySpanExporter
) -> None:
    cleaner = _remote_cleaner(cluster)
    with tracing.tracer().start_as_current_span("job") as job:
        cleaner.clean(photo)
    trace_id = job.get_span_context().trace_id
    finished = [s for s in spans.get_finished_spans() if s.name.startswith("globalpic.")]
    served = {s.name for s in finished if s.kind == SpanKind.SERVER}
    assert {
        "globalpic.ocr.v1.OcrService/Detect",
        "globalpic.segmentation.v1.SegmentationService/Segment",
        "globalpic.generation.v1.GenerationService/EraseFirstPass",
        "globalpic.generation.v1.GenerationService/Inpaint",
        "globalpic.generation.v1.GenerationService/EraseFinish",
    } <= served
    assert all(s.context.trace_id == trace_id for s in finished)


def test_metrics_endpoint_shows_the_services_stages(cluster: Cluster, photo: np.ndarray) -> None:
    _remote_cleaner(cluster).clean(photo)
    metrics = start_metrics_server(0, addr="127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics.server_port}/metrics") as reply:
            body = reply.read().decode()
    finally:
        metrics.shutdown()
    samples = [
        sample
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name.endswith("_count")
    ]
    stages = {
        (s.labels["stage"], s.labels["backend"])
        for s in samples
        if s.name == "globalpic_stage_seconds_count" and s.value > 0
    }
    assert {("ocr", "rapidocr"), ("segment", "u2netp"), ("inpaint", "auto")} <= stages
    rpcs = {
        s.labels["method"]
        for s in samples
        if s.name == "globalpic_grpc_server_seconds_count" and s.labels["code"] == "OK"
    }
    assert "/globalpic.ocr.v1.OcrService/Detect" in rpcs


def test_a_service_that_is_down_is_unavailable_not_a_crash(cluster: Cluster) -> None:
    server = ServiceServer("ocr", ocr_server.registrar(build_detector()), port=0, host="127.0.0.1")
    server.start()
    client = OcrClient(f"127.0.0.1:{server.port}")
    server.stop()
    with pytest.raises(ServiceUnavailableError) as caught:
        client.detect(np.zeros((32, 32, 3), np.uint8))
    assert caught.value.code == "service_unavailable"
    client.ready_timeout_s = 0.3
    with pytest.raises(ServiceUnavailableError):
        client.load()


# --- resize's Fit (generation) and check's EvaluateRules (segmentation) over the wire --------


@pytest.mark.usefixtures("tiny_models_env")
@pytest.mark.parametrize(
    ("ops", "target"),
    [
        ((Op.EXTRACT, Op.RESIZE), "amazon"),  # a white frame: fit, white rule, then check
        ((Op.EXTRACT, Op.REMIX, Op.RESIZE), "amazon"),  # framed first, whitened after remix
        ((Op.RESIZE,), "instagram-story"),  # a tall frame: the photo extended
    ],
)
def test_resize_and_its_check_over_grpc_equal_in_process(
    cluster: Cluster, photo: np.ndarray, ops: tuple[Op, ...], target: str
) -> None:
    remote = localizer_from_settings(cluster.addrs())
    here = localizer_from_settings(PipelineSettings())
    assert isinstance(remote.framer, GenerationClient)
    style = "pastel-gradient" if Op.REMIX in ops else None
    options = LocalizeOptions(ops=ops, style=style, frame=frame_for(target, None))
    remote.load(ops)

    got, want = remote.run(photo, options), here.run(photo, options)

    assert len(got.finals) == len(want.finals) == 1
    assert np.array_equal(got.finals[0], want.finals[0])
    for a, b in ((got.final_alpha, want.final_alpha), (got.step_alpha, want.step_alpha)):
        if a is None or b is None:
            assert a is None and b is None
        else:
            assert np.array_equal(a, b)
    assert got.checks == want.checks
    assert want.checks  # a preset's rules were checked
    assert set(got.seconds) == set(want.seconds)


@pytest.mark.usefixtures("tiny_models_env")
def test_check_over_grpc_equals_in_process(cluster: Cluster, photo: np.ndarray) -> None:
    amazon = get_platform("amazon")
    remote = checker_from_settings(amazon, cluster.addrs())
    here = checker_from_settings(amazon, PipelineSettings())
    assert isinstance(remote.judge, SegmentationClient)
    remote.load()
    white = np.full_like(photo, 255)
    white[96:416, 128:384] = photo[96:416, 128:384]  # the photo's middle on a white frame
    for image in (photo, white):
        got, want = remote.inspect(image), here.inspect(image)
        assert got.rules == want.rules
        assert got.texts == want.texts
        assert got.product_alpha is not None and want.product_alpha is not None
        assert np.array_equal(got.product_alpha, want.product_alpha)

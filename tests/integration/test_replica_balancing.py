"""Two replicas of a service behind one address: the pipeline's clients spread their calls
over both, and a replica that dies mid-batch loses no image (issue 13).

Two OCR and two generation servers run in this process on free loopback ports, each with its
own models (RapidOCR's wheel-shipped weights; the classical fills), and the pipeline reaches
each pair through one ``ipv4:a,b`` address (``GrpcClient``: round robin, retries).
Segmentation runs in process on the tiny random-weight U²-Net-p. Each replica's handlers are
wrapped to count the RPCs that reach it, and a replica can be told to die (``stop`` with no
grace, the call in flight included) when its Nth RPC arrives: a count, not a sleep, so the
kill lands at the same point of the batch however busy the machine is.

The images are 320 x 320: each request carries 300 KiB of raw pixels, over gRPC's default
256 KiB retry buffer, so a lost call is retried only because the client raises that buffer.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import grpc
import numpy as np
import pytest

from globalpic.ocr.v1 import ocr_pb2, ocr_pb2_grpc
from globalpic_cli.embedded import cleaner_from_settings
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_client import (
    GRPC_DEFAULT_RETRY_BUFFER_BYTES,
    GrpcClient,
    channel_target,
    make_channel,
)
from globalpic_common.grpc_errors import error_from_rpc
from globalpic_common.grpc_server import Register, ServiceServer, load_models
from globalpic_common.interfaces import ImageArray
from globalpic_generation import server as generation_server
from globalpic_generation.registry import build_inpainter
from globalpic_generation.remix import Remixer
from globalpic_ocr import server as ocr_server
from globalpic_ocr.registry import build_detector
from globalpic_orchestrator.pipeline.backends import PipelineSettings
from globalpic_orchestrator.pipeline.clean import CleanResult
from tests.conftest import add_badge, render_photo

BATCH = 10
SIDE = 320
MIN_SHARE = 0.30  # issue 13: each replica serves at least 30 % of its service's RPCs
BADGES = ("包邮", "新品", "热卖", "特价", "正品")

Handler = Callable[[Any, grpc.ServicerContext], Any]


class Replica:
    """One server of a pair: the RPCs that reached it, by method, and an optional death."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: Counter[str] = Counter()
        self.kill_at: int | None = None  # die when this many RPCs have reached it
        self.server: ServiceServer | None = None
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    @property
    def killed(self) -> bool:
        return self.kill_at is not None and self.total >= self.kill_at

    def start(self, register: Register, health: str, *models: object) -> None:
        self.server = ServiceServer(
            self.name,
            self._counting(register),
            port=0,
            host="127.0.0.1",
            health_services=[health],
        )
        self.server.start()
        load_models(*models)()
        self.server.set_serving()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def addr(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.port}"

    def counted(self, method: str, inner: Handler) -> Handler:
        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            with self._lock:
                self.calls[method] += 1
                dies = sum(self.calls.values()) == self.kill_at
            if dies:
                # The replica dies with this call in flight: the server cancels every call
                # (the client sees UNAVAILABLE) and refuses new ones; what this handler
                # returns below is never sent.
                assert self.server is not None
                self.server.stop(grace_s=0.0)
            return inner(request, context)

        return handle

    def wrap(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> Any:
        if handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self.counted(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _counting(self, register: Register) -> Register:
        def counting_register(server: grpc.Server) -> None:
            register(cast(grpc.Server, _CountingServer(server, self)))

        return counting_register


class _CountingHandler(grpc.GenericRpcHandler):  # type: ignore[misc,type-arg]
    def __init__(self, inner: grpc.GenericRpcHandler[Any, Any], replica: Replica) -> None:
        self._inner = inner
        self._replica = replica

    def service(self, details: grpc.HandlerCallDetails) -> Any:
        handler = self._inner.service(details)
        return None if handler is None else self._replica.wrap(details.method, handler)


class _CountingServer:
    """What a servicer's generated ``add_*_to_server`` sees: the real server, with each unary
    handler it adds (generic and registered alike) counted by the replica."""

    def __init__(self, server: grpc.Server, replica: Replica) -> None:
        self._server = server
        self._replica = replica

    def add_generic_rpc_handlers(
        self, handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]
    ) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(_CountingHandler(handler, self._replica) for handler in handlers)
        )

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        wrapped = {
            name: self._replica.wrap(f"/{service}/{name}", handler)
            for name, handler in handlers.items()
        }
        self._server.add_registered_method_handlers(service, wrapped)  # type: ignore[attr-defined]


@dataclass
class Pair:
    """Two replicas of one service behind one address."""

    service: str
    replicas: tuple[Replica, Replica]

    @property
    def addr(self) -> str:
        return "ipv4:" + ",".join(replica.addr for replica in self.replicas)

    def totals(self) -> tuple[int, ...]:
        return tuple(replica.total for replica in self.replicas)

    def shares(self) -> str:
        totals = self.totals()
        return ", ".join(
            f"{replica.name} {count}/{sum(totals)} = {count / sum(totals):.0%}"
            for replica, count in zip(self.replicas, totals, strict=True)
        )


def _ocr_pair() -> Pair:
    replicas = (Replica("ocr-0"), Replica("ocr-1"))
    for replica in replicas:
        detector = build_detector()  # each replica its own model, as each pod has
        replica.start(ocr_server.registrar(detector), ocr_server.HEALTH_NAME, detector)
    return Pair("ocr", replicas)


def _generation_pair() -> Pair:
    replicas = (Replica("generation-0"), Replica("generation-1"))
    for replica in replicas:
        register = generation_server.registrar(build_inpainter(), Remixer.from_settings())
        replica.start(register, generation_server.HEALTH_NAME)
    return Pair("generation", replicas)


@pytest.fixture
def pairs(tiny_models_env: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Pair, Pair]]:
    """Two OCR and two generation replicas, fresh for each test (a test may kill some)."""
    # RapidOCR's colour pass only, one thread per replica: this test is about where the calls
    # go, and four replicas share the machine's cores.
    monkeypatch.setenv("GLOBALPIC_OCR__FAINT_VIEWS", "[]")
    monkeypatch.setenv("GLOBALPIC_OCR__TILE_SEARCH", "false")
    monkeypatch.setenv("GLOBALPIC_OCR__THREADS", "1")
    ocr, generation = _ocr_pair(), _generation_pair()
    yield ocr, generation
    for replica in (*ocr.replicas, *generation.replicas):
        replica.stop()


@pytest.fixture(scope="module")
def photos() -> list[ImageArray]:
    """Ten different product photos, each with a promo badge for clean to erase."""
    return [
        add_badge(render_photo(SIDE, seed=i), BADGES[i % len(BADGES)], xy=(20 + 8 * i, 24))
        for i in range(BATCH)
    ]


def _clean_batch(ocr: Pair, generation: Pair, photos: list[ImageArray]) -> list[CleanResult]:
    """The batch as the pipeline runs it: one image after the other, OCR and generation
    reached through one address each, as ``GLOBALPIC_PIPELINE__*_ADDR`` would give them."""
    settings = PipelineSettings(ocr_addr=ocr.addr, generation_addr=generation.addr)
    cleaner = cleaner_from_settings(settings)
    try:
        cleaner.load()  # waits until the services answer SERVING
        return [cleaner.clean(photo) for photo in photos]
    finally:
        for part in (cleaner.detector, cleaner.inpainter):
            if isinstance(part, GrpcClient):
                part.close()


def _assert_same(got: list[CleanResult], want: list[CleanResult]) -> None:
    assert len(got) == len(want) == BATCH
    for index, (a, b) in enumerate(zip(got, want, strict=True)):
        assert np.array_equal(a.image, b.image), f"image {index}"
        assert np.array_equal(a.erase_mask, b.erase_mask), f"image {index}"
        assert a.product_alpha is not None and b.product_alpha is not None
        assert np.array_equal(a.product_alpha, b.product_alpha), f"image {index}"
        assert a.regions == b.regions, f"image {index}"
        assert a.residual_passes == b.residual_passes, f"image {index}"


def test_each_replica_serves_its_share_of_the_batch(
    pairs: tuple[Pair, Pair], photos: list[ImageArray]
) -> None:
    ocr, generation = pairs
    results = _clean_batch(ocr, generation, photos)

    assert any(r.action == "erased" for result in results for r in result.regions)
    for pair in pairs:
        print(f"\n{pair.service} shares: {pair.shares()}")
        totals = pair.totals()
        assert sum(totals) >= 2 * BATCH  # every image reached the service, more than once
        for replica, count in zip(pair.replicas, totals, strict=True):
            assert count >= MIN_SHARE * sum(totals), f"{replica.name}: {pair.shares()}"


def test_killing_a_replica_mid_batch_loses_no_image(
    pairs: tuple[Pair, Pair], photos: list[ImageArray]
) -> None:
    assert SIDE * SIDE * 3 > GRPC_DEFAULT_RETRY_BUFFER_BYTES  # see the module docstring
    ocr, generation = pairs
    want = _clean_batch(ocr, generation, photos)  # no failure: the reference
    before = {pair.service: pair.totals() for pair in pairs}
    # In the second batch replica 0 of each service dies when its RPC count reaches half of
    # what it served in the whole first batch: about a quarter of the way through.
    for pair in pairs:
        victim = pair.replicas[0]
        victim.kill_at = victim.total + max(1, before[pair.service][0] // 2)

    got = _clean_batch(ocr, generation, photos)

    _assert_same(got, want)
    for pair in pairs:
        victim, survivor = pair.replicas
        first = sum(before[pair.service])
        second = (
            victim.total - before[pair.service][0],
            survivor.total - before[pair.service][1],
        )
        print(
            f"\n{pair.service}: first batch {first} RPCs {before[pair.service]}, "
            f"second {sum(second)} RPCs {second}, {victim.name} killed at its RPC "
            f"{victim.kill_at}"
        )
        assert victim.killed and victim.total == victim.kill_at  # none reached it after
        # The same calls as the first batch, plus exactly one: the one lost with the victim,
        # retried on the survivor.
        assert sum(second) == first + 1, pair.shares()


def test_bad_input_is_answered_once_never_retried(pairs: tuple[Pair, Pair]) -> None:
    ocr, _ = pairs
    # The bare list form ("a:port,b:port", no "ipv4:"), as a setting may give it.
    channel = make_channel(",".join(replica.addr for replica in ocr.replicas))
    stub = ocr_pb2_grpc.OcrServiceStub(channel)
    try:
        for _ in range(4):  # spread over both replicas
            with pytest.raises(grpc.RpcError) as caught:
                stub.Detect(ocr_pb2.DetectRequest(), timeout=30)  # no image
            error = error_from_rpc(caught.value, "ocr")
            assert isinstance(error, BadInputError) and error.code == "unsupported_format"
    finally:
        channel.close()
    assert sum(ocr.totals()) == 4  # four calls, four RPCs: INVALID_ARGUMENT is final


@pytest.mark.parametrize(
    ("addr", "target"),
    [
        ("ocr:50051", "ocr:50051"),  # DNS: every address of the name
        ("dns:///ocr.globalpic.svc:50051", "dns:///ocr.globalpic.svc:50051"),
        ("ipv4:10.0.0.1:50051,10.0.0.2:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051"),
        ("10.0.0.1:50051, 10.0.0.2:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051"),
        ("[fd00::1]:50051,[fd00::2]:50051", "ipv6:[fd00::1]:50051,[fd00::2]:50051"),
    ],
)
def test_an_address_names_one_or_several_replicas(addr: str, target: str) -> None:
    assert channel_target(addr) == target


@pytest.mark.parametrize("addr", ["ocr-0:50051,ocr-1:50051", "10.0.0.1:50051,[fd00::2]:50051"])
def test_a_list_of_host_names_is_refused(addr: str) -> None:
    with pytest.raises(ValueError, match="list of addresses"):
        channel_target(addr)

"""The copywriting service over gRPC: ready after load, same report as in process, bad input
keeps its code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from globalpic_clients.copywriting import CopywritingClient
from globalpic_common import errors
from globalpic_common.copy_facts import CopyFacts, parse_seller_facts
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer, load_models
from globalpic_common.interfaces import Copywriter
from globalpic_copywriting.offline import OfflineCopywriter
from globalpic_copywriting.registry import build_copywriter
from globalpic_copywriting.server import HEALTH_NAME, registrar
from globalpic_copywriting.settings import CopywritingSettings

FACTS = CopyFacts(
    keywords=["tee"],
    seller=parse_seller_facts("size=M"),
    ocr_lines=["纯棉T恤"],
    colors=["navy"],
)


@pytest.fixture(scope="module")
def writer() -> OfflineCopywriter:
    return OfflineCopywriter()


@pytest.fixture(scope="module")
def client(writer: OfflineCopywriter) -> Iterator[CopywritingClient]:
    server = ServiceServer(
        "copywriting", registrar(writer), port=0, host="127.0.0.1", health_services=[HEALTH_NAME]
    )
    server.start()
    remote = CopywritingClient(f"127.0.0.1:{server.port}")
    try:
        assert remote.health_status() == "NOT_SERVING"
        load_models(writer)()
        server.set_serving()
        remote.load()
        yield remote
    finally:
        remote.close()
        server.stop()


def test_round_trip_equals_in_process(client: CopywritingClient, writer: OfflineCopywriter) -> None:
    assert isinstance(client, Copywriter)
    remote = client.write(FACTS, "amazon")
    local = writer.write(FACTS, "amazon")
    assert remote.model_dump(exclude={"seconds"}) == local.model_dump(exclude={"seconds"})
    assert remote.passed and client.name == "offline"
    assert client.write(FACTS, "shopify-product", n=2).platform == "shopify"


def test_unknown_platform_keeps_its_code(client: CopywritingClient) -> None:
    with pytest.raises(BadInputError) as caught:
        client.write(FACTS, "myspace")
    assert caught.value.code == errors.UNKNOWN_PLATFORM


def test_too_many_variants_is_bad_option(client: CopywritingClient) -> None:
    with pytest.raises(BadInputError) as caught:
        client.write(FACTS, "ebay", n=50)
    assert caught.value.code == errors.BAD_OPTION


def test_build_copywriter_follows_settings() -> None:
    assert build_copywriter(CopywritingSettings()).name == "offline"
    openai = build_copywriter(CopywritingSettings(backend="openai", api_key="k", model="m"))
    assert openai.name == "openai:m"

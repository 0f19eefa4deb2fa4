"""The OpenAI backend against a local server speaking the chat completions wire protocol:
success, malformed JSON, 429, 500, timeouts, and a model that breaks the rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from globalpic_common import errors
from globalpic_common.copy_facts import CopyFacts
from globalpic_common.errors import ServiceUnavailableError
from globalpic_copywriting.offline import OfflineCopywriter
from globalpic_copywriting.openai_backend import OpenAICopywriter
from globalpic_copywriting.settings import CopywritingSettings
from tests.support.fake_openai import FakeOpenAIServer, Reply

FACTS = CopyFacts(
    keywords=["water bottle"], ocr_lines=["农夫山泉", "天然水 550ml"], colors=["white"]
)


@pytest.fixture(scope="module")
def offline() -> OfflineCopywriter:
    writer = OfflineCopywriter()
    writer.load()
    return writer


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def _writer(
    server: FakeOpenAIServer, offline: OfflineCopywriter, **settings: Any
) -> OpenAICopywriter:
    values: dict[str, Any] = {
        "backend": "openai",
        "api_key": "test-key",
        "base_url": server.base_url,
        "max_retries": 2,
        "timeout_s": 5.0,
        **settings,
    }
    return OpenAICopywriter(CopywritingSettings(**values), offline)


def test_success_is_one_request_with_structured_output(
    server: FakeOpenAIServer, offline: OfflineCopywriter
) -> None:
    report = _writer(server, offline).write(FACTS, "amazon")
    assert report.passed and report.fallback is None and report.repaired == 0
    assert report.backend == "openai:gpt-4o-mini" and len(report.variants) == 5
    (request,) = server.completions()  # exactly one request for the image
    body = request.body
    assert request.headers["authorization"] == "Bearer test-key"
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] <= 800
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    variant_schema = fmt["json_schema"]["schema"]["properties"]["variants"]["items"]
    assert set(variant_schema["required"]) == {
        "title", "bullets", "description", "search_terms", "explanation_zh"
    }  # fmt: skip
    # the photo's Chinese and the dictionary's English both reach the model
    user = json.loads(body["messages"][1]["content"])
    assert user["facts"]["ocr_lines"] == ["农夫山泉", "天然水 550ml"]
    assert "Brand: Nongfu Spring" in user["dictionary_facts_en"]
    usage = report.usage
    assert usage.requests == 1 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert any(f.startswith("From the photo (model):") for f in report.facts_en)


def test_json_object_mode_for_endpoints_without_schemas(
    server: FakeOpenAIServer, offline: OfflineCopywriter
) -> None:
    report = _writer(server, offline, response_format="json_object").write(FACTS, "tiktok")
    assert report.passed and report.fallback is None
    assert server.completions()[0].body["response_format"] == {"type": "json_object"}


def test_malformed_json_is_asked_again_once(
    server: FakeOpenAIServer, offline: OfflineCopywriter
) -> None:
    server.script.append(Reply("text", content='{"variants": [{"title": "unterminated'))
    report = _writer(server, offline).write(FACTS, "ebay")
    assert report.passed and report.fallback is None and report.backend.startswith("openai:")
    assert len(server.completions()) == 2 and report.usage.requests == 2


def test_malformed_twice_falls_back_to_offline(
    server: FakeOpenAIServer, offline: OfflineCopywriter
) -> None:
    server.script.extend([Reply("text", content="not json"), Reply("truncated", content="{")])
    report = _writer(server, offline).write(FACTS, "ebay")
    assert report.passed and report.backend == "offline"
    assert report.fallback is not None and "malformed" in report.fallback
    assert len(server.completions()) == 2 and report.usage.requests == 2


def test_wrong_shape_counts_as_malformed(
    server: FakeOpenAIServer, offline: OfflineCopywriter
) -> None:
    server.script.extend([Reply("text", content='{"variants": []}')] * 2)
    with pytest.raises(ServiceUnavailableError) as caught:
        _writer(server, offline, fallback="error").write(FACTS, "ebay")
    assert caught.value.code == errors.COPY_BACKEND_ERROR


def test_429_is_retried_with_backoff_then_succeeds(
    server: FakeOpenAIServer, offline: OfflineCopywriter
) -> None:
    server.script.append(Reply("status", status=429, retry_after_ms=20))
    report = _writer(server, offline).write(FACTS, "instagram")
    assert report.passed and report.fallback is None
    requests = server.completions()
    assert len(requests) == 2 and report.usage.requests == 2
    assert [r.headers["x-stainless-retry-count"] for r in requests] == ["0", "1"]


def test_500_after_every_retry_falls_back_or_fails(
    server: FakeOpenAIServer, offline: OfflineCopywriter
) -> None:
    server.default = Reply("status", status=500, retry_after_ms=10)
    report = _writer(server, offline, max_retries=1).write(FACTS, "facebook")
    assert report.passed and report.backend == "offline"
    assert report.fallback is not None and "HTTP 500" in report.fallback
    assert len(server.completions()) == 2 and report.usage.requests == 2
    with pytest.raises(ServiceUnavailableError) as caught:
        _writer(server, offline, max_retries=0, fallback="error").write(FACTS, "facebook")
    assert caught.value.code == errors.COPY_BACKEND_ERROR and "HTTP 500" in caught.value.message


def test_timeout_is_retried_then_reported(
    server: FakeOpenAIServer, offline: OfflineCopywriter
) -> None:
    server.default = Reply(delay_s=3.0)
    report = _writer(server, offline, timeout_s=0.3, max_retries=1).write(FACTS, "shopify")
    assert report.passed and report.backend == "offline"
    assert report.fallback is not None and "no answer within 0.3 s" in report.fallback
    assert len(server.completions()) == 2


def test_unreachable_endpoint(offline: OfflineCopywriter) -> None:
    with FakeOpenAIServer() as gone:
        url = gone.base_url
    settings = CopywritingSettings(
        backend="openai", api_key="k", base_url=url, max_retries=0, fallback="error"
    )
    with pytest.raises(ServiceUnavailableError) as caught:
        OpenAICopywriter(settings, offline).write(FACTS, "ebay")
    assert caught.value.code == errors.COPY_BACKEND_ERROR


def _broken_answer(_: dict[str, Any]) -> str:
    """A model that breaks rules: promo and an invented number, one variant short, a title
    repeated, hashtags malformed."""
    good = {"caption": "Meet Nongfu Spring natural water.", "explanation_zh": "方案A：突出品牌。"}
    variants = [
        {**good, "hashtags": ["#NaturalWater", "#Refreshment", "#Picnic"]},
        {**good, "caption": "Free shipping on natural water, 1000ml bottles!",
         "hashtags": ["#Water"] * 3},
        {**good, "caption": "Meet Nongfu Spring natural water.", "hashtags": ["Water", "Spring"]},
        {"caption": "Cold natural water for long picnics and road trips.",
         "hashtags": ["#Picnic", "#RoadTrip", "#StayHydrated", "#Water"], "explanation_zh": ""},
    ]  # fmt: skip
    return json.dumps({"facts_en": ["Brand: Nongfu Spring"], "variants": variants})


def test_rule_breaking_answer_is_repaired_to_pass(offline: OfflineCopywriter) -> None:
    with FakeOpenAIServer(_broken_answer) as fake:
        report = _writer(fake, offline).write(FACTS, "tiktok")
        assert len(fake.completions()) == 1  # repaired, not asked again
    assert report.passed and report.fallback is None and report.repaired > 0
    assert len(report.variants) == 5
    assert report.variants[0].caption == "Meet Nongfu Spring natural water."  # kept
    text = " ".join(v.caption for v in report.variants).lower()
    assert "free shipping" not in text and "1000" not in text


def test_openai_backend_needs_a_key() -> None:
    with pytest.raises(ValueError, match="API_KEY is required"):
        CopywritingSettings(backend="openai")

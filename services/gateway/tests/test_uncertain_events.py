"""The SSE ``done`` event of a completed image lists the text lines clean kept on doubt
(``kept_uncertain``) with their cues, so the web app can offer a one-click erase as soon as the
image is done (the job view's report lists them as well: ``test_read_path``)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, cast

from nats.js import JetStreamContext
from sqlalchemy.engine import Engine

from globalpic_jobs.events import ImageProgress
from globalpic_jobs.models import ImageState, JobImage
from globalpic_jobs.publisher import JobEvents, uncertain_texts
from globalpic_jobs.queue import Subjects

UNSURE = {
    "box": [[40.0, 200.0], [90.0, 200.0], [90.0, 220.0], [40.0, 220.0]],
    "text": "珍藏神沙",
    "confidence": 0.9,
    "kind": "product",
    "action": "kept_uncertain",
    "overlay_score": 0.61,
    "cues": {"crispness": 0.8, "unit_repeat": 1.0},
}
ERASED = {**UNSURE, "text": "包邮", "kind": "overlay", "action": "erased", "overlay_score": 0.98}
REPORT: dict[str, Any] = {"input": "0.jpg", "texts": [ERASED, UNSURE]}


@dataclass
class _Ack:
    seq: int


@dataclass
class _Stream:
    """Records what would go to JetStream."""

    published: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> _Ack:
        self.published.append((subject, payload, headers))
        return _Ack(len(self.published))


def _image() -> JobImage:
    return JobImage(
        job_id="j1", tenant_id="acme", index=0, filename="0.jpg", input_sha256="0" * 64,
        original_key="k", content_type="image/jpeg", width=512, height=512,
    )  # fmt: skip


def test_uncertain_texts_of_a_report() -> None:
    assert [t.text for t in uncertain_texts(REPORT)] == ["珍藏神沙"]
    assert uncertain_texts(None) == [] and uncertain_texts({"input": "x"}) == []


def test_the_done_event_carries_the_uncertain_lines() -> None:
    stream = _Stream()
    events = JobEvents(cast(JetStreamContext, stream), Subjects("w", "ev", "d"), cast(Engine, None))
    asyncio.run(events.image_finished(_image(), ImageState.COMPLETED, None, REPORT))
    asyncio.run(events.image_finished(_image(), ImageState.COMPLETED, None))  # a re-publish
    first, again = (json.loads(payload) for _, payload, _ in stream.published)
    assert first["stage"] == "done"
    assert [(t["text"], t["action"]) for t in first["uncertain_texts"]] == [
        ("珍藏神沙", "kept_uncertain")
    ]
    assert first["uncertain_texts"][0]["cues"]["unit_repeat"] == 1.0
    assert again["uncertain_texts"] == []
    ImageProgress.model_validate(first)  # the documented SSE payload

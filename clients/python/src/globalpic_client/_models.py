"""The API's JSON as typed dataclasses, mirroring the gateway's response models (``JobOut`` and
what it holds). Unknown members are ignored, so a newer server does not break an older
client; a test compares these fields with the gateway's OpenAPI document.

An image's ``report`` (texts with boxes and cues, copy, stage seconds...) stays the JSON object
the API sends (``dict``): it is large, and most callers read a few keys of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

JobStatus = Literal["queued", "running", "completed", "failed"]
ImageState = Literal["queued", "running", "completed", "failed"]
FINISHED = ("completed", "failed")


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _opt_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


@dataclass(frozen=True, kw_only=True)
class ErrorInfo:
    """Why an image failed: a stable ``code`` and words."""

    code: str
    message: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErrorInfo:
        return cls(code=str(data["code"]), message=str(data.get("message", "")))


@dataclass(frozen=True, kw_only=True)
class RuleResult:
    """One marketplace rule checked on a result."""

    rule: str
    passed: bool
    message: str
    measured: float | None = None
    required: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleResult:
        return cls(
            rule=data["rule"],
            passed=bool(data["passed"]),
            message=data.get("message", ""),
            measured=data.get("measured"),
            required=data.get("required"),
        )


@dataclass(frozen=True, kw_only=True)
class Output:
    """One result image of an image: ``candidate`` is 1-based, ``url`` its download path.

    ``signed_url``: an absolute URL that downloads it without credentials until
    ``signed_url_expires_at`` (set by ``get_job`` only; None where the server did not sign).
    """

    candidate: int
    url: str
    content_type: str
    signed_url: str | None = None
    signed_url_expires_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Output:
        return cls(
            candidate=int(data["candidate"]),
            url=data["url"],
            content_type=data["content_type"],
            signed_url=data.get("signed_url"),
            signed_url_expires_at=_opt_time(data.get("signed_url_expires_at")),
        )


@dataclass(frozen=True, kw_only=True)
class Adjustment:
    """Fine-tuning values of an ``adjust`` re-run (``candidate`` 0-based)."""

    candidate: int = 0
    brightness: float = 0.0
    saturation: float = 0.0
    detail: float = 0.0
    strength: float = 1.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Adjustment:
        return cls(
            candidate=int(data.get("candidate", 0)),
            brightness=float(data.get("brightness", 0.0)),
            saturation=float(data.get("saturation", 0.0)),
            detail=float(data.get("detail", 0.0)),
            strength=float(data.get("strength", 1.0)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "brightness": self.brightness,
            "saturation": self.saturation,
            "detail": self.detail,
            "strength": self.strength,
        }


@dataclass(frozen=True, kw_only=True)
class JobOptions:
    """What a job runs: ops in the order they run, style, platform, candidates, copy inputs."""

    ops: list[str]
    style: str | None
    platform: str | None
    candidates: int
    keywords: list[str] = field(default_factory=list)
    facts: str = ""
    copy_platforms: list[str] = field(default_factory=list)
    background: bool = False
    adjust: Adjustment | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobOptions:
        adjust = data.get("adjust")
        return cls(
            ops=list(data["ops"]),
            style=data.get("style"),
            platform=data.get("platform"),
            candidates=int(data["candidates"]),
            keywords=list(data.get("keywords") or []),
            facts=data.get("facts") or "",
            copy_platforms=list(data.get("copy_platforms") or []),
            background=bool(data.get("background", False)),
            adjust=Adjustment.from_json(adjust) if adjust is not None else None,
        )


@dataclass(frozen=True, kw_only=True)
class JobLinks:
    self: str
    events: str
    results_zip: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobLinks:
        return cls(self=data["self"], events=data["events"], results_zip=data["results_zip"])


@dataclass(frozen=True, kw_only=True)
class RerunOf:
    """The job and (0-based) image a re-run was made from."""

    job_id: str
    image: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RerunOf:
        return cls(job_id=data["job_id"], image=int(data["image"]))


@dataclass(frozen=True, kw_only=True)
class JobImage:
    """One image of a job: its state, progress, results (``outputs``), checks and report."""

    index: int
    filename: str
    state: ImageState
    stage: str | None
    percent: int
    cached: bool
    attempts: int
    width: int
    height: int
    outputs: list[Output]
    checks: list[RuleResult]
    report: dict[str, Any] | None
    error: ErrorInfo | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobImage:
        error = data.get("error")
        return cls(
            index=int(data["index"]),
            filename=data["filename"],
            state=data["state"],
            stage=data.get("stage"),
            percent=int(data.get("percent", 0)),
            cached=bool(data.get("cached", False)),
            attempts=int(data.get("attempts", 0)),
            width=int(data["width"]),
            height=int(data["height"]),
            outputs=[Output.from_json(o) for o in data.get("outputs") or []],
            checks=[RuleResult.from_json(c) for c in data.get("checks") or []],
            report=data.get("report"),
            error=ErrorInfo.from_json(error) if error is not None else None,
        )


@dataclass(frozen=True, kw_only=True)
class JobSummary:
    """A job as ``GET /v1/jobs`` lists it (no images)."""

    id: str
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    options: JobOptions
    image_count: int
    counts: dict[str, int]
    links: JobLinks
    rerun_of: RerunOf | None = None

    @property
    def finished(self) -> bool:
        """Completed or failed: nothing more will happen to it."""
        return self.status in FINISHED

    @staticmethod
    def _common(data: Mapping[str, Any]) -> dict[str, Any]:
        rerun_of = data.get("rerun_of")
        return {
            "id": data["id"],
            "status": data["status"],
            "created_at": _time(data["created_at"]),
            "updated_at": _time(data["updated_at"]),
            "finished_at": _opt_time(data.get("finished_at")),
            "options": JobOptions.from_json(data["options"]),
            "image_count": int(data["image_count"]),
            "counts": {str(k): int(v) for k, v in (data.get("counts") or {}).items()},
            "links": JobLinks.from_json(data["links"]),
            "rerun_of": RerunOf.from_json(rerun_of) if rerun_of is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSummary:
        return cls(**cls._common(data))


@dataclass(frozen=True, kw_only=True)
class Job(JobSummary):
    """A job with its images (``GET /v1/jobs/{id}``, the answer of a submission)."""

    images: list[JobImage]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        images = [JobImage.from_json(image) for image in data.get("images") or []]
        return cls(**cls._common(data), images=images)


@dataclass(frozen=True, kw_only=True)
class JobPage:
    """One page of ``GET /v1/jobs``: newest first; ``next_cursor`` (when the server pages by
    cursor) fetches the next one."""

    items: list[JobSummary]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobPage:
        return cls(
            items=[JobSummary.from_json(item) for item in data.get("items") or []],
            total=int(data["total"]),
            limit=int(data["limit"]),
            offset=int(data.get("offset", 0)),
            next_cursor=data.get("next_cursor"),
        )


@dataclass(frozen=True, kw_only=True)
class Event:
    """One Server-Sent Event of a job's stream: ``event`` is ``progress`` or ``completed``,
    ``data`` its JSON text, ``id`` the stream sequence (what a resume sends back)."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """``data`` parsed: ``ImageProgress`` or ``JobCompleted`` of the API's OpenAPI."""
        return json.loads(self.data)

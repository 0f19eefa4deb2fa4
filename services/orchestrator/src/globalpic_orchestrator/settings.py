"""Orchestrator settings: ``GLOBALPIC_ORCHESTRATOR__<FIELD>`` environment variables.

The job queue's (database, NATS, streams, storage) are ``JobQueueSettings``, shared with the
gateway and read under this prefix too; the model services are found with
``GLOBALPIC_PIPELINE__<SERVICE>_ADDR``. Image limits are ``GLOBALPIC_INPUT__*``, as for the CLI
and the API's uploads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator

from globalpic_common.imageio import ImageLimits, InputLimitsSettings
from globalpic_common.settings import current_environment, settings_config
from globalpic_jobs.settings import JobQueueSettings

FailpointPoint = Literal["after_store"]
FailpointAction = Literal["kill", "pause"]
FAILPOINT_POINTS: tuple[FailpointPoint, ...] = ("after_store",)
FAILPOINT_ACTIONS: tuple[FailpointAction, ...] = ("kill", "pause")


@dataclass(frozen=True)
class Failpoint:
    """A runner failpoint (``GLOBALPIC_ORCHESTRATOR__FAILPOINT``): for tests and the fault
    bench only, refused outside development.

    Syntax ``<point>:<action>[:<count>]``. The one point, ``after_store``, is in the runner
    right after an image's result is stored and its row committed, before its events and its
    ack: the window where a crash must lead to a redelivery that records nothing twice.

    * ``kill``: the runner process SIGKILLs itself there (no events, no ack, no clean-up);
    * ``pause``: the runner asks ``failpoint_subject()`` over NATS (a request carrying the job,
      image, attempt and pid) and waits there for the answer, so a test can act inside the
      window (crash the runner, look at the database) and then let it go on. Nobody
      listening: it goes on at once; nobody answering: after ``FAILPOINT_PAUSE_LIMIT_SECONDS``.
    * ``count``: fire on the first ``count`` hits of this runner only, then pass through
      (default: every hit).
    """

    point: FailpointPoint
    action: FailpointAction
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> Failpoint:
        parts = text.strip().split(":")
        syntax = "<point>:<kill|pause>[:<count>]"
        if len(parts) not in (2, 3):
            raise ValueError(f"failpoint {text!r}: expected {syntax}")
        point, action = parts[0], parts[1]
        if point not in FAILPOINT_POINTS:
            raise ValueError(f"failpoint {text!r}: unknown point {point!r} ({FAILPOINT_POINTS})")
        if action not in FAILPOINT_ACTIONS:
            raise ValueError(f"failpoint {text!r}: unknown action {action!r} ({syntax})")
        count = None
        if len(parts) == 3:
            if not parts[2].isdecimal() or int(parts[2]) < 1:
                raise ValueError(f"failpoint {text!r}: the count must be a positive integer")
            count = int(parts[2])
        return cls(point, action, count)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.point}:{self.action}" + ("" if self.count is None else f":{self.count}")


def failpoint_subject(runner_durable: str, point: str) -> str:
    """The NATS subject a ``pause`` failpoint asks on (outside every stream's subjects); the
    durable name tells apart deployments (and test harnesses) sharing one NATS."""
    return f"globalpic.failpoint.{runner_durable}.{point}"


class OrchestratorSettings(JobQueueSettings):
    model_config = settings_config("orchestrator")

    host: str = Field("127.0.0.1", description="Where the /metrics server listens")
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Serve the orchestrator's /metrics on this port; unset: off",
    )
    heartbeat_seconds: float | None = Field(
        None, gt=0, description="How often a runner calls in_progress(); default ack_wait / 3"
    )
    concurrency: int = Field(1, ge=1, description="Images one orchestrator processes at once")
    # Identical images of one team submitted together (same photo, same options) are processed
    # once: the later ones wait for the first and take its result from the cache.
    twin_wait_seconds: float = Field(
        900.0,
        ge=0,
        description="How long an image waits for its running twin's result before it is "
        "processed itself (0: never waits)",
    )
    twin_poll_seconds: float = Field(
        0.5, gt=0, description="How often a waiting image looks for its twin's result"
    )
    # Batch work yields the CPU to the API: an orchestrator (and what it runs in process) is
    # background work, the gateway answers people. Where they share cores (`make dev`, one VM,
    # the bench) a status poll must not queue behind image processing; on Kubernetes
    # orchestrators and model services get their own nodes and this changes nothing.
    # 0: the priority as started.
    nice: int = Field(
        10,
        ge=0,
        le=19,
        description="CPU niceness the orchestrator sets for itself at start (0: off)",
    )
    # TEST FAILPOINT, off by default; refused outside development (see ``Failpoint``).
    failpoint: str | None = Field(
        None,
        description="Test failpoint `<point>:<kill|pause>[:<count>]`, e.g. `after_store:kill:1` "
        "(tests and make bench-platform only; refused in production)",
    )

    @field_validator("failpoint", mode="before")
    @classmethod
    def _blank_failpoint_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _failpoint_only_in_development(self) -> OrchestratorSettings:
        if self.failpoint is not None:
            Failpoint.parse(self.failpoint)  # a typo fails here, not at the first image
            if (env := current_environment()) != "development":
                raise ValueError(
                    f"GLOBALPIC_ORCHESTRATOR__FAILPOINT={self.failpoint!r} is a test "
                    f"failpoint: refused outside development (GLOBALPIC_ENV={env}); unset it"
                )
        return self

    @property
    def parsed_failpoint(self) -> Failpoint | None:
        """The ``failpoint`` setting parsed; None when unset."""
        return None if self.failpoint is None else Failpoint.parse(self.failpoint)

    @property
    def heartbeat_interval(self) -> float:
        return self.heartbeat_seconds or max(0.5, self.ack_wait_seconds / 3)

    def image_limits(self) -> ImageLimits:
        return InputLimitsSettings().limits()


@lru_cache(maxsize=1)
def get_settings() -> OrchestratorSettings:
    return OrchestratorSettings()

"""``OpenAICopywriter``: any OpenAI-compatible chat completions endpoint writes the copy.

One request per image (``chat.completions.create``, structured JSON output, ``max_tokens``
<= 800) through the official ``openai`` client: base URL, key, model, timeout and retries
from ``CopywritingSettings``. The client retries 429, 408, 409, 5xx, timeouts and dropped
connections itself with exponential backoff (honouring Retry-After), up to ``max_retries``.

What can still go wrong, and what happens (decided here, documented in the README):

* the answer is not the JSON asked for (invalid JSON, wrong shape, cut off at
  ``max_tokens``): asked once more (a second request), then treated as a failure;
* a failure (retries spent, malformed twice, unreachable): ``fallback=offline`` (default)
  returns offline copy with ``report.fallback`` saying why, so a job never stops for a model
  outage; ``fallback=error`` raises ``ServiceUnavailableError`` ``copy_backend_error``;
* the JSON is fine but breaks a rule: ``repair.merge`` keeps every field that passes and
  takes the rest from the offline writer (``report.repaired`` counts them).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import openai
from pydantic import ValidationError

from globalpic_common import errors
from globalpic_common.copy_facts import CopyFacts, copy_platform
from globalpic_common.errors import ServiceUnavailableError
from globalpic_common.models import Model
from globalpic_common.schemas import CopyReport, CopyUsage, CopyVariant
from globalpic_copywriting import prompt
from globalpic_copywriting.offline import OfflineCopywriter
from globalpic_copywriting.profile import Profile
from globalpic_copywriting.quality import check_copy, failures
from globalpic_copywriting.repair import merge
from globalpic_copywriting.rules import variant_count
from globalpic_copywriting.settings import CopywritingSettings

log = logging.getLogger(__name__)

MALFORMED_ATTEMPTS = 2  # a malformed answer is asked again once


class BackendFailedError(Exception):
    """The model gave no usable answer; ``str()`` says why, for the report."""


class OpenAICopywriter(Model):
    def __init__(
        self,
        settings: CopywritingSettings | None = None,
        offline: OfflineCopywriter | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or CopywritingSettings()
        self.offline = offline or OfflineCopywriter(seed=self.settings.seed)
        self.name = f"openai:{self.settings.model}"
        self._client: openai.OpenAI | None = None

    def _load(self) -> None:
        # One client per writer: its connection pool keeps the connection to the endpoint
        # open between images (a new TLS handshake per image would cost more than 50 ms).
        self.offline.load()
        s = self.settings
        self._client = openai.OpenAI(
            api_key=s.api_key.get_secret_value(),
            base_url=s.base_url,
            timeout=s.timeout_s,
            max_retries=s.max_retries,
        )

    def _unload(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None

    def client(self) -> openai.OpenAI:
        self.load()
        assert self._client is not None
        return self._client

    def close(self) -> None:
        self.unload()

    def write(self, facts: CopyFacts, platform: str, n: int = 5) -> CopyReport:
        started = time.perf_counter()
        platform = copy_platform(platform)
        variant_count(n)
        profile = self.offline.profile(facts)
        usage = CopyUsage()
        try:
            answer = self._ask(facts, profile, platform, n, usage)
        except BackendFailedError as exc:
            if self.settings.fallback == "error":
                raise ServiceUnavailableError(
                    f"{self.name}: {exc}", code=errors.COPY_BACKEND_ERROR
                ) from exc
            log.warning("%s failed (%s): offline copy instead", self.name, exc)
            report = self.offline.write(facts, platform, n)
            return report.model_copy(
                update={
                    "fallback": str(exc),
                    "usage": usage,
                    "seconds": round(time.perf_counter() - started, 4),
                }
            )

        def offline_variants() -> list[CopyVariant]:
            return self.offline.variants(profile, platform, n)

        variants, repaired = merge(answer.variants, offline_variants, platform, profile.evidence, n)
        checks = check_copy(variants, platform, profile.evidence)
        model_facts = [f"From the photo (model): {f}" for f in answer.facts_en if f.strip()]
        return CopyReport(
            platform=platform,
            variants=variants,
            backend=self.name,
            facts_en=[*profile.facts_en, *model_facts],
            passed=not failures(checks),
            checks=checks,
            repaired=repaired,
            usage=usage,
            seconds=round(time.perf_counter() - started, 4),
        )

    def _ask(
        self, facts: CopyFacts, profile: Profile, platform: str, n: int, usage: CopyUsage
    ) -> prompt.ModelAnswer:
        s = self.settings
        request: dict[str, Any] = {
            "model": s.model,
            "messages": prompt.messages(facts, profile, platform, n),
            "response_format": prompt.response_format(s.response_format, platform),
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
        }
        problem = ""
        for _ in range(MALFORMED_ATTEMPTS):
            content, finish = self._complete(request, usage)
            try:
                if finish == "length":
                    raise ValueError(f"answer cut off at max_tokens={s.max_tokens}")
                return prompt.ModelAnswer.model_validate(json.loads(content))
            except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
                problem = f"malformed answer: {str(exc).splitlines()[0][:160]}"
                log.info("%s: %s", self.name, problem)
        raise BackendFailedError(f"{problem} (asked {MALFORMED_ATTEMPTS} times)")

    def _complete(self, request: dict[str, Any], usage: CopyUsage) -> tuple[str, str | None]:
        """One completion (the client's own retries included); its text and finish reason."""
        try:
            raw = self.client().chat.completions.with_raw_response.create(**request)
        except openai.APITimeoutError as exc:
            usage.requests += 1 + self.settings.max_retries
            raise BackendFailedError(
                f"no answer within {self.settings.timeout_s:g} s "
                f"({self.settings.max_retries} retries)"
            ) from exc
        except openai.APIStatusError as exc:
            retried = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            usage.requests += 1 + (self.settings.max_retries if retried else 0)
            raise BackendFailedError(f"HTTP {exc.status_code}: {_error_message(exc)}") from exc
        except openai.APIConnectionError as exc:
            usage.requests += 1 + self.settings.max_retries
            raise BackendFailedError(f"cannot reach {self.settings.base_url or 'OpenAI'}") from exc
        usage.requests += 1 + raw.retries_taken
        completion = raw.parse()
        if completion.usage is not None:
            usage.prompt_tokens += completion.usage.prompt_tokens
            usage.completion_tokens += completion.usage.completion_tokens
            usage.total_tokens += completion.usage.total_tokens
        if not completion.choices:
            return "", None
        choice = completion.choices[0]
        return choice.message.content or "", choice.finish_reason


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:200]
    return exc.message[:200]

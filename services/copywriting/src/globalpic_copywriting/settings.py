"""``GLOBALPIC_COPYWRITING__*``: which writer runs and how it reaches its model.

``BACKEND=offline`` (the default) needs nothing: templates, phrase banks and the bundled
dictionary. ``BACKEND=openai`` talks to any OpenAI-compatible chat completions endpoint:
``MODEL`` (gpt-4o-mini), ``BASE_URL`` (unset: api.openai.com; or a vLLM / Ollama / DeepSeek
URL ending in ``/v1``), ``API_KEY``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from globalpic_common.settings import (
    ServiceSettings,
    refuse_placeholder_secret,
    settings_config,
)

# The budget: one request and at most this many output tokens per image.
MAX_OUTPUT_TOKENS = 800


class CopywritingSettings(ServiceSettings):
    model_config = settings_config("copywriting")

    backend: Literal["offline", "openai"] = "offline"
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: SecretStr = SecretStr("")
    # One request's deadline; the SDK retries 429 / 5xx / timeouts with exponential backoff
    # (honouring Retry-After) up to ``max_retries`` times.
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    max_tokens: int = Field(MAX_OUTPUT_TOKENS, gt=0, le=MAX_OUTPUT_TOKENS)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    # json_schema: structured outputs (OpenAI, vLLM, recent Ollama); json_object: endpoints
    # that only know JSON mode (the schema then travels in the prompt alone).
    response_format: Literal["json_schema", "json_object"] = "json_schema"
    # When the model gives no usable answer (after the SDK's retries, or malformed JSON twice):
    # offline copy is written instead and the report says why, or the call fails with
    # ``copy_backend_error``.
    fallback: Literal["offline", "error"] = "offline"
    seed: int = 0  # the offline writer's choice of phrases

    @model_validator(mode="after")
    def _key_for_openai(self) -> CopywritingSettings:
        if self.backend == "openai":
            key = self.api_key.get_secret_value()
            if not key:
                raise ValueError(
                    "GLOBALPIC_COPYWRITING__API_KEY is required with BACKEND=openai "
                    "(any non-empty value for a local vLLM / Ollama endpoint)"
                )
            refuse_placeholder_secret("GLOBALPIC_COPYWRITING__API_KEY", key)
        return self

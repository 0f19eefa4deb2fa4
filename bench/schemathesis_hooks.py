"""Schemathesis hooks of ``bench.api_fuzz`` (loaded through ``SCHEMATHESIS_HOOKS``): every
request goes as the signed-in team owner. The access token comes from ``POST /v1/auth/token``
and is fetched again after any 401 (schemathesis' ``retry_on``): a fuzzed ``/v1/auth/logout``
ends the session it was sent with, and the run goes on as the owner instead of as nobody."""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.auths import AuthContext


@schemathesis.auth(refresh_interval=600, retry_on=[401])
class SignedInOwner:
    def get(self, case: Case[Any], context: AuthContext) -> str:
        answer = httpx.post(
            f"{os.environ['GLOBALPIC_FUZZ_BASE_URL']}/v1/auth/token",
            data={
                "username": os.environ["GLOBALPIC_FUZZ_EMAIL"],
                "password": os.environ["GLOBALPIC_FUZZ_PASSWORD"],
            },
            timeout=60,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def set(self, case: Case[Any], data: str, context: AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"

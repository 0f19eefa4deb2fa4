"""Schemathesis hooks of ``bench.api_fuzz`` (loaded through ``SCHEMATHESIS_HOOKS``): every
request goes as the signed-in team owner.

``POST /v1/auth/logout`` ends the session it is sent with, so it is sent with a second session
of the owner's, made for it (``GLOBALPIC_FUZZ_LOGOUT_TOKEN``): the first call ends that one,
the others are 401s, and the rest of the run keeps the main session. Should the main token
still be refused (schemathesis' ``retry_on``), the owner signs in again with the password.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.auths import AuthContext

LOGOUT = "POST /v1/auth/logout"


@schemathesis.auth(refresh_interval=3600, retry_on=[401])
class SignedInOwner:
    def __init__(self) -> None:
        self.first = True

    def get(self, case: Case[Any], context: AuthContext) -> str:
        if self.first:  # the session api_fuzz signed in
            self.first = False
            return os.environ["GLOBALPIC_FUZZ_TOKEN"]
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
        if case.operation.label == LOGOUT:
            data = os.environ["GLOBALPIC_FUZZ_LOGOUT_TOKEN"]
        case.headers["Authorization"] = f"Bearer {data}"

"""FastAPI dependencies: the app state and the authenticated tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from globalpic_gateway import crud
from globalpic_gateway.core import problems
from globalpic_gateway.core.auth import Tenant
from globalpic_gateway.core.problems import ApiError
from globalpic_gateway.core.state import AppState
from globalpic_gateway.models import Job

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="Your API key: `Authorization: Bearer gp_...`",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="globalpic"'}


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.globalpic
    return state


def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Tenant:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(
            401,
            problems.UNAUTHORIZED,
            "send your API key as 'Authorization: Bearer <key>'",
            headers=_CHALLENGE,
        )
    tenant = get_state(request).authenticator.authenticate(credentials.credentials)
    if tenant is None:
        raise ApiError(401, problems.UNAUTHORIZED, "the API key is not valid", headers=_CHALLENGE)
    return tenant


def require_job(session: Session, tenant_id: str, job_id: str) -> Job:
    job = crud.get_job(session, tenant_id, job_id)
    if job is None:
        # 404, not 403: another tenant's job id must not even be confirmed to exist.
        raise ApiError(404, problems.JOB_NOT_FOUND, f"no job {job_id!r}")
    return job


StateDep = Annotated[AppState, Depends(get_state)]
TenantDep = Annotated[Tenant, Depends(current_tenant)]

"""FastAPI dependencies: the app state and the authenticated tenant.

They are ``async def`` although they wait for nothing: FastAPI runs a plain ``def`` dependency
in its thread pool, two thread hand-offs per request for what takes microseconds.
"""

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
from globalpic_jobs.models import Job

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="Your API key: `Authorization: Bearer gp_...`",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="globalpic"'}


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.globalpic
    return state


async def get_state(request: Request) -> AppState:
    return app_state(request)


async def current_tenant(
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
    tenant = app_state(request).authenticator.authenticate(credentials.credentials)
    if tenant is None:
        raise ApiError(401, problems.UNAUTHORIZED, "the API key is not valid", headers=_CHALLENGE)
    return tenant


def job_not_found(job_id: str) -> ApiError:
    # 404, not 403: another tenant's job id must not even be confirmed to exist.
    return ApiError(404, problems.JOB_NOT_FOUND, f"no job {job_id!r}")


def require_job(session: Session, tenant_id: str, job_id: str) -> Job:
    job = crud.get_job(session, tenant_id, job_id)
    if job is None:
        raise job_not_found(job_id)
    return job


StateDep = Annotated[AppState, Depends(get_state)]
TenantDep = Annotated[Tenant, Depends(current_tenant)]

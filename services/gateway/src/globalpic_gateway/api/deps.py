"""FastAPI dependencies: the app state, the authenticated tenant and what it may do.

They are ``async def`` although most wait for nothing: FastAPI runs a plain ``def`` dependency
in its thread pool, two thread hand-offs per request for what takes microseconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from globalpic_gateway import crud
from globalpic_gateway.core import problems
from globalpic_gateway.core.auth import JOBS_READ, JOBS_WRITE, Role, Tenant
from globalpic_gateway.core.problems import BEARER_CHALLENGE, ApiError
from globalpic_gateway.core.state import AppState
from globalpic_jobs.models import Job

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="Bearer",
    description="An API key (`Authorization: Bearer gp_live_...`) or an access token from "
    "`POST /v1/auth/token`",
)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.globalpic
    return state


async def get_state(request: Request) -> AppState:
    return app_state(request)


def bearer_credential(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(
            401,
            problems.UNAUTHORIZED,
            "send your API key or access token as 'Authorization: Bearer <credential>'",
            headers=BEARER_CHALLENGE,
        )
    return credentials.credentials


async def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Tenant:
    # An UnauthenticatedError from the authenticator is a 401 with its own code.
    return await app_state(request).authenticator.authenticate(bearer_credential(credentials))


def require_scope(scope: str) -> Callable[[Tenant], Awaitable[Tenant]]:
    async def check(tenant: Annotated[Tenant, Depends(current_tenant)]) -> Tenant:
        if scope not in tenant.scopes:
            raise ApiError(
                403, problems.INSUFFICIENT_SCOPE, f"this API key lacks the scope {scope!r}"
            )
        return tenant

    return check


async def current_user(tenant: Annotated[Tenant, Depends(current_tenant)]) -> Tenant:
    """A signed-in user (an access token): account routes are not for API keys."""
    if tenant.user_id is None:
        raise ApiError(
            403,
            problems.FORBIDDEN,
            "this route needs a signed-in user (an access token from POST /v1/auth/token), "
            "not an API key",
        )
    return tenant


def require_role(*roles: Role) -> Callable[[Tenant], Awaitable[Tenant]]:
    async def check(user: Annotated[Tenant, Depends(current_user)]) -> Tenant:
        if user.role not in roles:
            raise ApiError(
                403,
                problems.FORBIDDEN,
                f"your role in this team ({user.role}) cannot do this; it needs "
                + " or ".join(roles),
            )
        return user

    return check


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
ReaderDep = Annotated[Tenant, Depends(require_scope(JOBS_READ))]
WriterDep = Annotated[Tenant, Depends(require_scope(JOBS_WRITE))]
UserDep = Annotated[Tenant, Depends(current_user)]
ManagerDep = Annotated[Tenant, Depends(require_role("owner", "admin"))]
OwnerDep = Annotated[Tenant, Depends(require_role("owner"))]


# Query parameters each route declares (its own and its dependencies'), by route: computed
# once per route, read on every request.
_DECLARED_QUERY: dict[int, frozenset[str]] = {}


def _declared_query(route: APIRoute) -> frozenset[str]:
    known = _DECLARED_QUERY.get(id(route))
    if known is None:
        names: set[str] = set()
        pending: list[Dependant] = [route.dependant]
        while pending:  # the route's parameters and every dependency's, to the leaves
            dependant = pending.pop()
            names.update(param.alias for param in dependant.query_params)
            pending.extend(dependant.dependencies)
        known = _DECLARED_QUERY[id(route)] = frozenset(names)
    return known


def reject_unknown_query(request: Request) -> None:
    """A query parameter the route does not take is refused (422 ``unknown_parameter``)
    instead of ignored: ``?stauts=failed`` must not quietly list every job."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared_query(route))
    if unknown:
        raise ApiError(
            422,
            problems.UNKNOWN_PARAMETER,
            f"unknown query parameter(s): {', '.join(unknown)}",
            parameters=unknown,
        )

"""``/v1/api-keys`` and ``/v1/teams``: a team's API keys and members.

Roles: owners and admins manage keys and members, every member sees the member list. The plan
decides the features: API keys and team members are Enterprise's (API keys in ``make dev`` for
every plan); the auth service checks the roles again, this layer adds the plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from globalpic_gateway.account_schemas import (
    ROLE_VALUES,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    InvitationIn,
    InvitationOut,
    MemberOut,
    MembersOut,
    TokenOut,
)
from globalpic_gateway.api.deps import ManagerDep, StateDep, UserDep
from globalpic_gateway.api.routes.auth import with_refresh_cookie
from globalpic_gateway.core import problems
from globalpic_gateway.core.auth import AuthServiceAuthenticator, Tenant
from globalpic_gateway.core.billing import PlanLimits
from globalpic_gateway.core.problems import ACCOUNTS_OFF, ApiError, problem_responses
from globalpic_gateway.core.state import AppState

router = APIRouter(tags=["account"], responses=ACCOUNTS_OFF)


# The plan features these routes need, by the name the refusal gives them.
_FEATURES: dict[str, Callable[[PlanLimits], bool]] = {
    "API keys": lambda limits: limits.api_keys,
    "team members": lambda limits: limits.team_members,
}


async def _require_feature(state: AppState, tenant: Tenant, feature: str) -> None:
    limits = await state.billing.limits(tenant)
    if not _FEATURES[feature](limits):
        raise ApiError(
            402,
            problems.PLAN_LIMIT,
            f"{feature} come with the enterprise plan; your team is on {limits.plan}",
            unlock=["enterprise"],
        )


@router.get(
    "/v1/api-keys",
    response_model=list[ApiKeyOut],
    summary="Your team's API keys (never the keys themselves)",
    responses=problem_responses(401, 403, 503),
)
async def list_api_keys(user: ManagerDep, state: StateDep) -> list[ApiKeyOut]:
    found = await asyncio.to_thread(state.auth.list_api_keys, user.id)
    return [ApiKeyOut.of(k) for k in found.keys]


@router.post(
    "/v1/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key: the response shows it once",
    responses=problem_responses(401, 402, 403, 422, 503),
)
async def create_api_key(body: ApiKeyIn, user: ManagerDep, state: StateDep) -> ApiKeyCreated:
    await _require_feature(state, user, "API keys")
    assert user.user_id is not None
    created = await asyncio.to_thread(
        state.auth.create_api_key, user.id, user.user_id, body.name, list(body.scopes)
    )
    return ApiKeyCreated(**ApiKeyOut.of(created.key).model_dump(), key=created.secret)


@router.delete(
    "/v1/api-keys/{key_id}",
    status_code=204,
    summary="Revoke an API key (refused everywhere within the auth cache time, 10 s)",
    responses=problem_responses(401, 403, 404, 503),
)
async def revoke_api_key(key_id: str, user: ManagerDep, state: StateDep) -> Response:
    assert user.user_id is not None
    await asyncio.to_thread(state.auth.revoke_api_key, user.id, user.user_id, key_id)
    if isinstance(state.authenticator, AuthServiceAuthenticator):
        state.authenticator.forget_session(key_id)  # refused here at once
    return Response(status_code=204)


@router.get(
    "/v1/teams/members",
    response_model=MembersOut,
    summary="Your team's members and pending invitations",
    responses=problem_responses(401, 403, 503),
)
async def list_members(user: UserDep, state: StateDep) -> MembersOut:
    found = await asyncio.to_thread(state.auth.list_members, user.id)
    return MembersOut(
        members=[MemberOut.of(m) for m in found.members],
        invitations=[InvitationOut.of(i) for i in found.invitations],
    )


@router.post(
    "/v1/teams/members",
    status_code=201,
    response_model=InvitationOut,
    summary="Invite someone to your team by email (Enterprise)",
    responses=problem_responses(401, 402, 403, 409, 422, 503),
)
async def invite_member(body: InvitationIn, user: ManagerDep, state: StateDep) -> InvitationOut:
    await _require_feature(state, user, "team members")
    assert user.user_id is not None
    invitation = await asyncio.to_thread(
        state.auth.invite_member, user.id, user.user_id, body.email, ROLE_VALUES[body.role]
    )
    return InvitationOut.of(invitation)


@router.delete(
    "/v1/teams/members/{user_id}",
    status_code=204,
    summary="Remove a member from your team (their sessions on it end)",
    responses=problem_responses(401, 403, 404, 503),
)
async def remove_member(user_id: str, user: ManagerDep, state: StateDep) -> Response:
    assert user.user_id is not None
    await asyncio.to_thread(state.auth.remove_member, user.id, user.user_id, user_id)
    return Response(status_code=204)


@router.post(
    "/v1/teams/invitations/{token}/accept",
    response_model=TokenOut,
    summary="Join the team you were invited to; the new tokens act in that team",
    responses=problem_responses(401, 403, 404, 503),
)
async def accept_invitation(token: str, user: UserDep, state: StateDep) -> JSONResponse:
    assert user.user_id is not None
    pair = await asyncio.to_thread(state.auth.accept_invitation, token, user.user_id)
    return with_refresh_cookie(state, pair)

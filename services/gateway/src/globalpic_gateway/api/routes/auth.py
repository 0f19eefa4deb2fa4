"""``/v1/auth``: sign up, sign in (OAuth2 password flow), refresh, sign out, passwords, email
verification; and ``/v1/me``. Thin adapters over the auth service: it holds the accounts and
decides; its errors arrive as 401 / 403 / 409 / 422 / 429 problem+json with their codes."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Cookie, Form, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from globalpic.auth.v1 import auth_pb2
from globalpic_common import errors
from globalpic_gateway.account_schemas import (
    AccountOut,
    Credentials,
    MeOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    SignUpOut,
    TeamOut,
    TokenIn,
    TokenOut,
    UserOut,
)
from globalpic_gateway.api.deps import StateDep, TenantDep, UserDep, bearer, bearer_credential
from globalpic_gateway.core.auth import AuthServiceAuthenticator
from globalpic_gateway.core.problems import (
    ACCOUNTS_OFF,
    BEARER_CHALLENGE,
    ApiError,
    problem_responses,
)
from globalpic_gateway.core.state import AppState

router = APIRouter(tags=["auth"], responses=ACCOUNTS_OFF)

# The web app's refresh token lives in this cookie (httpOnly: no script reads it; SameSite
# strict and the /v1/auth path: sent only to these routes, from our own pages). Integrators
# use the refresh token of the JSON body instead; both work.
REFRESH_COOKIE = "globalpic_refresh"
REFRESH_COOKIE_PATH = "/v1/auth"


def _cookie_scope(state: AppState) -> dict[str, Any]:
    """Where the cookie lives; setting and clearing it must name the same."""
    return {
        "path": REFRESH_COOKIE_PATH,
        "secure": state.settings.refresh_cookie_secure,
        "httponly": True,
        "samesite": "strict",
    }


def with_refresh_cookie(state: AppState, pair: auth_pb2.TokenPair) -> JSONResponse:
    response = JSONResponse(TokenOut.of(pair).model_dump())
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=state.settings.refresh_cookie_max_age_seconds,
        **_cookie_scope(state),
    )
    return response


@router.post(
    "/v1/auth/signup",
    status_code=201,
    response_model=SignUpOut,
    summary="Create an account (and its personal team, on the free trial)",
    responses=problem_responses(409, 422, 503),
)
async def signup(body: Credentials, state: StateDep) -> SignUpOut:
    created = await asyncio.to_thread(state.auth.sign_up, body.email, body.password)
    return SignUpOut(
        user=UserOut.of(created.user),
        team=TeamOut.of(created.team),
        verification_required=not created.user.email_verified,
    )


@router.post(
    "/v1/auth/token",
    response_model=TokenOut,
    summary="Sign in: email + password -> access and refresh tokens (OAuth2 password flow)",
    description="Form fields `username` (your email) and `password`. Repeated failures lock "
    "the account for a while (`429 account_locked`).",
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def token(
    # The OAuth2 password form's fields, declared as the API takes them (an empty form value
    # is a missing one: the schema says minLength 1 rather than accept what is then refused).
    username: Annotated[str, Form(min_length=1, max_length=320, description="Your email")],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    request: Request,
    state: StateDep,
    grant_type: Annotated[Literal["password"], Form()] = "password",
) -> JSONResponse:
    del grant_type  # the OAuth2 password flow's own: "password" or absent
    client_ip = request.client.host if request.client else ""
    pair = await asyncio.to_thread(state.auth.login, username, password, client_ip)
    return with_refresh_cookie(state, pair)


@router.post(
    "/v1/auth/refresh",
    response_model=TokenOut,
    summary="A refresh token -> a new pair (the old refresh token is spent)",
    description="The refresh token of the body, or (the web app) of the `globalpic_refresh` "
    "cookie when the body has none. Presenting a spent refresh token again ends its whole "
    "session (`401 token_reused`).",
    responses=problem_responses(401, 422, 503),
)
async def refresh(
    state: StateDep,
    body: RefreshIn | None = None,
    cookie: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> JSONResponse:
    refresh_token = (body.refresh_token if body else None) or cookie
    if not refresh_token:
        raise ApiError(
            401,
            errors.TOKEN_INVALID,
            "send the refresh token as 'refresh_token' (or sign in again)",
            headers=BEARER_CHALLENGE,
        )
    return with_refresh_cookie(state, await asyncio.to_thread(state.auth.refresh, refresh_token))


@router.post(
    "/v1/auth/logout",
    status_code=204,
    summary="Sign out: the access token's session ends, its refresh tokens too",
    responses=problem_responses(401, 503),
)
async def logout(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Response:
    access_token = bearer_credential(credentials)
    await asyncio.to_thread(state.auth.logout, access_token)
    if isinstance(state.authenticator, AuthServiceAuthenticator):
        state.authenticator.forget(access_token)  # refused here at once, not after the cache
    response = Response(status_code=204)
    response.delete_cookie(REFRESH_COOKIE, **_cookie_scope(state))
    return response


@router.post(
    "/v1/auth/password",
    response_model=TokenOut,
    summary="Change your password; your other sessions end, this one gets new tokens",
    responses=problem_responses(401, 403, 422, 429, 503),
)
async def change_password(body: PasswordChangeIn, user: UserDep, state: StateDep) -> JSONResponse:
    assert user.user_id is not None
    pair = await asyncio.to_thread(
        state.auth.change_password,
        user.user_id,
        body.current_password,
        body.new_password,
        user.session_id or "",
    )
    return with_refresh_cookie(state, pair)


@router.post(
    "/v1/auth/password-reset",
    status_code=202,
    response_class=Response,  # 202 with an empty body: documented without a JSON content
    summary="Mail a password-reset link (answered the same whether the address has an account)",
    responses={202: {"description": "Accepted"}, **problem_responses(422, 503)},
)
async def request_password_reset(body: PasswordResetIn, state: StateDep) -> Response:
    await asyncio.to_thread(state.auth.request_password_reset, body.email)
    return Response(status_code=202)


@router.post(
    "/v1/auth/password-reset/confirm",
    status_code=204,
    summary="Set a new password with the mailed token; every session ends",
    responses=problem_responses(401, 422, 503),
)
async def confirm_password_reset(body: PasswordResetConfirmIn, state: StateDep) -> Response:
    await asyncio.to_thread(state.auth.confirm_password_reset, body.token, body.new_password)
    return Response(status_code=204)


@router.post(
    "/v1/auth/verify-email",
    status_code=204,
    summary="Confirm your email address with the mailed token",
    responses=problem_responses(401, 422, 503),
)
async def verify_email(body: TokenIn, state: StateDep) -> Response:
    await asyncio.to_thread(state.auth.verify_email, body.token)
    return Response(status_code=204)


@router.get(
    "/v1/me",
    response_model=MeOut,
    tags=["account"],
    summary="Who you are: user, team, role, plan, images left and limits",
    responses=problem_responses(401, 503),
)
async def me(tenant: TenantDep, state: StateDep) -> MeOut:
    account = None
    if state.billing.metered(tenant):
        account = AccountOut.of(
            await asyncio.to_thread(state.billing_service.get_account, tenant.id)
        )
    if tenant.user_id is None:
        return MeOut(
            user=None,
            team=None,
            role=tenant.role,
            teams=[],
            credential=tenant.kind,
            account=account,
        )
    found = await asyncio.to_thread(state.auth.get_me, tenant.user_id, tenant.id)
    return MeOut(
        user=UserOut.of(found.user),
        team=TeamOut.of(found.team),
        role=tenant.role,
        teams=[TeamOut.of(t) for t in found.teams],
        credential=tenant.kind,
        account=account,
    )

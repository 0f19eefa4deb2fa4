"""Sessions: refresh-token rotation and reuse, expiry, logout, and what Authenticate accepts."""

from __future__ import annotations

import jwt
import pytest

from globalpic_auth.models import Role
from globalpic_auth.results import CredentialKind
from globalpic_common import errors
from globalpic_common.errors import UnauthenticatedError

from .conftest import JWT_SECRET, Auth


def _refused(auth: Auth, credential: str) -> str:
    with pytest.raises(UnauthenticatedError) as caught:
        auth.service.authenticator.authenticate(credential)
    return caught.value.code


def test_an_access_token_names_its_user_team_and_session(auth: Auth) -> None:
    user, team = auth.sign_up("ana@example.com")
    pair = auth.login("ana@example.com")
    assert pair.expires_in == 900
    principal = auth.service.authenticator.authenticate(pair.access_token)
    assert principal.user_id == user.id and principal.team_id == team.id
    assert principal.role == Role.OWNER and principal.kind == CredentialKind.ACCESS_TOKEN
    assert principal.scopes == ("jobs:read", "jobs:write") and principal.email_verified
    claims = jwt.decode(
        pair.access_token, JWT_SECRET, algorithms=["HS256"], audience="globalpic-api"
    )
    assert claims["iss"] == "globalpic" and claims["sid"] == principal.session_id
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"]


def test_refresh_rotates_and_a_reused_token_ends_the_family(auth: Auth) -> None:
    auth.sign_up("ben@example.com")
    first = auth.login("ben@example.com")
    second = auth.service.sessions.refresh(first.refresh_token)
    third = auth.service.sessions.refresh(second.refresh_token)
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert auth.service.authenticator.authenticate(third.access_token)

    with pytest.raises(UnauthenticatedError) as reused:
        auth.service.sessions.refresh(first.refresh_token)
    assert reused.value.code == errors.TOKEN_REUSED
    # The whole session is gone: the newest refresh token and every access token of it.
    with pytest.raises(UnauthenticatedError) as newest:
        auth.service.sessions.refresh(third.refresh_token)
    assert newest.value.code == errors.TOKEN_INVALID
    assert _refused(auth, third.access_token) == errors.TOKEN_INVALID
    # Another session of the same user lives on.
    assert auth.service.sessions.refresh(auth.login("ben@example.com").refresh_token)


def test_unknown_and_expired_refresh_tokens(auth: Auth) -> None:
    auth.sign_up("cat@example.com")
    pair = auth.login("cat@example.com")
    with pytest.raises(UnauthenticatedError) as unknown:
        auth.service.sessions.refresh("not-a-token")
    assert unknown.value.code == errors.TOKEN_INVALID
    auth.clock.advance(30 * 86400)
    with pytest.raises(UnauthenticatedError) as expired:
        auth.service.sessions.refresh(pair.refresh_token)
    assert expired.value.code == errors.TOKEN_EXPIRED


def test_an_access_token_expires_on_the_service_clock(auth: Auth) -> None:
    auth.sign_up("dan@example.com")
    pair = auth.login("dan@example.com")
    auth.clock.advance(899)
    assert auth.service.authenticator.authenticate(pair.access_token)
    auth.clock.advance(1)
    assert _refused(auth, pair.access_token) == errors.TOKEN_EXPIRED
    # Expired, it still logs its session out.
    auth.service.sessions.logout(pair.access_token)
    with pytest.raises(UnauthenticatedError) as ended:
        auth.service.sessions.refresh(pair.refresh_token)
    assert ended.value.code == errors.TOKEN_INVALID


def test_logout_ends_the_session(auth: Auth) -> None:
    auth.sign_up("eve@example.com")
    pair = auth.login("eve@example.com")
    other = auth.login("eve@example.com")
    auth.service.sessions.logout(pair.access_token)
    auth.service.sessions.logout(pair.access_token)  # twice is harmless
    assert _refused(auth, pair.access_token) == errors.TOKEN_INVALID
    assert auth.service.authenticator.authenticate(other.access_token)


def test_forged_and_malformed_tokens_are_invalid(sqlite_auth: Auth) -> None:
    sqlite_auth.sign_up("fox@example.com")
    pair = sqlite_auth.login("fox@example.com")
    claims = jwt.decode(
        pair.access_token, JWT_SECRET, algorithms=["HS256"], audience="globalpic-api"
    )
    forged = jwt.encode(claims, "another secret of enough length!!", algorithm="HS256")
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    other_audience = jwt.encode({**claims, "aud": "elsewhere"}, JWT_SECRET, algorithm="HS256")
    for token in (forged, unsigned, other_audience, "garbage", "", pair.access_token[:-2]):
        assert _refused(sqlite_auth, token) == errors.TOKEN_INVALID, token
    with pytest.raises(UnauthenticatedError) as logout:
        sqlite_auth.service.sessions.logout(forged)
    assert logout.value.code == errors.TOKEN_INVALID

"""``AuthClient``: the auth service (``globalpic.auth.v1.AuthService``) over gRPC.

One method per RPC, returning the proto response. A refused call raises the error the service
raised, class and code intact (``UnauthenticatedError`` ``token_expired``, ``RateLimitedError``
``account_locked`` with ``retry_after_s``, ...); an unreachable service raises
``ServiceUnavailableError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from globalpic.auth.v1 import auth_pb2, auth_pb2_grpc
from globalpic_common.grpc_client import GrpcClient

HEALTH_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
# Every call is a few database round trips and at most one password hash: a peer that takes
# longer is stuck, and the gateway's request should fail rather than hang.
DEFAULT_TIMEOUT_S = 5.0


class AuthClient(GrpcClient):
    def __init__(self, addr: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(addr, HEALTH_NAME, timeout_s=timeout_s)
        self._stub = auth_pb2_grpc.AuthServiceStub(self.channel)

    # Accounts and sessions.

    def sign_up(self, email: str, password: str) -> auth_pb2.SignUpResponse:
        return self.call(self._stub.SignUp, auth_pb2.SignUpRequest(email=email, password=password))

    def login(self, email: str, password: str, client_ip: str = "") -> auth_pb2.TokenPair:
        request = auth_pb2.LoginRequest(email=email, password=password, client_ip=client_ip)
        return self.call(self._stub.Login, request)

    def refresh(self, refresh_token: str) -> auth_pb2.TokenPair:
        return self.call(self._stub.Refresh, auth_pb2.RefreshRequest(refresh_token=refresh_token))

    def logout(self, access_token: str) -> auth_pb2.LogoutResponse:
        return self.call(self._stub.Logout, auth_pb2.LogoutRequest(access_token=access_token))

    def change_password(
        self, user_id: str, current_password: str, new_password: str, session_id: str = ""
    ) -> auth_pb2.TokenPair:
        request = auth_pb2.ChangePasswordRequest(
            user_id=user_id,
            current_password=current_password,
            new_password=new_password,
            session_id=session_id,
        )
        return self.call(self._stub.ChangePassword, request)

    def request_password_reset(self, email: str) -> auth_pb2.RequestPasswordResetResponse:
        request = auth_pb2.RequestPasswordResetRequest(email=email)
        return self.call(self._stub.RequestPasswordReset, request)

    def confirm_password_reset(
        self, token: str, new_password: str
    ) -> auth_pb2.ConfirmPasswordResetResponse:
        request = auth_pb2.ConfirmPasswordResetRequest(token=token, new_password=new_password)
        return self.call(self._stub.ConfirmPasswordReset, request)

    def verify_email(self, token: str) -> auth_pb2.VerifyEmailResponse:
        return self.call(self._stub.VerifyEmail, auth_pb2.VerifyEmailRequest(token=token))

    def authenticate(self, credential: str) -> auth_pb2.Principal:
        request = auth_pb2.AuthenticateRequest(credential=credential)
        return self.call(self._stub.Authenticate, request)

    def get_me(self, user_id: str, team_id: str = "") -> auth_pb2.Me:
        return self.call(self._stub.GetMe, auth_pb2.GetMeRequest(user_id=user_id, team_id=team_id))

    # API keys.

    def list_api_keys(self, team_id: str) -> auth_pb2.ListApiKeysResponse:
        return self.call(self._stub.ListApiKeys, auth_pb2.ListApiKeysRequest(team_id=team_id))

    def create_api_key(
        self, team_id: str, actor_user_id: str, name: str, scopes: Sequence[str] = ()
    ) -> auth_pb2.CreateApiKeyResponse:
        request = auth_pb2.CreateApiKeyRequest(
            team_id=team_id, actor_user_id=actor_user_id, name=name, scopes=list(scopes)
        )
        return self.call(self._stub.CreateApiKey, request)

    def revoke_api_key(
        self, team_id: str, actor_user_id: str, key_id: str
    ) -> auth_pb2.RevokeApiKeyResponse:
        request = auth_pb2.RevokeApiKeyRequest(
            team_id=team_id, actor_user_id=actor_user_id, key_id=key_id
        )
        return self.call(self._stub.RevokeApiKey, request)

    # Teams.

    def list_members(self, team_id: str) -> auth_pb2.ListMembersResponse:
        return self.call(self._stub.ListMembers, auth_pb2.ListMembersRequest(team_id=team_id))

    def invite_member(
        self,
        team_id: str,
        actor_user_id: str,
        email: str,
        role: auth_pb2.Role.ValueType = auth_pb2.ROLE_MEMBER,
    ) -> auth_pb2.Invitation:
        request = auth_pb2.InviteMemberRequest(
            team_id=team_id, actor_user_id=actor_user_id, email=email, role=role
        )
        return self.call(self._stub.InviteMember, request)

    def remove_member(
        self, team_id: str, actor_user_id: str, user_id: str
    ) -> auth_pb2.RemoveMemberResponse:
        request = auth_pb2.RemoveMemberRequest(
            team_id=team_id, actor_user_id=actor_user_id, user_id=user_id
        )
        return self.call(self._stub.RemoveMember, request)

    def accept_invitation(self, token: str, user_id: str) -> auth_pb2.TokenPair:
        request = auth_pb2.AcceptInvitationRequest(token=token, user_id=user_id)
        return self.call(self._stub.AcceptInvitation, request)

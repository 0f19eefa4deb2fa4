"""The auth gRPC service (``globalpic-auth-server``): ``globalpic.auth.v1.AuthService`` over
``AuthService``.

A thin adapter: each call maps its request onto the domain and the result back (``wire``);
a ``GlobalPicError`` becomes its status + ``ErrorDetail`` in the shared interceptor. The port
opens before the migrations run (``migrate_on_startup``); health says SERVING once they did.
Settings: ``GLOBALPIC_AUTH__*`` (``settings.AuthSettings``; port 50061).
"""

from __future__ import annotations

import sys

import grpc
from pydantic import ValidationError

from globalpic.auth.v1 import auth_pb2, auth_pb2_grpc
from globalpic_auth import wire
from globalpic_auth.db import make_engine, migrate
from globalpic_auth.mailer import build_mailer
from globalpic_auth.service import AuthService
from globalpic_auth.settings import AuthSettings
from globalpic_common.grpc_server import Register, run_service

SERVICE = "auth"
HEALTH_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, service: AuthService) -> None:
        self.service = service

    def SignUp(  # noqa: N802
        self, request: auth_pb2.SignUpRequest, context: grpc.ServicerContext
    ) -> auth_pb2.SignUpResponse:
        user, team = self.service.accounts.sign_up(request.email, request.password)
        return auth_pb2.SignUpResponse(user=wire.user(user), team=wire.team(team))

    def Login(  # noqa: N802
        self, request: auth_pb2.LoginRequest, context: grpc.ServicerContext
    ) -> auth_pb2.TokenPair:
        pair = self.service.accounts.login(request.email, request.password, request.client_ip)
        return wire.token_pair(pair)

    def Refresh(  # noqa: N802
        self, request: auth_pb2.RefreshRequest, context: grpc.ServicerContext
    ) -> auth_pb2.TokenPair:
        return wire.token_pair(self.service.sessions.refresh(request.refresh_token))

    def Logout(  # noqa: N802
        self, request: auth_pb2.LogoutRequest, context: grpc.ServicerContext
    ) -> auth_pb2.LogoutResponse:
        self.service.sessions.logout(request.access_token)
        return auth_pb2.LogoutResponse()

    def ChangePassword(  # noqa: N802
        self, request: auth_pb2.ChangePasswordRequest, context: grpc.ServicerContext
    ) -> auth_pb2.TokenPair:
        pair = self.service.accounts.change_password(
            request.user_id, request.current_password, request.new_password, request.session_id
        )
        return wire.token_pair(pair)

    def RequestPasswordReset(  # noqa: N802
        self, request: auth_pb2.RequestPasswordResetRequest, context: grpc.ServicerContext
    ) -> auth_pb2.RequestPasswordResetResponse:
        self.service.accounts.request_password_reset(request.email)
        return auth_pb2.RequestPasswordResetResponse()

    def ConfirmPasswordReset(  # noqa: N802
        self, request: auth_pb2.ConfirmPasswordResetRequest, context: grpc.ServicerContext
    ) -> auth_pb2.ConfirmPasswordResetResponse:
        self.service.accounts.confirm_password_reset(request.token, request.new_password)
        return auth_pb2.ConfirmPasswordResetResponse()

    def VerifyEmail(  # noqa: N802
        self, request: auth_pb2.VerifyEmailRequest, context: grpc.ServicerContext
    ) -> auth_pb2.VerifyEmailResponse:
        self.service.accounts.verify_email(request.token)
        return auth_pb2.VerifyEmailResponse()

    def Authenticate(  # noqa: N802
        self, request: auth_pb2.AuthenticateRequest, context: grpc.ServicerContext
    ) -> auth_pb2.Principal:
        return wire.principal(self.service.authenticator.authenticate(request.credential))

    def GetMe(  # noqa: N802
        self, request: auth_pb2.GetMeRequest, context: grpc.ServicerContext
    ) -> auth_pb2.Me:
        return wire.me(self.service.accounts.get_me(request.user_id, request.team_id))

    def ListApiKeys(  # noqa: N802
        self, request: auth_pb2.ListApiKeysRequest, context: grpc.ServicerContext
    ) -> auth_pb2.ListApiKeysResponse:
        keys = self.service.api_keys.list(request.team_id)
        return auth_pb2.ListApiKeysResponse(keys=[wire.api_key(key) for key in keys])

    def CreateApiKey(  # noqa: N802
        self, request: auth_pb2.CreateApiKeyRequest, context: grpc.ServicerContext
    ) -> auth_pb2.CreateApiKeyResponse:
        created = self.service.api_keys.create(
            request.team_id, request.actor_user_id, request.name, list(request.scopes)
        )
        return auth_pb2.CreateApiKeyResponse(key=wire.api_key(created.key), secret=created.secret)

    def RevokeApiKey(  # noqa: N802
        self, request: auth_pb2.RevokeApiKeyRequest, context: grpc.ServicerContext
    ) -> auth_pb2.RevokeApiKeyResponse:
        self.service.api_keys.revoke(request.team_id, request.actor_user_id, request.key_id)
        return auth_pb2.RevokeApiKeyResponse()

    def ListMembers(  # noqa: N802
        self, request: auth_pb2.ListMembersRequest, context: grpc.ServicerContext
    ) -> auth_pb2.ListMembersResponse:
        return wire.members(self.service.teams.list_members(request.team_id))

    def InviteMember(  # noqa: N802
        self, request: auth_pb2.InviteMemberRequest, context: grpc.ServicerContext
    ) -> auth_pb2.Invitation:
        invitation = self.service.teams.invite(
            request.team_id,
            request.actor_user_id,
            request.email,
            wire.role_from_proto(request.role),
        )
        return wire.invitation(invitation)

    def RemoveMember(  # noqa: N802
        self, request: auth_pb2.RemoveMemberRequest, context: grpc.ServicerContext
    ) -> auth_pb2.RemoveMemberResponse:
        self.service.teams.remove(request.team_id, request.actor_user_id, request.user_id)
        return auth_pb2.RemoveMemberResponse()

    def AcceptInvitation(  # noqa: N802
        self, request: auth_pb2.AcceptInvitationRequest, context: grpc.ServicerContext
    ) -> auth_pb2.TokenPair:
        return wire.token_pair(self.service.teams.accept(request.token, request.user_id))


def registrar(service: AuthService) -> Register:
    def register(server: grpc.Server) -> None:
        auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(service), server)

    return register


def main() -> None:
    try:
        settings = AuthSettings()
    except ValidationError as exc:
        # Fail fast with the variables to fix, not a traceback.
        print(f"globalpic-auth-server: invalid settings\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    engine = make_engine(settings.database_url)
    mailer = build_mailer(settings)
    service = AuthService(engine, settings, mailer)

    def load() -> None:
        # The migrations are this service's model load: SERVING only on the current schema.
        if settings.migrate_on_startup:
            migrate(settings.database_url)

    def unload() -> None:
        mailer.close()  # the mails already queued still go out
        engine.dispose()

    run_service(
        SERVICE,
        registrar(service),
        settings,
        load=load,
        unload=unload,
        health_services=[HEALTH_NAME],
    )


if __name__ == "__main__":
    main()

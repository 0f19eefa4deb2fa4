"""After every flow of the service, no secret is anywhere in the database or the logs: not a
password, an access or refresh token, a verify / reset / invitation token, nor an API key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from globalpic.auth.v1 import auth_pb2
from globalpic_common.errors import GlobalPicError

from .conftest import PASSWORD, Remote, serve

NEW_PASSWORD = "a changed password"
RESET_PASSWORD = "a password from the reset"
WRONG_PASSWORD = "a wrong guess at it"


def _full_flow(remote: Remote) -> list[str]:
    """Every RPC that takes or makes a secret; returns the secrets it saw."""
    client = remote.client
    secrets = [PASSWORD, NEW_PASSWORD, RESET_PASSWORD, WRONG_PASSWORD]

    owner = client.sign_up("owner@example.com", PASSWORD)
    verify_token = remote.next_mail_token()
    client.verify_email(verify_token)
    with pytest.raises(GlobalPicError):
        client.login("owner@example.com", WRONG_PASSWORD, client_ip="192.0.2.9")
    pair = client.login("owner@example.com", PASSWORD, client_ip="192.0.2.9")
    rotated = client.refresh(pair.refresh_token)
    with pytest.raises(GlobalPicError):
        client.refresh(pair.refresh_token)  # reuse: the family ends
    changed = client.change_password(owner.user.id, PASSWORD, NEW_PASSWORD)
    client.request_password_reset("owner@example.com")
    reset_token = remote.next_mail_token()
    client.confirm_password_reset(reset_token, RESET_PASSWORD)
    session = client.login("owner@example.com", RESET_PASSWORD)

    team_id = owner.team.id
    client.invite_member(team_id, owner.user.id, "member@example.com", auth_pb2.ROLE_ADMIN)
    invite_token = remote.next_mail_token()
    member = client.sign_up("member@example.com", PASSWORD)
    member_verify = remote.next_mail_token()
    joined = client.accept_invitation(invite_token, member.user.id)
    client.authenticate(joined.access_token)

    key = client.create_api_key(team_id, owner.user.id, "ci")
    client.authenticate(key.secret)
    client.list_api_keys(team_id)
    client.revoke_api_key(team_id, owner.user.id, key.key.id)
    with pytest.raises(GlobalPicError):
        client.authenticate(key.secret)
    client.remove_member(team_id, owner.user.id, member.user.id)
    client.logout(session.access_token)
    with pytest.raises(GlobalPicError):
        client.authenticate(session.access_token)

    for tokens in (pair, rotated, changed, session, joined):
        secrets += [tokens.access_token, tokens.refresh_token]
        # A JWT's signature alone is as good as the token to whoever has the claims.
        secrets.append(tokens.access_token.rsplit(".", 1)[1])
    secrets += [verify_token, reset_token, invite_token, member_verify, key.secret]
    return secrets


def _dump_auth_tables(remote: Remote) -> str:
    lines = []
    with remote.engine.connect() as connection:
        names = [name for name in sa.inspect(connection).get_table_names() if "auth" in name]
        assert len(names) >= 10  # the nine tables and the version table
        for name in names:
            table = sa.Table(name, sa.MetaData(), autoload_with=connection)
            lines += [f"{name}: {row!r}" for row in connection.execute(sa.select(table))]
    return "\n".join(lines)


def test_no_secret_is_stored_or_logged(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve(database_url, tmp_path / "mail") as remote:
        secrets = _full_flow(remote)
        dump = _dump_auth_tables(remote)
    # The SMTP sink's own log is the recipient's mail server, which is where links belong.
    logs = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("mail.")
    )
    assert "owner@example.com" in dump and "member@example.com" in dump
    assert "auth_refresh_token" in dump and "auth_api_key" in dump and "auth_email_token" in dump
    assert "logged in" in logs  # the service did log
    for secret in secrets:
        assert len(secret) >= 10
        assert secret not in dump, f"a secret is stored in clear: {secret[:6]}..."
        assert secret not in logs, f"a secret is in the logs: {secret[:6]}..."

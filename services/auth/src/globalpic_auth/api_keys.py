"""API keys: a team's long-lived credentials for machines (``gp_live_...``).

The key is shown once, at creation; the table keeps its first characters (to tell keys apart
in a listing) and its SHA-256. Owners and admins create and revoke them; whether the team's
plan allows keys at all is the gateway's check.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import col, select, update

from globalpic_auth.context import AuthContext
from globalpic_auth.memberships import require_manager
from globalpic_auth.models import ApiKey
from globalpic_auth.results import ApiKeyView, CreatedApiKey
from globalpic_auth.tokens import digest, new_api_key
from globalpic_common import errors
from globalpic_common.errors import BadInputError, NotFoundError, UnauthenticatedError

log = logging.getLogger(__name__)

SCOPES = ("jobs:read", "jobs:write")
PREFIX_CHARS = 12  # "gp_live_" and 4 characters of the random part
MAX_NAME_CHARS = 100


def _view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=tuple(key.scopes.split(",")) if key.scopes else (),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _checked_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if not scopes:
        return SCOPES
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise BadInputError(
            f"unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}", code=errors.BAD_OPTION
        )
    return tuple(scope for scope in SCOPES if scope in scopes)


class ApiKeys:
    def __init__(self, ctx: AuthContext) -> None:
        self.ctx = ctx

    def create(
        self,
        team_id: str,
        actor_user_id: str,
        name: str,
        scopes: list[str] | tuple[str, ...] = (),
    ) -> CreatedApiKey:
        name = name.strip()
        if not 1 <= len(name) <= MAX_NAME_CHARS:
            raise BadInputError(
                f"a key's name has 1 to {MAX_NAME_CHARS} characters", code=errors.BAD_OPTION
            )
        checked = _checked_scopes(scopes)
        secret = new_api_key()
        with self.ctx.db() as db:
            require_manager(db, team_id, actor_user_id)
            key = ApiKey(
                team_id=team_id,
                name=name,
                prefix=secret[:PREFIX_CHARS],
                key_sha256=digest(secret),
                scopes=",".join(checked),
                created_by=actor_user_id,
                created_at=self.ctx.now(),
            )
            db.add(key)
            db.commit()
        log.info("user %s created API key %s on team %s", actor_user_id, key.id, team_id)
        return CreatedApiKey(_view(key), secret)

    def list(self, team_id: str) -> list[ApiKeyView]:
        """Every key of the team, revoked ones too, newest first."""
        with self.ctx.db() as db:
            keys = db.exec(
                select(ApiKey)
                .where(ApiKey.team_id == team_id)
                .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id))
            ).all()
        return [_view(key) for key in keys]

    def revoke(self, team_id: str, actor_user_id: str, key_id: str) -> None:
        """Revoking twice is harmless; another team's key is ``not_found``."""
        with self.ctx.db() as db:
            require_manager(db, team_id, actor_user_id)
            key = db.get(ApiKey, key_id)
            if key is None or key.team_id != team_id:
                raise NotFoundError("no such API key", code=errors.NOT_FOUND)
            if key.revoked_at is None:
                key.revoked_at = self.ctx.now()
                db.add(key)
                db.commit()
        log.info("user %s revoked API key %s on team %s", actor_user_id, key_id, team_id)

    def resolve(self, secret: str) -> ApiKey:
        """The live key ``secret`` is (``token_invalid`` otherwise); its ``last_used_at`` is
        refreshed at most once per ``api_key_last_used_resolution_seconds``."""
        now = self.ctx.now()
        stale = now - timedelta(seconds=self.ctx.settings.api_key_last_used_resolution_seconds)
        with self.ctx.db() as db:
            key = db.exec(select(ApiKey).where(ApiKey.key_sha256 == digest(secret))).first()
            if key is None or key.revoked_at is not None:
                raise UnauthenticatedError("unknown or revoked API key", code=errors.TOKEN_INVALID)
            if key.last_used_at is None or key.last_used_at <= stale:
                db.connection().execute(
                    update(ApiKey).where(col(ApiKey.id) == key.id).values(last_used_at=now)
                )
                db.commit()
        return key

"""The tokens of mailed links (verify an address, reset a password): issued, then spent once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select, update

from globalpic_auth.context import AuthContext
from globalpic_auth.models import EmailPurpose, EmailToken
from globalpic_auth.tokens import digest, new_token, require_live
from globalpic_common import errors
from globalpic_common.errors import UnauthenticatedError


def issue(ctx: AuthContext, db: Session, user_id: str, purpose: EmailPurpose, ttl_s: int) -> str:
    """A new token for the user (the caller commits, then mails it)."""
    token = new_token()
    db.add(
        EmailToken(
            token_sha256=digest(token),
            user_id=user_id,
            purpose=purpose.value,
            expires_at=ctx.after(ttl_s),
            created_at=ctx.now(),
        )
    )
    return token


def _what(purpose: EmailPurpose) -> str:
    return "verification link" if purpose == EmailPurpose.VERIFY else "reset link"


def peek(ctx: AuthContext, db: Session, token: str, purpose: EmailPurpose) -> EmailToken:
    """The token's row if it is usable: ``token_invalid`` when unknown, of another purpose or
    already used, ``token_expired`` when too old."""
    row = db.get(EmailToken, digest(token))
    if row is None or row.purpose != purpose.value:
        raise UnauthenticatedError(f"unknown {_what(purpose)}", code=errors.TOKEN_INVALID)
    require_live(used_at=row.used_at, expires_at=row.expires_at, now=ctx.now(), what=_what(purpose))
    return row


def spend(ctx: AuthContext, db: Session, token: str, purpose: EmailPurpose) -> EmailToken:
    """``peek``, and the row marked used."""
    now = ctx.now()
    what = _what(purpose)
    row = peek(ctx, db, token, purpose)
    spent = db.connection().execute(
        update(EmailToken)
        .where(col(EmailToken.token_sha256) == row.token_sha256)
        .where(col(EmailToken.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount == 0:  # spent by a concurrent call since we read it
        raise UnauthenticatedError(f"the {what} was already used", code=errors.TOKEN_INVALID)
    return row


def retire(ctx: AuthContext, db: Session, user_id: str, purpose: EmailPurpose) -> None:
    """Spend the user's outstanding tokens of ``purpose`` (the password changed: older reset
    links must not work any more)."""
    db.connection().execute(
        update(EmailToken)
        .where(col(EmailToken.user_id) == user_id)
        .where(col(EmailToken.purpose) == purpose.value)
        .where(col(EmailToken.used_at).is_(None))
        .values(used_at=ctx.now())
    )


def issued_since(db: Session, user_id: str, purpose: EmailPurpose, since: datetime) -> bool:
    found = db.exec(
        select(EmailToken.token_sha256)
        .where(EmailToken.user_id == user_id)
        .where(EmailToken.purpose == purpose.value)
        .where(col(EmailToken.created_at) > since)
    ).first()
    return found is not None

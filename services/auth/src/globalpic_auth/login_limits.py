"""Brute-force limits on passwords: per account (a lockout) and per client address (a window).

Per account: ``login_max_failures`` wrong passwords in a row lock it for
``login_lock_seconds`` (``account_locked``; even the right password is refused meanwhile); a
success starts the count again. Per address: ``ip_max_failures`` wrong logins within
``ip_window_seconds`` refuse further attempts from it (``rate_limited``) until the oldest
leaves the window. A success does not clear the address's count: one valid account would
otherwise reset an attacker's budget for guessing the others.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, func, select, update

from globalpic_auth.context import AuthContext
from globalpic_auth.models import LoginFailure, User
from globalpic_common import errors
from globalpic_common.errors import RateLimitedError


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


class LoginLimits:
    def __init__(self, ctx: AuthContext) -> None:
        self.ctx = ctx

    def check_address(self, db: Session, client_ip: str) -> None:
        # No address (an in-process caller, a test): nothing to count against.
        if not client_ip:
            return
        settings = self.ctx.settings
        now = self.ctx.now()
        since = now - timedelta(seconds=settings.ip_window_seconds)
        count, oldest = db.exec(
            select(func.count(), func.min(LoginFailure.at))
            .where(LoginFailure.client_ip == client_ip)
            .where(col(LoginFailure.at) > since)
        ).one()
        if count >= settings.ip_max_failures and oldest is not None:
            retry = oldest + timedelta(seconds=settings.ip_window_seconds)
            raise RateLimitedError(
                # The class's own code: rate_limited.
                "too many failed logins from this address; try again later",
                retry_after_s=_seconds_until(retry, now),
            )

    def record_address_failure(self, db: Session, client_ip: str) -> None:
        if not client_ip:
            return
        now = self.ctx.now()
        since = now - timedelta(seconds=self.ctx.settings.ip_window_seconds)
        db.connection().execute(delete(LoginFailure).where(col(LoginFailure.at) <= since))
        db.add(LoginFailure(client_ip=client_ip, at=now))

    def check_account(self, user: User) -> None:
        now = self.ctx.now()
        if user.locked_until is not None and user.locked_until > now:
            raise RateLimitedError(
                "too many wrong passwords; the account is locked for a while",
                code=errors.ACCOUNT_LOCKED,
                retry_after_s=_seconds_until(user.locked_until, now),
            )

    def record_account_failure(self, db: Session, user_id: str) -> None:
        settings = self.ctx.settings
        # Incremented in SQL: concurrent wrong passwords each count.
        db.connection().execute(
            update(User)
            .where(col(User.id) == user_id)
            .values(failed_logins=col(User.failed_logins) + 1)
        )
        failures = db.exec(select(User.failed_logins).where(User.id == user_id)).one()
        if failures >= settings.login_max_failures:
            # The count starts again after the lock: the next lock needs as many failures.
            db.connection().execute(
                update(User)
                .where(col(User.id) == user_id)
                .values(failed_logins=0, locked_until=self.ctx.after(settings.login_lock_seconds))
            )

    def clear_account(self, db: Session, user_id: str) -> None:
        db.connection().execute(
            update(User).where(col(User.id) == user_id).values(failed_logins=0, locked_until=None)
        )

"""Teams: members, invitations by mail, removal.

Owners and admins manage a team; an admin can neither invite nor remove an owner, and a team
never loses its last owner. Anyone may leave a team (remove themselves), the last owner
excepted. A removed member's sessions on the team end at once, so their access tokens stop
authenticating. Which plan may invite is the gateway's business, not this service's.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, delete, select, update

from globalpic_auth.context import AuthContext
from globalpic_auth.memberships import require_manager, role_of
from globalpic_auth.models import Invitation, Membership, Role, Team, User
from globalpic_auth.policy import normalize_email
from globalpic_auth.results import InvitationView, Members, MemberView, TokenPair
from globalpic_auth.sessions import Sessions
from globalpic_auth.tokens import digest, new_token, require_live
from globalpic_common import errors
from globalpic_common.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

log = logging.getLogger(__name__)


def _invitation_view(invitation: Invitation) -> InvitationView:
    return InvitationView(
        invitation.id, invitation.email, Role(invitation.role), invitation.expires_at
    )


class Teams:
    def __init__(self, ctx: AuthContext, sessions: Sessions) -> None:
        self.ctx = ctx
        self.sessions = sessions

    def list_members(self, team_id: str) -> Members:
        with self.ctx.db() as db:
            members = db.exec(
                select(Membership, User.email)
                .join(User, col(User.id) == col(Membership.user_id))
                .where(Membership.team_id == team_id)
                .order_by(col(Membership.joined_at), col(Membership.user_id))
            ).all()
            pending = db.exec(
                select(Invitation)
                .where(Invitation.team_id == team_id)
                .where(col(Invitation.accepted_at).is_(None))
                .where(col(Invitation.expires_at) > self.ctx.now())
                .order_by(col(Invitation.created_at))
            ).all()
        return Members(
            members=tuple(
                MemberView(member.user_id, email, Role(member.role), member.joined_at)
                for member, email in members
            ),
            invitations=tuple(_invitation_view(each) for each in pending),
        )

    def invite(self, team_id: str, actor_user_id: str, email: str, role: Role) -> InvitationView:
        """A pending invitation, mailed; one to the same address before is replaced (its
        link stops working)."""
        email = normalize_email(email)
        ttl = self.ctx.settings.invitation_ttl_seconds
        with self.ctx.db() as db:
            actor_role = require_manager(db, team_id, actor_user_id)
            if role == Role.OWNER and actor_role != Role.OWNER:
                raise PermissionDeniedError(
                    "only an owner may invite an owner", code=errors.FORBIDDEN
                )
            if self._member_email_exists(db, team_id, email):
                raise ConflictError(
                    "this address already belongs to a member", code=errors.EMAIL_TAKEN
                )
            db.connection().execute(
                delete(Invitation)
                .where(col(Invitation.team_id) == team_id)
                .where(col(Invitation.email) == email)
                .where(col(Invitation.accepted_at).is_(None))
            )
            token = new_token()
            invitation = Invitation(
                team_id=team_id,
                email=email,
                role=role.value,
                token_sha256=digest(token),
                expires_at=self.ctx.after(ttl),
                invited_by=actor_user_id,
                created_at=self.ctx.now(),
            )
            db.add(invitation)
            team = db.get(Team, team_id)
            inviter = db.get(User, actor_user_id)
            db.commit()
        team_name = team.name if team is not None else "a team"
        inviter_email = inviter.email if inviter is not None else "A GlobalPic user"
        self.ctx.mailer.send(
            self.ctx.mails.invitation(email, token, ttl, team=team_name, inviter=inviter_email)
        )
        log.info("user %s invited %s to team %s as %s", actor_user_id, email, team_id, role.value)
        return _invitation_view(invitation)

    def _member_email_exists(self, db: Session, team_id: str, email: str) -> bool:
        found = db.exec(
            select(Membership.user_id)
            .join(User, col(User.id) == col(Membership.user_id))
            .where(Membership.team_id == team_id)
            .where(User.email == email)
        ).first()
        return found is not None

    def accept(self, token: str, user_id: str) -> TokenPair:
        """The user joins the invitation's team (their email must be the invitation's) and
        it becomes their current team: a pair for a new session on it. Accepting again is
        harmless while they are a member."""
        now = self.ctx.now()
        with self.ctx.db() as db:
            invitation = db.exec(
                select(Invitation).where(Invitation.token_sha256 == digest(token))
            ).first()
            if invitation is None:
                raise UnauthenticatedError("unknown invitation", code=errors.TOKEN_INVALID)
            user = db.get(User, user_id)
            if user is None:
                raise NotFoundError("no such user", code=errors.NOT_FOUND)
            if user.email != invitation.email:
                raise PermissionDeniedError(
                    "this invitation is for another email address", code=errors.FORBIDDEN
                )
            already = role_of(db, invitation.team_id, user.id) is not None
            if invitation.accepted_at is None:
                require_live(
                    used_at=None, expires_at=invitation.expires_at, now=now, what="invitation"
                )
                invitation.accepted_at = now
                db.add(invitation)
                if not already:
                    db.add(
                        Membership(
                            team_id=invitation.team_id,
                            user_id=user.id,
                            role=invitation.role,
                            joined_at=now,
                        )
                    )
            elif not already:
                raise UnauthenticatedError(
                    "the invitation was already used", code=errors.TOKEN_INVALID
                )
            # The link came by mail to this address: whoever holds it reads that mailbox.
            db.connection().execute(
                update(User)
                .where(col(User.id) == user.id)
                .values(current_team_id=invitation.team_id, email_verified=True)
            )
            db.flush()
            pair = self.sessions.start(db, user.id, invitation.team_id)
            db.commit()
        log.info("user %s joined team %s", user.id, invitation.team_id)
        return pair

    def remove(self, team_id: str, actor_user_id: str, user_id: str) -> None:
        with self.ctx.db() as db:
            actor_role = role_of(db, team_id, actor_user_id)
            if actor_user_id != user_id:
                require_manager(db, team_id, actor_user_id)
            target_role = role_of(db, team_id, user_id)
            if target_role is None:
                raise NotFoundError("no such member", code=errors.NOT_FOUND)
            if target_role == Role.OWNER:
                if actor_role != Role.OWNER:
                    raise PermissionDeniedError(
                        "only an owner may remove an owner", code=errors.FORBIDDEN
                    )
                self._keep_an_owner(db, team_id)
            db.connection().execute(
                delete(Membership)
                .where(col(Membership.team_id) == team_id)
                .where(col(Membership.user_id) == user_id)
            )
            self.sessions.revoke_all(db, user_id, team_id=team_id)
            # Their next login picks another team (memberships.home_team_id).
            db.connection().execute(
                update(User)
                .where(col(User.id) == user_id)
                .where(col(User.current_team_id) == team_id)
                .values(current_team_id=None)
            )
            db.commit()
        log.info("user %s removed user %s from team %s", actor_user_id, user_id, team_id)

    def _keep_an_owner(self, db: Session, team_id: str) -> None:
        # Locked (PostgreSQL; SQLite's transactions are serialised anyway) so that two owners
        # removing each other at once cannot both pass.
        owners = db.exec(
            select(Membership)
            .where(Membership.team_id == team_id)
            .where(Membership.role == Role.OWNER.value)
            .with_for_update()
        ).all()
        if len(owners) <= 1:
            raise PermissionDeniedError(
                "the team's last owner cannot be removed", code=errors.LAST_OWNER
            )

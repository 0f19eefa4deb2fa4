"""Who belongs to which team, with which role: the checks teams, API keys and sessions share."""

from __future__ import annotations

from sqlmodel import Session, col, select

from globalpic_auth.models import Membership, Role, Team, User
from globalpic_common import errors
from globalpic_common.errors import PermissionDeniedError


def role_of(db: Session, team_id: str, user_id: str) -> Role | None:
    membership = db.get(Membership, (team_id, user_id))
    return Role(membership.role) if membership is not None else None


def require_manager(db: Session, team_id: str, actor_user_id: str) -> Role:
    """The actor's role when it is owner or admin of the team, else ``forbidden``."""
    role = role_of(db, team_id, actor_user_id)
    if role is None or not role.manages_team:
        raise PermissionDeniedError(
            "only the team's owners and admins may do this", code=errors.FORBIDDEN
        )
    return role


def teams_of(db: Session, user_id: str) -> list[tuple[Team, Role]]:
    """The user's teams, oldest membership first."""
    rows = db.exec(
        select(Team, Membership.role)
        .join(Membership, col(Membership.team_id) == col(Team.id))
        .where(Membership.user_id == user_id)
        .order_by(col(Membership.joined_at), col(Team.id))
    ).all()
    return [(team, Role(role)) for team, role in rows]


def home_team_id(db: Session, user: User) -> str:
    """The team a login signs into: the current one while the user still belongs to it, else
    the oldest membership (the personal team, which always keeps its owner)."""
    if user.current_team_id and role_of(db, user.current_team_id, user.id) is not None:
        return user.current_team_id
    teams = teams_of(db, user.id)
    if not teams:
        raise PermissionDeniedError("the account belongs to no team", code=errors.FORBIDDEN)
    return teams[0][0].id

"""Wire schemas of the account routes: sign-up, tokens, the caller, teams, API keys, billing.

The auth and billing services speak protobuf; these are their REST faces (and the converters
from the proto messages), so the web app and integrators see one JSON style with the job
routes. No schema here ever carries a password hash, a refresh token's hash or a stored key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from globalpic.auth.v1 import auth_pb2
from globalpic.billing.v1 import billing_pb2

RoleName = Literal["owner", "admin", "member"]
Scope = Literal["jobs:read", "jobs:write"]
_ROLE_NAMES: dict[auth_pb2.Role.ValueType, RoleName] = {
    auth_pb2.ROLE_OWNER: "owner",
    auth_pb2.ROLE_ADMIN: "admin",
    auth_pb2.ROLE_MEMBER: "member",
}
ROLE_VALUES = {name: value for value, name in _ROLE_NAMES.items()}


ALL_SCOPES: tuple[Scope, ...] = ("jobs:read", "jobs:write")


def role_name(value: auth_pb2.Role.ValueType) -> RoleName:
    return _ROLE_NAMES.get(value, "member")


class Credentials(BaseModel):
    email: str = Field(max_length=254, examples=["seller@example.com"])
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: str
    email: str
    email_verified: bool
    created_at: str

    @classmethod
    def of(cls, user: auth_pb2.User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            email_verified=user.email_verified,
            created_at=user.created_at,
        )


class TeamOut(BaseModel):
    id: str
    name: str
    personal: bool

    @classmethod
    def of(cls, team: auth_pb2.Team) -> TeamOut:
        return cls(id=team.id, name=team.name, personal=team.personal)


class SignUpOut(BaseModel):
    user: UserOut
    team: TeamOut
    verification_required: bool = Field(
        description="A link was mailed: sign-in waits until the address is verified"
    )


class TokenOut(BaseModel):
    """OAuth2's token response (RFC 6749 section 5.1)."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid")

    @classmethod
    def of(cls, pair: auth_pb2.TokenPair) -> TokenOut:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
        )


class RefreshIn(BaseModel):
    refresh_token: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        description="Integrators: the refresh token; the web app sends none (its cookie)",
    )


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordResetIn(BaseModel):
    email: str = Field(max_length=254)


class PasswordResetConfirmIn(BaseModel):
    token: str = Field(min_length=1, max_length=512)
    new_password: str = Field(min_length=1, max_length=1024)


class TokenIn(BaseModel):
    token: str = Field(min_length=1, max_length=512)


class PlanOut(BaseModel):
    id: str
    name: str
    monthly_price_cents: int
    image_price_cents: int
    included_images: int = Field(description="Images included in total (0: not this way)")
    max_batch: int
    max_output_px: int
    fair_use_images: int = Field(description="Images a month before throttling (0: never)")
    api_keys: bool
    team_members: bool
    subscription: bool

    @classmethod
    def of(cls, plan: billing_pb2.Plan) -> PlanOut:
        return cls(
            id=plan.id,
            name=plan.name,
            monthly_price_cents=plan.monthly_price_cents,
            image_price_cents=plan.image_price_cents,
            included_images=plan.included_images,
            max_batch=plan.max_batch,
            max_output_px=plan.max_output_px,
            fair_use_images=plan.fair_use_images,
            api_keys=plan.api_keys,
            team_members=plan.team_members,
            subscription=plan.subscription,
        )


class PackOut(BaseModel):
    id: str
    images: int
    price_cents: int

    @classmethod
    def of(cls, pack: billing_pb2.CreditPack) -> PackOut:
        return cls(id=pack.id, images=pack.images, price_cents=pack.price_cents)


class PlansOut(BaseModel):
    plans: list[PlanOut]
    packs: list[PackOut]


class AccountOut(BaseModel):
    plan: PlanOut
    remaining_images: int | None = Field(description="Images you may still submit; null: unlimited")
    credits: int
    trial_remaining: int
    subscription_status: str | None
    current_period_end: str | None
    images_this_month: int
    throttled: bool

    @classmethod
    def of(cls, account: billing_pb2.Account) -> AccountOut:
        return cls(
            plan=PlanOut.of(account.plan),
            remaining_images=None if account.remaining_images < 0 else account.remaining_images,
            credits=account.credits,
            trial_remaining=account.trial_remaining,
            subscription_status=account.subscription_status or None,
            current_period_end=account.current_period_end or None,
            images_this_month=account.images_this_month,
            throttled=account.throttled,
        )


class MeOut(BaseModel):
    user: UserOut | None = Field(description="null when called with an API key")
    team: TeamOut | None
    role: RoleName
    teams: list[TeamOut]
    credential: Literal["settings_key", "api_key", "access_token"]
    account: AccountOut | None = Field(description="Plan, limits and what is left; null: unmetered")


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["shopify-sync"])
    scopes: list[Scope] = Field(default_factory=lambda: list(ALL_SCOPES))


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    scopes: list[str]
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, key: auth_pb2.ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=list(key.scopes),
            created_at=key.created_at,
            last_used_at=key.last_used_at or None,
            revoked_at=key.revoked_at or None,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, store it now")


class MemberOut(BaseModel):
    user_id: str
    email: str
    role: RoleName
    joined_at: str

    @classmethod
    def of(cls, member: auth_pb2.Member) -> MemberOut:
        return cls(
            user_id=member.user_id,
            email=member.email,
            role=role_name(member.role),
            joined_at=member.joined_at,
        )


class InvitationOut(BaseModel):
    id: str
    email: str
    role: RoleName
    expires_at: str

    @classmethod
    def of(cls, invitation: auth_pb2.Invitation) -> InvitationOut:
        return cls(
            id=invitation.id,
            email=invitation.email,
            role=role_name(invitation.role),
            expires_at=invitation.expires_at,
        )


class MembersOut(BaseModel):
    members: list[MemberOut]
    invitations: list[InvitationOut]


class InvitationIn(BaseModel):
    email: str = Field(max_length=254)
    role: RoleName = "member"


class _CheckoutPages(BaseModel):
    # Extra fields refused: a body naming both a plan and a pack is neither kind of checkout
    # (the schema says so too: additionalProperties false on each).
    model_config = ConfigDict(extra="forbid")

    success_url: str | None = Field(None, max_length=2048)
    cancel_url: str | None = Field(None, max_length=2048)


class PlanCheckoutIn(_CheckoutPages):
    plan: Literal["personal", "enterprise"]


class PackCheckoutIn(_CheckoutPages):
    pack: Literal["pack_10", "pack_50", "pack_200"]


# A subscription or a credit pack: exactly one of them.
CheckoutIn = PlanCheckoutIn | PackCheckoutIn


class UrlOut(BaseModel):
    url: str


class InvoiceOut(BaseModel):
    id: str
    amount_paid_cents: int
    currency: str
    status: str
    created_at: str
    hosted_invoice_url: str | None

    @classmethod
    def of(cls, invoice: billing_pb2.Invoice) -> InvoiceOut:
        return cls(
            id=invoice.id,
            amount_paid_cents=invoice.amount_paid_cents,
            currency=invoice.currency,
            status=invoice.status,
            created_at=invoice.created_at,
            hosted_invoice_url=invoice.hosted_invoice_url or None,
        )


class UsageOut(BaseModel):
    account: AccountOut
    images_charged: int
    images_reserved: int = Field(description="Held by jobs still running")
    credits_bought: int
    credits_used: int
    invoices: list[InvoiceOut]

    @classmethod
    def of(cls, usage: billing_pb2.Usage) -> UsageOut:
        return cls(
            account=AccountOut.of(usage.account),
            images_charged=usage.images_charged,
            images_reserved=usage.images_reserved,
            credits_bought=usage.credits_bought,
            credits_used=usage.credits_used,
            invoices=[InvoiceOut.of(i) for i in usage.invoices],
        )


class WebhookOut(BaseModel):
    received: bool = True
    applied: bool = Field(description="False when seen before or of a type we do not act on")

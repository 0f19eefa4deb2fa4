"""The load phase's users, as production has them: one team of the auth service, and an API key
of that team for each simulated user (and one more for whoever submits the batch).

Why the auth service and not settings keys (``GLOBALPIC_GATEWAY__API_KEYS``): the gateway's rate
limiter counts a team's API key on its own (partition ``key:<key id>``), but a settings key with
its whole tenant (``tenant:<id>``, ``ratelimit.partition_of``). 100 settings keys of the
bench's tenant would share one budget (20 reads/s on the default plan) and be throttled
together; 100 tenants could not read the one job. Team keys are what separate customers'
integrations use, and each reads the team's job with a budget of its own.

No billing service runs, so the gateway gives every team key the ``default`` plan's budgets
(``rate_limit_plans``: 20 reads/s, 2 submissions/s, 10 streams open at once), as it does for
a team when billing does not answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from globalpic_clients.auth import AuthClient
from globalpic_dev.natsd import free_port

AUTH = "auth"  # the process's name in the platform (logs/auth.log)
AUTH_SCRIPT = "globalpic-auth-server"
PASSWORD = "bench platform password"


def auth_env(port: int, database_url: str) -> dict[str, str]:
    """The auth service's settings (development: a random JWT secret, no email to verify)."""
    return {
        "GLOBALPIC_AUTH__HOST": "127.0.0.1",
        "GLOBALPIC_AUTH__PORT": str(port),
        "GLOBALPIC_AUTH__METRICS_PORT": str(free_port()),
        "GLOBALPIC_AUTH__DATABASE_URL": database_url,
        "GLOBALPIC_AUTH__REQUIRE_EMAIL_VERIFICATION": "false",
    }


def auth_database(platform_url: str, work_dir: Path) -> str:
    """PostgreSQL: the platform's database (auth keeps its own tables there, as in
    ``tests.support.accounts_stack``). SQLite: a file of its own, so that its writes never lock
    the gateway's file."""
    if platform_url.startswith("sqlite"):
        return f"sqlite:///{work_dir / 'auth.db'}"
    return platform_url


@dataclass(frozen=True)
class TeamKeys:
    team_id: str
    owner: str  # submits and follows the batch: its budget is nobody's of the users
    users: list[str]  # one per simulated user

    @staticmethod
    def headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    @property
    def owner_headers(self) -> dict[str, str]:
        return self.headers(self.owner)

    @property
    def user_headers(self) -> list[dict[str, str]]:
        return [self.headers(key) for key in self.users]


def team_keys(auth_addr: str, users: int) -> TeamKeys:
    """Sign a new team up and create ``users`` + 1 API keys of it (every scope)."""
    with AuthClient(auth_addr) as client:
        created = client.sign_up(f"bench-{uuid.uuid4().hex[:12]}@example.com", PASSWORD)
        team, user = created.team.id, created.user.id
        keys = [
            client.create_api_key(team, user, f"bench-load-{n}").secret for n in range(users + 1)
        ]
    return TeamKeys(team, keys[0], keys[1:])

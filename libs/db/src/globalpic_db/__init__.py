"""Database plumbing shared by the stateful services (jobs, auth, billing): one engine recipe,
one way to run a service's own Alembic migrations."""

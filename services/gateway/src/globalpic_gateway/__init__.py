"""GlobalPic gateway: the public REST API, SSE progress, job persistence and the job runner.

Layout follows the FastAPI full-stack template: ``core/`` (settings, database, auth, errors,
uploads, messaging), ``models/`` (SQLModel tables), ``api/routes/`` (one module per resource),
``migrations/`` (Alembic), ``runner.py`` (the NATS consumer, its own process) and ``dev.py``
(``make dev``).
"""

"""GlobalPic gateway: the public REST API, SSE progress, job persistence and the job runner.

Layout follows the FastAPI full-stack template: ``core/`` (settings, database, auth, errors,
uploads, messaging), ``models/`` (SQLModel tables), ``api/routes/`` (one module per resource),
``migrations/`` (Alembic) and ``runner.py`` (the NATS consumer, its own process). ``make dev``
is ``tools/dev`` (``globalpic_dev``), the test harness ``tests/support/gateway_harness.py``.
"""

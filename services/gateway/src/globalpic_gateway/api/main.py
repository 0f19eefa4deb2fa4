"""Every router of the API, in one place."""

from fastapi import APIRouter, Depends

from globalpic_gateway.api.deps import reject_unknown_query
from globalpic_gateway.api.routes import (
    account,
    auth,
    billing,
    catalog,
    events,
    files,
    health,
    jobs,
    reruns,
    results,
    webhooks,
)

api_router = APIRouter(dependencies=[Depends(reject_unknown_query)])
api_router.include_router(jobs.router)
api_router.include_router(events.router)
api_router.include_router(results.router)
api_router.include_router(reruns.router)
api_router.include_router(catalog.router)
api_router.include_router(files.router)
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(account.router)
api_router.include_router(billing.router)
api_router.include_router(webhooks.router)

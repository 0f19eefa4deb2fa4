"""GlobalPic's REST API from Python: ``GlobalPic`` (sync) and ``AsyncGlobalPic``.

    from globalpic_client import GlobalPic

    with GlobalPic("https://api.globalpic.example", api_key="gp_live_...") as gp:
        job = gp.submit(["mug.jpg"], ops="clean,extract,remix,resize", platform="amazon")
        job = gp.wait(job.id)
        gp.download_zip(job.id, to="results.zip")

Errors are ``GlobalPicError`` (status, code, detail, retry_after) from the API's
problem+json; ``globalpic_client.webhooks.verify`` checks Standard Webhooks signatures.
"""

from __future__ import annotations

from globalpic_client._client import AsyncGlobalPic, GlobalPic
from globalpic_client._errors import GlobalPicError, WaitTimeoutError
from globalpic_client._models import (
    Adjustment,
    ErrorInfo,
    Event,
    Job,
    JobImage,
    JobLinks,
    JobOptions,
    JobPage,
    JobSummary,
    Output,
    RerunOf,
    RuleResult,
)

__all__ = [
    "Adjustment",
    "AsyncGlobalPic",
    "ErrorInfo",
    "Event",
    "GlobalPic",
    "GlobalPicError",
    "Job",
    "JobImage",
    "JobLinks",
    "JobOptions",
    "JobPage",
    "JobSummary",
    "Output",
    "RerunOf",
    "RuleResult",
    "WaitTimeoutError",
]
__version__ = "0.1.0"

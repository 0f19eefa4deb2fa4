"""The one place that picks the configured writer.

``OfflineCopywriter``, ``OpenAICopywriter`` and the gRPC ``CopywritingClient`` all implement
``globalpic_common.interfaces.Copywriter``, so the pipeline (``globalpic copy``, ``localize
--ops ...,copy``, the orchestrator) never knows which one writes.
"""

from __future__ import annotations

from globalpic_common.interfaces import Copywriter
from globalpic_copywriting.settings import CopywritingSettings


def build_copywriter(settings: CopywritingSettings | None = None) -> Copywriter:
    """The writer ``GLOBALPIC_COPYWRITING__BACKEND`` names (offline unless told otherwise)."""
    settings = settings or CopywritingSettings()
    from globalpic_copywriting.offline import OfflineCopywriter

    offline = OfflineCopywriter(seed=settings.seed)
    if settings.backend == "openai":
        from globalpic_copywriting.openai_backend import OpenAICopywriter

        return OpenAICopywriter(settings, offline)
    return offline

"""The ``Copywriter`` interface and the one place that picks the configured writer.

``OfflineCopywriter``, ``OpenAICopywriter`` and the gRPC ``CopywritingClient`` all implement
it, so the pipeline (``globalpic copy``, ``localize --ops ...,copy``, the job runner) never
knows which one writes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from globalpic_common.schemas import CopyReport
from globalpic_copywriting.facts import CopyFacts
from globalpic_copywriting.settings import CopywritingSettings

DEFAULT_VARIANTS = 5


@runtime_checkable
class Copywriter(Protocol):
    """Writes ``n`` A/B variants of one product's copy for one platform.

    ``platform``: amazon, ebay, shopify, tiktok, instagram, facebook (or a preset id such as
    ``shopify-product``); an unknown one is ``BadInputError`` ``unknown_platform``. The report
    carries every rule and quality check; ``report.image`` is left for the caller.
    """

    name: str

    def load(self) -> None: ...

    def write(self, facts: CopyFacts, platform: str, n: int = DEFAULT_VARIANTS) -> CopyReport: ...


def build_copywriter(settings: CopywritingSettings | None = None) -> Copywriter:
    """The writer ``GLOBALPIC_COPYWRITING__BACKEND`` names (offline unless told otherwise)."""
    settings = settings or CopywritingSettings()
    from globalpic_copywriting.offline import OfflineCopywriter

    offline = OfflineCopywriter(seed=settings.seed)
    if settings.backend == "openai":
        from globalpic_copywriting.openai_backend import OpenAICopywriter

        return OpenAICopywriter(settings, offline)
    return offline

"""Which writer a name in the settings means: the one place that maps
``GLOBALPIC_COPYWRITING__BACKEND`` to a class (the server and the composition roots build
through ``build_copywriter``).

``OfflineCopywriter``, ``OpenAICopywriter`` and the gRPC ``CopywritingClient`` all implement
``globalpic_common.interfaces.Copywriter``, so the pipeline (``globalpic copy``, ``localize
--ops ...,copy``, the orchestrator) never knows which one writes. The builders import their
class when called: the OpenAI client library loads only where it is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from globalpic_common.interfaces import Copywriter
from globalpic_copywriting.settings import CopywritingSettings


def _offline(settings: CopywritingSettings) -> Copywriter:
    from globalpic_copywriting.offline import OfflineCopywriter

    return OfflineCopywriter(seed=settings.seed)


def _openai(settings: CopywritingSettings) -> Copywriter:
    """An OpenAI-compatible model, with the offline writer as its fallback."""
    from globalpic_copywriting.offline import OfflineCopywriter
    from globalpic_copywriting.openai_backend import OpenAICopywriter

    return OpenAICopywriter(settings, OfflineCopywriter(seed=settings.seed))


COPYWRITERS: MappingProxyType[str, Callable[[CopywritingSettings], Copywriter]] = MappingProxyType(
    {"offline": _offline, "openai": _openai}
)


def build_copywriter(settings: CopywritingSettings | None = None) -> Copywriter:
    """The writer the settings name (offline unless told otherwise)."""
    settings = settings or CopywritingSettings()
    return COPYWRITERS[settings.backend](settings)

"""Which inpainter a name in the settings means: the one place that maps
``GLOBALPIC_GENERATION__INPAINTER`` to a class (the server and the composition roots build
through ``build_inpainter``).

Building is cheap and loads nothing: the Z-Image backend imports torch and diffusers when it
loads its weights, not here."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from globalpic_common.interfaces import Inpainter
from globalpic_generation.inpaint import (
    AutoInpainter,
    OpenCvInpainter,
    PatchMatchInpainter,
    PushPullInpainter,
)
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.zimage import ZImageInpainter

INPAINTERS: MappingProxyType[str, Callable[[GenerationSettings], Inpainter]] = MappingProxyType(
    {
        "auto": AutoInpainter,  # the default: one of the three CPU fills per group of regions
        "opencv": OpenCvInpainter,
        "pushpull": PushPullInpainter,
        "patchmatch": PatchMatchInpainter,
        "zimage": ZImageInpainter,  # generative (GPU; the ``zimage`` extra and its weights)
    }
)


def build_inpainter(settings: GenerationSettings | None = None) -> Inpainter:
    """The inpainter the settings name (``GenerationSettings.inpainter``)."""
    settings = settings or GenerationSettings()
    return INPAINTERS[settings.inpainter](settings)

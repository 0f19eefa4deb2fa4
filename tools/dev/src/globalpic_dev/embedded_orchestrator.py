"""An orchestrator with the models in its own process, for ``make dev --in-process`` (and a
``make dev`` that finds a model service's console script missing).

The orchestrator proper (``globalpic-orchestrator``) reaches every model through its service;
this is the same runner on the CLI's embedded composition root (``globalpic_cli.embedded``),
so one machine runs the platform without the gRPC services. Any
``GLOBALPIC_PIPELINE__<SERVICE>_ADDR`` set still sends that service's calls over gRPC.
"""

from __future__ import annotations

import asyncio

from globalpic_cli.embedded import localizer_from_settings
from globalpic_orchestrator.pipeline.backends import PipelineSettings
from globalpic_orchestrator.processing import LocalizerProcessor, backend_label
from globalpic_orchestrator.runner import lower_priority, serve
from globalpic_orchestrator.settings import get_settings


def main() -> None:
    settings = get_settings()
    lower_priority(settings.nice)  # before the models start their threads
    pipeline = PipelineSettings()
    processor = LocalizerProcessor(
        localizer_from_settings(pipeline),
        settings.image_limits(),
        settings.output_format,
        backend_label(pipeline),
    )
    asyncio.run(serve(settings, processor))


if __name__ == "__main__":
    main()

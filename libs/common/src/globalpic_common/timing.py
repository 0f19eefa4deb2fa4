"""Per-stage wall-clock timing for reports, optionally fed to Prometheus as well."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimer:
    """Accumulates seconds per stage name; a stage entered twice adds up.

    With ``backend`` set, every stage's duration is also observed into the
    ``globalpic_stage_seconds{stage, backend}`` histogram (``globalpic_common.metrics``).
    """

    def __init__(self, backend: str | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.backend = backend

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 4)
            if self.backend is not None:
                # Imported here: the CLI times stages without ever loading prometheus_client.
                from globalpic_common.metrics import STAGE_SECONDS

                STAGE_SECONDS.labels(stage=name, backend=self.backend).observe(elapsed)

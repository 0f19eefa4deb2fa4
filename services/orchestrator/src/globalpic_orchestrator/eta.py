"""ETA per image: how long images with the same ops took on this runner, minus the elapsed time.

Until a runner has finished one image of a kind it extrapolates from the progress percent
(``elapsed * (100 - p) / p``); before any time has passed it says nothing (null) rather than
guess. Estimates are per ops set, because ``clean`` (OCR + inpainting) costs several times
what ``extract`` alone does.
"""

from __future__ import annotations

import threading

# Weight of the newest duration: recent images (same machine load) count most.
_ALPHA = 0.3
_MIN_ELAPSED = 0.05


class EtaEstimator:
    def __init__(self) -> None:
        self._mean: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe(self, kind: str, seconds: float) -> None:
        with self._lock:
            previous = self._mean.get(kind)
            self._mean[kind] = (
                seconds if previous is None else _ALPHA * seconds + (1 - _ALPHA) * previous
            )

    def eta(self, kind: str, elapsed: float, percent: int) -> float | None:
        if percent >= 100:
            return 0.0
        with self._lock:
            mean = self._mean.get(kind)
        if mean is not None:
            # Never claim "done" while the image still runs: at least a tenth of a second.
            return round(max(mean - elapsed, 0.1), 2)
        if percent <= 0 or elapsed < _MIN_ELAPSED:
            return None
        return round(elapsed * (100 - percent) / percent, 2)

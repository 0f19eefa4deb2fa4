"""ETA: extrapolated at first, then learned per ops set."""

from __future__ import annotations

from globalpic_orchestrator.eta import EtaEstimator


def test_nothing_known_means_no_guess() -> None:
    assert EtaEstimator().eta("extract", elapsed=0.0, percent=10) is None


def test_extrapolates_from_progress_until_an_image_finished() -> None:
    assert EtaEstimator().eta("extract", elapsed=2.0, percent=50) == 2.0


def test_learns_per_ops_set() -> None:
    eta = EtaEstimator()
    eta.observe("clean,extract", 10.0)
    eta.observe("extract", 1.0)
    assert eta.eta("clean,extract", elapsed=4.0, percent=50) == 6.0
    assert eta.eta("extract", elapsed=0.5, percent=50) == 0.5
    assert eta.eta("extract", elapsed=5.0, percent=90) == 0.1  # overdue: never "done" early
    assert eta.eta("extract", elapsed=5.0, percent=100) == 0.0
    eta.observe("extract", 2.0)
    assert eta.eta("extract", elapsed=0.0, percent=10) == 1.3  # moving average

"""The product-box bench's score and label checks on known answers (no ../shared needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.product_box_bench import load_labels, main, score_cutout


def _alpha(*boxes: tuple[int, int, int, int], shape: tuple[int, int] = (100, 200)) -> np.ndarray:
    alpha = np.zeros(shape, np.float32)
    for x0, y0, x1, y1 in boxes:
        alpha[y0:y1, x0:x1] = 1.0
    return alpha


def test_every_unit_cut_out_passes() -> None:
    boxes = [(10, 10, 50, 90), (60, 10, 100, 90)]
    # Each bottle is narrower than its box (background beside the neck): still covered.
    score = score_cutout(_alpha((12, 10, 48, 90), (61, 10, 99, 90)), boxes)
    assert score.passed and min(score.coverage) >= 0.9 and score.outside == 0.0


def test_one_unit_of_two_fails_even_though_nothing_is_outside() -> None:
    boxes = [(10, 10, 50, 90), (60, 10, 100, 90)]
    score = score_cutout(_alpha((10, 10, 50, 90)), boxes)
    assert not score.passed and score.coverage == [1.0, 0.0] and score.outside == 0.0


def test_a_badge_beside_the_product_counts_as_outside() -> None:
    score = score_cutout(_alpha((10, 10, 50, 90), (120, 10, 170, 60)), [(10, 10, 50, 90)])
    assert not score.passed
    assert score.outside == pytest.approx(2500 / (3200 + 2500))


def test_an_empty_cutout_fails() -> None:
    score = score_cutout(np.zeros((100, 200), np.float32), [(10, 10, 50, 90)])
    assert not score.passed and score.coverage == [0.0] and score.outside == 1.0


def test_labels_must_follow_the_split_rule(tmp_path: Path) -> None:
    good = {"posters/posterrase_x.png": {"split": "test", "boxes": [[0, 0, 5, 5]]}}
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(good))
    assert load_labels(path) == good
    path.write_text(
        json.dumps({"posters/posterrase_x.png": {"split": "tune", "boxes": [[0, 0, 5, 5]]}})
    )
    with pytest.raises(ValueError, match="split"):
        load_labels(path)
    path.write_text(json.dumps({"products/a.jpg": {"split": "tune", "boxes": []}}))
    with pytest.raises(ValueError, match="no boxes"):
        load_labels(path)


def test_without_labels_it_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--labels", str(tmp_path / "missing.json"), "--out-dir", str(tmp_path)]) == 0
    assert "skipped" in capsys.readouterr().out

"""``globalpic extract --json`` lists the objects found with their scores and which were kept;
``--all`` keeps every product-like object (issue 12, item 6).

The segmenter is a stand-in that answers with the coarse map of a synthetic poster (three
printed bottles, a flat red badge, a ragged splash), so which objects the CLI must keep is
known; the extractor, its object choice and the CLI are the production code.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from globalpic_cli import app
from globalpic_common.schemas import BatchReport
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.extract_settings import ExtractSettings, RefineMethod
from services.segmentation.tests.test_objects import poster

runner = CliRunner()
SCALE = 2  # the poster at 800 x 600: over the CLI's 512 px minimum


class PosterSegmenter:
    """Answers every image with the poster's coarse map, scaled to the image."""

    name = "poster"

    def __init__(self, coarse: np.ndarray) -> None:
        self.coarse = coarse

    def segment(self, image: np.ndarray) -> np.ndarray:
        size = (image.shape[1], image.shape[0])
        return np.asarray(cv2.resize(self.coarse, size, interpolation=cv2.INTER_LINEAR))


@pytest.fixture
def poster_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    image, coarse, _ = poster()
    big = cv2.resize(image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    settings = ExtractSettings(extract_refine=RefineMethod.NONE, extract_zoom=False)
    extractor = Extractor(PosterSegmenter(coarse), settings)
    monkeypatch.setattr(Extractor, "from_settings", classmethod(lambda cls: extractor))
    path = tmp_path / "poster.png"
    Image.fromarray(big).save(path)
    return path


def _report(*args: str) -> BatchReport:
    result = runner.invoke(app, ["extract", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    return BatchReport.model_validate_json(result.stdout)


def test_json_lists_every_object_with_its_score_and_choice(
    poster_file: Path, tmp_path: Path
) -> None:
    report = _report(str(poster_file), "-o", str(tmp_path / "cut.png"))
    image = report.images[0]
    assert len(image.objects) == 5  # three bottles, the badge, the splash
    kept = [o for o in image.objects if o.kept]
    assert len(kept) == 3 == image.products  # every bottle, not the badge
    assert all(o.cues["units"] == 1.0 for o in kept)
    scores = [o.score for o in image.objects]
    assert scores == sorted(scores, reverse=True)
    for o in kept:  # boxes in the input's pixels
        assert o.box[2] <= 240 * SCALE and o.box[3] <= 262 * SCALE
    with Image.open(tmp_path / "cut.png") as img:
        matte = np.asarray(img)[..., 3]
    assert matte[120 * SCALE, 65 * SCALE] > 127  # a bottle
    assert matte[130 * SCALE, 315 * SCALE] < 128  # the badge


def test_all_keeps_every_product_like_object(poster_file: Path, tmp_path: Path) -> None:
    one = _report(str(poster_file), "-o", str(tmp_path / "one.png")).images[0]
    every = _report(str(poster_file), "-o", str(tmp_path / "all.png"), "--all").images[0]
    kept = [o for o in every.objects if o.kept]
    assert every.products == len(kept) >= (one.products or 0) == 3
    assert all(o.score >= 0.5 for o in kept)
    assert not any(o.kept for o in every.objects if o.cues["solidity"] < 0.7)  # the splash

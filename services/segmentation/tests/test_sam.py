"""SAM prompted by U²-Net-p: a tiny random-weight SAM checkpoint through the production loader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.interfaces import ImageArray
from globalpic_segmentation.extract import Extractor
from globalpic_segmentation.registry import build_segmenter
from globalpic_segmentation.sam import SamSegmenter, salient_prompt, sam_module
from globalpic_segmentation.settings import SegmentationSettings
from tests.support.sam_tiny import build_sam_tiny, save_tiny_sam


@pytest.fixture
def sam_settings(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> SegmentationSettings:
    # The tiny architecture joins segment-anything's own registry, as any other would.
    registry = sam_module("build_sam").sam_model_registry
    monkeypatch.setitem(registry, "tiny", build_sam_tiny)
    checkpoint = save_tiny_sam(tmp_path / "tiny_sam.pth")
    return SegmentationSettings(
        segmenter="sam",
        sam_checkpoint=checkpoint,
        sam_model_type="tiny",
        sam_device="cpu",
        model_path=tiny_model,
    )


class DiscPrompter:
    """A stand-in CPU segmenter: a disc at a known place (records what it was asked)."""

    name = "disc"

    def segment(self, image: ImageArray) -> Any:
        alpha = np.zeros(image.shape[:2], np.float32)
        cv2.circle(alpha, (70, 40), 20, 1.0, -1)
        return alpha


def _photo() -> ImageArray:
    return np.random.default_rng(1).integers(0, 256, (96, 140, 3), dtype=np.uint8)


def test_sam_loads_through_the_production_loader(sam_settings: SegmentationSettings) -> None:
    segmenter = build_segmenter(sam_settings)
    assert isinstance(segmenter, SamSegmenter) and segmenter.name == "sam"
    segmenter.load()
    alpha = segmenter.segment(_photo())
    assert alpha.shape == (96, 140) and alpha.dtype == np.float32
    assert float(alpha.min()) >= 0.0 and float(alpha.max()) <= 1.0
    # Deterministic: same weights, same image, same alpha.
    assert np.array_equal(alpha, segmenter.segment(_photo()))


def test_prompt_is_the_salient_box_and_an_inner_point() -> None:
    alpha = DiscPrompter().segment(_photo())
    prompt = salient_prompt(alpha)
    assert prompt is not None
    box, point = prompt
    assert box.tolist() == [50.0, 20.0, 90.0, 60.0]
    assert abs(point[0, 0] - 70) <= 1 and abs(point[0, 1] - 40) <= 1
    assert salient_prompt(np.zeros((10, 10), np.float32)) is None


def test_no_product_returns_the_coarse_map(sam_settings: SegmentationSettings) -> None:
    class Empty(DiscPrompter):
        def segment(self, image: ImageArray) -> Any:
            return np.zeros(image.shape[:2], np.float32)

    segmenter = SamSegmenter(sam_settings, prompter=Empty())
    assert not segmenter.segment(_photo()).any()


def test_extractor_uses_the_configured_segmenter(
    sam_settings: SegmentationSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for field, value in sam_settings.model_dump().items():
        if value is not None:
            monkeypatch.setenv(f"GLOBALPIC_SEGMENTATION__{field.upper()}", str(value))
    assert isinstance(Extractor.from_settings().segmenter, SamSegmenter)


def test_missing_checkpoint_is_a_clear_error(
    sam_settings: SegmentationSettings, tmp_path: Path
) -> None:
    missing = sam_settings.model_copy(update={"sam_checkpoint": tmp_path / "none.pth"})
    with pytest.raises(ModelUnavailableError, match="SAM checkpoint not found"):
        SamSegmenter(missing, prompter=DiscPrompter()).load()
    wrong = sam_settings.model_copy(update={"sam_model_type": "vit_b"})  # tiny weights
    with pytest.raises(ModelUnavailableError, match="cannot load SAM checkpoint"):
        SamSegmenter(wrong, prompter=DiscPrompter()).load()


def test_importing_sam_does_not_import_torch() -> None:
    probe = (
        "import sys, globalpic_segmentation.sam, globalpic_segmentation.u2net\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"

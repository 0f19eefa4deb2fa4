"""The segmentation server unloads what it built on shutdown: its extractor passes
``unload()`` on to the segmenter it holds."""

from __future__ import annotations

import numpy as np

from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.models import Model, unload_all
from globalpic_segmentation.extract import Extractor


class Weights(Model):
    name = "weights"

    def _load(self) -> None:
        pass

    def _unload(self) -> None:
        pass

    def segment(self, image: ImageArray) -> AlphaArray:
        return np.zeros(image.shape[:2], np.float32)


def test_unload_all_reaches_the_segmenter_an_extractor_holds() -> None:
    segmenter = Weights()
    extractor = Extractor(segmenter)
    extractor.load()
    assert segmenter.loaded
    unload_all(extractor, object())
    assert not segmenter.loaded

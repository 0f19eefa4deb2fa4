"""The demo sample: deterministic, small, with overlay and product text."""

from __future__ import annotations

import numpy as np

from bench.make_sample import MAX_BYTES, SAMPLE_STYLES, encode_jpeg, render_sample


def test_sample_is_deterministic_and_small() -> None:
    image, lines = render_sample()
    again, _ = render_sample()
    assert image.shape == (1024, 1024, 3)
    assert np.array_equal(image, again)
    assert len(encode_jpeg(image)) < MAX_BYTES
    styles = {line.style for line in lines}
    assert {line.kind for line in lines} == {"overlay", "product"}
    assert "watermark_tiled" in styles
    assert len(styles & set(SAMPLE_STYLES)) >= 3

"""The synthetic generator: deterministic, and its masks and lines agree with its pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bench import synthetic
from bench.synthetic import (
    GtLine,
    SyntheticCase,
    add_overlays,
    changed_mask,
    make_case,
    order_quad,
    procedural_photo,
    quad_inside,
)

SIZE = 384


def _quad_mask(line: GtLine, size: int) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, np.round(np.asarray(line.box)).astype(np.int32), 255)
    return mask


@pytest.fixture(scope="module")
def case() -> SyntheticCase:
    return make_case(7, size=SIZE)


def test_same_seed_same_case(case: SyntheticCase) -> None:
    again = make_case(7, size=SIZE)
    assert np.array_equal(case.image, again.image)
    assert np.array_equal(case.clean, again.clean)
    assert case.lines == again.lines
    other = make_case(8, size=SIZE)
    assert not np.array_equal(case.image, other.image)


def test_shapes_and_mask_values(case: SyntheticCase) -> None:
    assert case.image.shape == case.clean.shape == (SIZE, SIZE, 3)
    assert case.image.dtype == case.clean.dtype == np.uint8
    assert case.overlay_mask.shape == (SIZE, SIZE)
    assert set(np.unique(case.overlay_mask)) <= {0, 255}
    assert case.product_mask is not None
    assert set(np.unique(case.product_mask)) == {0, 255}


def test_overlay_mask_is_every_changed_pixel(case: SyntheticCase) -> None:
    assert np.array_equal(case.overlay_mask, changed_mask(case.image, case.clean))
    outside = case.overlay_mask == 0
    diff = np.abs(case.image.astype(int) - case.clean.astype(int)).max(axis=2)
    assert diff[outside].max() <= synthetic.CHANGE_LEVELS
    assert 0.01 < (case.overlay_mask > 0).mean() < 0.6


def test_lines_lie_on_their_pixels(case: SyntheticCase) -> None:
    assert case.overlay_lines and case.product_lines
    assert {line.kind for line in case.lines} == {"overlay", "product"}
    for line in case.lines:
        assert len(line.box) == 4 and line.text.strip()
        assert quad_inside(line.box, SIZE, SIZE, 0)
        region = _quad_mask(line, SIZE) > 0
        if line.kind == "overlay" and line.style != "watermark_tiled":
            # Opaque overlay text: its box is mostly pixels the overlay changed.
            assert (case.overlay_mask[region] > 0).mean() > 0.3, line
        if line.kind == "product":
            assert (case.product_mask[region] > 0).mean() > 0.9, line  # type: ignore[index]
            # Product print belongs to the clean photo: it has ink (contrast) there.
            assert case.clean[region].std() > 10, line


def test_product_text_is_kept_clear_of_opaque_overlays(case: SyntheticCase) -> None:
    for line in case.product_lines:
        region = _quad_mask(line, SIZE) > 0
        for overlay in case.overlay_lines:
            if overlay.style == "watermark_tiled":
                continue
            assert not np.any(region & (_quad_mask(overlay, SIZE) > 0))


def test_tiled_watermark_is_semi_transparent() -> None:
    photo = procedural_photo(3, SIZE)
    rng = np.random.default_rng(0)
    image, lines = add_overlays(rng, photo.image, photo.product_mask, count=0, tiled_watermark=True)
    tiles = [line for line in lines if line.style == "watermark_tiled"]
    assert len(tiles) >= 2
    assert len({line.text for line in tiles}) == 1
    changed = changed_mask(image, photo.image) > 0
    diff = np.abs(image.astype(int) - photo.image.astype(int)).max(axis=2)
    # Alpha <= 0.45: no watermark pixel is replaced outright, the photo shows through.
    assert changed.any() and diff.max() < 0.46 * 255 + 2


def test_real_base_photo_of_any_shape() -> None:
    base = procedural_photo(11, 300).image
    tall = np.ascontiguousarray(np.concatenate([base, base[:100]], axis=0))  # 400 x 300
    case = make_case(5, base=tall, size=256)
    assert case.image.shape == (256, 256, 3)
    assert case.source == "photo"
    assert all(line.kind in ("overlay", "product") for line in case.lines)
    assert np.array_equal(case.overlay_mask, changed_mask(case.image, case.clean))


def test_base_photos_fall_back_to_procedural(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(synthetic, "REAL_PRODUCTS_DIR", tmp_path / "absent")
    photos = synthetic.base_photos(2, size=128)
    assert len(photos) == 2
    assert all(p.shape == (128, 128, 3) and p.dtype == np.uint8 for p in photos)
    assert not np.array_equal(photos[0], photos[1])


def test_order_quad_is_clockwise_from_top_left() -> None:
    assert order_quad([(10, 10), (0, 10), (10, 0), (0, 0)]) == [
        (0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)
    ]  # fmt: skip

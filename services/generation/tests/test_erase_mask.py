"""The erase mask covers the whole overlay (backing, outline, faint strokes) and stays tight."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from globalpic_common.schemas import TextLine
from globalpic_generation.backing import find_backing
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.settings import GenerationSettings


def _coverage(mask: np.ndarray[Any, Any], wanted: np.ndarray[Any, Any]) -> float:
    return float((mask[wanted] > 0).mean())


def _outside_share(mask: np.ndarray[Any, Any], wanted: np.ndarray[Any, Any], px: int) -> float:
    """Share of the mask farther than ``px`` from any wanted pixel."""
    near = cv2.dilate(wanted.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0
    return float(((mask > 0) & ~near).sum() / max(1, (mask > 0).sum()))


def test_badge_mask_covers_backing_and_text(badge_scene: Any) -> None:
    mask = build_erase_mask(badge_scene.image, [badge_scene.line])
    changed = badge_scene.changed
    assert mask.dtype == np.uint8 and mask.shape == changed.shape
    assert set(np.unique(mask)) <= {0, 255}
    # The quad holds only the text; the red rounded rectangle around it must go too.
    quad_only = np.zeros_like(mask)
    cv2.fillPoly(quad_only, [np.round(np.asarray(badge_scene.line.box)).astype(np.int32)], 255)
    assert _coverage(quad_only, changed) < 0.5
    assert _coverage(mask, changed) > 0.995
    assert _outside_share(mask, changed, 4) < 0.02


def test_backing_found_for_badge_but_not_for_plain_text(badge_scene: Any, draw: Any) -> None:
    settings = GenerationSettings()
    smooth = cv2.medianBlur(badge_scene.image, 3)
    assert find_backing(smooth, badge_scene.line.box, settings) is not None
    for bg in (draw.smooth(), draw.textured()):
        plain = draw.text(bg, fill=(255, 255, 255, 255))
        assert find_backing(cv2.medianBlur(plain.image, 3), plain.line.box, settings) is None


def test_outlined_text_on_texture(outlined_scene: Any) -> None:
    mask = build_erase_mask(outlined_scene.image, [outlined_scene.line])
    changed = outlined_scene.changed
    assert _coverage(mask, changed) > 0.97
    # Glyph pixels only, not the whole padded quad: the wood between strokes stays.
    assert _outside_share(mask, changed, 4) < 0.05
    assert (mask > 0).sum() < 2.0 * changed.sum()


def test_semi_transparent_watermark(watermark_scene: Any) -> None:
    changed = watermark_scene.changed  # strokes at 40 % opacity: ~20 levels of change
    assert changed.sum() > 500
    mask = build_erase_mask(watermark_scene.image, [watermark_scene.line])
    assert _coverage(mask, changed) > 0.95
    assert _outside_share(mask, changed, 4) < 0.05


def test_protect_mask_is_never_erased(badge_scene: Any) -> None:
    protect = np.zeros(badge_scene.changed.shape, np.uint8)
    protect[:, : protect.shape[1] // 2] = 255
    mask = build_erase_mask(badge_scene.image, [badge_scene.line], protect=protect)
    assert not (mask[protect > 0]).any()
    assert mask[:, protect.shape[1] // 2 :].any()


def test_no_lines_no_mask(smooth_bg: Any) -> None:
    assert not build_erase_mask(smooth_bg, []).any()


def test_several_lines_and_degenerate_quads(badge_scene: Any) -> None:
    tiny = TextLine(box=[(5, 5), (6, 5), (6, 6), (5, 6)], text="x", confidence=0.5)
    outside = TextLine(
        box=[(-50, -50), (-10, -50), (-10, -20), (-50, -20)], text="x", confidence=0.5
    )
    mask = build_erase_mask(badge_scene.image, [badge_scene.line, tiny, outside])
    assert _coverage(mask, badge_scene.changed) > 0.99


def test_rejects_bad_protect_shape(badge_scene: Any) -> None:
    with pytest.raises(ValueError):
        build_erase_mask(badge_scene.image, [badge_scene.line], protect=np.zeros((3, 3), np.uint8))


def test_ink_band_is_the_middle_of_the_box() -> None:
    from globalpic_generation.quads import ink_band

    band = ink_band([(0, 0), (200, 0), (200, 40), (0, 40)])
    xs, ys = [p[0] for p in band], [p[1] for p in band]
    assert (min(ys), max(ys)) == (5.0, 35.0)  # 75 % of the height, centred
    assert (min(xs), max(xs)) == (5.0, 195.0)  # the same margin off each end
    vertical = ink_band([(0, 0), (40, 0), (40, 200), (0, 200)])
    assert min(p[0] for p in vertical) == 5.0 and min(p[1] for p in vertical) == 5.0

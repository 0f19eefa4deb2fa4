"""Tiled watermarks: the copies of one faint mark are found from their common template."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from globalpic_common.schemas import TextLine
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.quads import dilate
from globalpic_generation.tiles import copy_groups, tiled_watermark_mask

from .conftest import draw_text, textured_background

Rgb = npt.NDArray[np.uint8]
SPOTS = ((30, 30), (30, 150), (30, 270), (330, 30), (330, 150), (330, 270))


def _tiled(alpha: int = 70) -> tuple[Rgb, Rgb, list[TextLine]]:
    """Six copies of one faint white mark on a strongly textured surface."""
    clean = textured_background(400, 640, seed=3)
    image = clean
    lines: list[TextLine] = []
    for x, y in SPOTS:
        scene = draw_text(image, xy=(x, y), px=40, fill=(255, 255, 255, alpha))
        image = scene.image
        lines.append(scene.line.model_copy(update={"text": "官方旗舰店"}))
    return image, clean, lines


def _changed(image: Rgb, clean: Rgb) -> npt.NDArray[np.bool_]:
    diff = np.abs(image.astype(np.int16) - clean.astype(np.int16)).max(axis=2)
    return np.asarray(diff > 8)


def test_copies_are_grouped_only_when_alike() -> None:
    _, _, lines = _tiled()
    boxes = [line.box for line in lines]
    assert copy_groups(boxes, [line.text for line in lines]) == [list(range(6))]
    # Different texts are different marks; two copies are not a tiling.
    texts = ["官方旗舰店", "官方旗舰店", "新品上市", "限时特价", "买一送一", "全场包邮"]
    assert copy_groups(boxes, texts) == []
    assert copy_groups(boxes[:2], ["官方旗舰店"] * 2) == []


def test_template_finds_faint_tiles_on_texture() -> None:
    image, clean, lines = _tiled()
    changed = _changed(image, clean)
    tiles = tiled_watermark_mask(image, [line.box for line in lines], [line.text for line in lines])
    grown = dilate(tiles, 2) > 0  # as build_erase_mask grows it
    assert float(grown[changed].mean()) > 0.45
    # Every copy gets the strokes, and only strokes: nothing far from what the mark changed.
    for line in lines:
        (x0, y0), _, (x1, y1), _ = line.box
        assert grown[int(y0) : int(y1), int(x0) : int(x1)].sum() > 500
    near = dilate(np.where(changed, 255, 0).astype(np.uint8), 3) > 0
    assert float(near[tiles > 0].mean()) > 0.97
    full = build_erase_mask(image, lines)
    assert float((full[changed] > 0).mean()) > 0.95


def test_unrelated_lines_add_nothing() -> None:
    clean = textured_background(400, 640, seed=3)
    lines = [
        TextLine(
            box=[(x, y), (x + 160, y), (x + 160, y + 40), (x, y + 40)],
            text="官方旗舰店",
            confidence=0.9,
        )
        for x, y in SPOTS
    ]
    tiles = tiled_watermark_mask(clean, [line.box for line in lines], [line.text for line in lines])
    assert (tiles > 0).sum() < 0.01 * tiles.size

"""The held-out (test split) synthetic set: deterministic, exact ground truth, issue 12 counts."""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
import pytest

from bench.heldout import (
    FAINT_OPACITY,
    HELDOUT_N,
    HELDOUT_SEED,
    HeldoutCase,
    heldout_case,
    heldout_cases,
    heldout_faces,
    summary,
)
from bench.synthetic import changed_mask

SIZE = 256


def _signature(case: HeldoutCase) -> list[object]:
    return [
        case.image.tobytes(),
        case.clean.tobytes(),
        case.overlay_mask.tobytes(),
        case.product_mask.tobytes(),
        [(ln.text, ln.kind, ln.style, ln.opacity, ln.on_product, ln.box.tobytes(),
          ln.glyphs.tobytes()) for ln in case.lines],
    ]  # fmt: skip


def test_a_case_is_the_same_every_time() -> None:
    assert _signature(heldout_case(3, SIZE)) == _signature(heldout_case(3, SIZE))
    assert _signature(heldout_case(3, SIZE)) != _signature(heldout_case(4, SIZE))
    assert _signature(heldout_case(3, SIZE)) != _signature(heldout_case(3, SIZE, seed=1))


def test_lines_do_not_depend_on_the_size() -> None:
    small, large = heldout_case(5, 128), heldout_case(5, SIZE)
    key = [(ln.text, ln.kind, ln.style, ln.opacity, ln.on_product) for ln in small.lines]
    assert key == [(ln.text, ln.kind, ln.style, ln.opacity, ln.on_product) for ln in large.lines]
    for a, b in zip(small.lines, large.lines, strict=True):
        np.testing.assert_allclose(a.box * 2, b.box, atol=1e-6)


@pytest.mark.parametrize("index", range(6))
def test_ground_truth_is_complete_and_exact(index: int) -> None:
    case = heldout_case(index, SIZE)
    assert case.image.shape == case.clean.shape == (SIZE, SIZE, 3)
    assert case.image.dtype == case.clean.dtype == np.uint8
    assert case.source == "heldout-procedural" and case.seed == HELDOUT_SEED
    np.testing.assert_array_equal(case.overlay_mask, changed_mask(case.image, case.clean))
    assert set(np.unique(case.product_mask)) == {0, 255}
    # Nothing but the overlays differs: every changed pixel is under some overlay's drawing.
    assert case.overlay_mask.any()
    assert case.overlay_lines and case.product_lines
    for ln in case.lines:
        assert ln.kind in ("overlay", "product")
        assert 0.1 <= ln.opacity <= 1.0
        assert ln.box.shape == (4, 2) and ln.box.dtype == np.float64
        assert ln.box.min() >= 0 and ln.box.max() <= SIZE
        x, y = ln.box[:, 0], ln.box[:, 1]
        # Clockwise on screen (y down) means a positive shoelace sum; first corner top-left.
        assert float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) > 0
        assert int(np.argmin(ln.box.sum(axis=1))) == 0
        assert ln.glyphs.shape == (SIZE, SIZE) and ln.glyphs.dtype == np.uint8
        ys, xs = np.nonzero(ln.glyphs)
        box = ln.box.astype(np.float32).reshape(-1, 1, 2)
        for gx, gy in zip(xs[::7], ys[::7], strict=True):  # the ink lies inside the box
            assert cv2.pointPolygonTest(box, (float(gx) + 0.5, float(gy) + 0.5), True) >= -1.5
        if ln.kind == "product":
            assert ln.on_product
            assert not xs.size or (case.product_mask[ys, xs] > 0).mean() >= 0.95
        elif ln.opacity == 1.0 and xs.size:
            assert (case.overlay_mask[ys, xs] > 0).mean() >= 0.8


def test_the_default_set_has_what_issue_12_asks() -> None:
    counts = Counter[str]()
    faint = 0
    cases = list(heldout_cases(size=128))  # counts do not depend on the size
    for case in cases:
        counts.update(ln.style for ln in case.overlay_lines)
        faint += sum(ln.opacity <= FAINT_OPACITY for ln in case.overlay_lines)
        assert len(case.overlay_lines) >= 3
    stats = summary(cases)
    assert stats["images"] == HELDOUT_N >= 60
    assert stats["faint_lines"] == faint >= 40
    assert int(stats["faint_lines_not_tiled"]) >= 40  # type: ignore[call-overload]
    assert int(stats["overlay_lines_on_product"]) >= 100  # type: ignore[call-overload]
    assert stats["product_lines"] == sum(len(c.product_lines) for c in cases)
    styles = {
        "watermark-tile", "watermark-center", "faint-line", "plain-on-texture", "outlined",
        "shadowed", "gradient-text", "gradient-badge", "stamp", "contact-block", "price-block",
        "same-colour", "vertical", "sales-strip",
    }  # fmt: skip
    assert styles <= set(counts)
    assert 0.1 <= float(stats["min_opacity"]) <= 0.12  # type: ignore[arg-type]


def test_every_face_of_each_cjk_collection_is_listed() -> None:
    faces = heldout_faces()
    for path in {f.path for f in faces}:
        indices = [f.index for f in faces if f.path == path]
        assert indices == list(range(len(indices)))
    assert len(faces) > len({f.path for f in faces})  # collections give several faces each


def test_bad_arguments_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="index"):
        heldout_case(-1, SIZE)
    with pytest.raises(ValueError, match="size"):
        heldout_case(0, 32)

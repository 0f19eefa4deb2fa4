"""After clean, the product alpha under an erased overlay is the completed outline, not the
overlay's shape the segmenter saw (a badge on the product's edge is no bump of product)."""

from __future__ import annotations

import numpy as np
import pytest

from globalpic_common.errors import BadInputError
from globalpic_generation.inpaint import completed_silhouette


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(segmenter alpha, erase mask, true product) on a 200 x 200 frame: a box product whose
    right edge a round badge straddles; the segmenter took the whole badge for product."""
    yy, xx = np.mgrid[0:200, 0:200]
    product = (xx >= 40) & (xx < 140) & (yy >= 30) & (yy < 170)
    badge = (xx - 140) ** 2 + (yy - 60) ** 2 <= 22**2
    alpha = np.where(product | badge, 1.0, 0.0).astype(np.float32)
    mask = np.where(badge, 255, 0).astype(np.uint8)
    return alpha, mask, product


def test_the_badge_bump_is_background_and_the_product_under_it_is_product() -> None:
    alpha, mask, product = _scene()
    completed = completed_silhouette(mask, alpha)
    bump = (mask > 0) & ~product
    under = (mask > 0) & product
    # The outline is continued across the hole from where it enters and leaves it (a curve
    # tangent to both arms): it may bow out a little, never as far as the badge reached.
    assert (completed[bump] < 0.5).mean() > 0.7
    assert not (completed[:, 150:] >= 0.5).any()  # the badge reached x = 162
    assert (completed[under] >= 0.5).mean() > 0.95
    assert np.array_equal(completed[mask == 0], alpha[mask == 0])  # elsewhere unchanged


def test_a_mask_of_another_size_is_bad_input() -> None:
    alpha, mask, _ = _scene()
    with pytest.raises(BadInputError) as err:
        completed_silhouette(mask[:100], alpha)
    assert err.value.code == "bad_mask"


def test_a_product_side_with_no_usable_source_is_no_crash() -> None:
    """Every source pixel too far from the hole to weigh anything (a held-out case crashed
    with numpy's "array of sample points is empty")."""
    from globalpic_generation.product_fill import separable_fill

    values = np.full((40, 40, 3), 120.0, np.float32)
    target = np.zeros((40, 40), bool)
    target[5:35, 5:35] = True
    source = np.zeros((40, 40), bool)  # nothing to continue from
    out = separable_fill(values, source, target)
    assert out.shape == values.shape and np.isfinite(out).all()

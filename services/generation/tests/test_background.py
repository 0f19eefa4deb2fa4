"""Push-pull: exact on known pixels, smooth and bounded inside holes of any size."""

from __future__ import annotations

import numpy as np

from globalpic_generation.background import push_pull_fill


def test_exact_on_known_and_interpolates_a_gradient() -> None:
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float32)
    img = np.stack([xx, yy, 50 + 0 * xx], axis=2)
    known = np.ones((120, 160), np.float32)
    known[40:80, 50:110] = 0
    est = push_pull_fill(img, known)
    assert np.array_equal(est[known > 0], img[known > 0])
    hole = known == 0
    assert float(np.abs(est - img)[hole].max()) < 12.0
    assert est[hole].min() >= 0 and est[hole].max() <= 160


def test_nothing_known_and_one_pixel_strips() -> None:
    img = np.full((7, 1, 3), 9.0, np.float32)
    assert np.array_equal(push_pull_fill(img, np.zeros((7, 1), np.float32)), img)
    known = np.zeros((7, 1), np.float32)
    known[0] = 1
    img[0] = 100.0
    assert np.allclose(push_pull_fill(img, known), 100.0)

"""The CPU style renderers: every catalog style, any size, deterministic, distinct per seed."""

from __future__ import annotations

import numpy as np
import pytest

from globalpic_common.errors import BAD_OPTION, BAD_SIZE, UNKNOWN_STYLE, BadInputError
from globalpic_common.styles import STYLES, get_style, style_ids
from globalpic_generation.scenes import RENDERERS, render_background, varies_with_seed
from globalpic_generation.scenes.stage import HORIZON_SHARE, plan_stage

SOLID = ("amazon-white", "minimal-white", "minimal-grey", "minimal-beige")


def test_every_catalog_style_has_a_renderer() -> None:
    assert set(RENDERERS) == set(style_ids())


@pytest.mark.parametrize("style_id", style_ids())
def test_renders_at_odd_sizes_deterministically(style_id: str) -> None:
    box = (300, 150, 480, 500)
    a = render_background(style_id, 777, 555, seed=3, product_box=box)
    b = render_background(style_id, 777, 555, seed=3, product_box=box)
    assert a.shape == (555, 777, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)


@pytest.mark.parametrize("style_id", [s.id for s in STYLES if s.rendering == "approximate"])
def test_approximate_styles_differ_between_seeds(style_id: str) -> None:
    a = render_background(style_id, 201, 151, seed=0).astype(np.int16)
    b = render_background(style_id, 201, 151, seed=1).astype(np.int16)
    assert float(np.abs(a - b).mean()) > 3.0  # a different scene, not just other grain


@pytest.mark.parametrize("style_id", ["pastel-gradient", "studio-sweep", "studio-dark"])
def test_exact_gradients_and_sweeps_vary_lightly_with_the_seed(style_id: str) -> None:
    assert varies_with_seed(style_id)
    a = render_background(style_id, 160, 120, seed=0)
    assert not np.array_equal(a, render_background(style_id, 160, 120, seed=1))


@pytest.mark.parametrize("style_id", SOLID)
def test_solid_styles_are_one_flat_colour_for_every_seed(style_id: str) -> None:
    assert get_style(style_id).rendering == "exact" and not varies_with_seed(style_id)
    a = render_background(style_id, 99, 67, seed=0)
    assert np.array_equal(a, render_background(style_id, 99, 67, seed=5))
    assert len(np.unique(a.reshape(-1, 3), axis=0)) == 1


def test_amazon_white_is_pure_255() -> None:
    assert int(render_background("amazon-white", 333, 211, seed=7).min()) == 255


def test_scenes_carry_film_grain_and_exact_styles_do_not() -> None:
    scene = render_background("modern-home", 256, 256, seed=0).astype(np.float32)
    # Grain: the difference between neighbouring pixels is mostly noise on a blurred backdrop.
    assert float(np.abs(np.diff(scene[:40, :, 1], axis=1)).mean()) > 0.8
    flat = render_background("minimal-beige", 256, 256).astype(np.float32)
    assert float(np.abs(np.diff(flat, axis=1)).max()) == 0.0


def test_surface_edge_goes_behind_the_product_base() -> None:
    rng = np.random.default_rng(0)
    for base in (300, 450):
        frame = plan_stage(600, 600, 0.5, (200, base - 200, 400, base), rng)
        # In working px (half size): between the shares of the product's height above base.
        lo, hi = HORIZON_SHARE
        assert base / 2 - hi * 100 - 1e-3 <= frame.horizon <= base / 2 - lo * 100 + 1e-3
        assert frame.base == base / 2


def test_bad_requests_get_stable_codes() -> None:
    with pytest.raises(BadInputError) as info:
        render_background("vaporwave", 100, 100)
    assert info.value.code == UNKNOWN_STYLE
    with pytest.raises(BadInputError) as info:
        render_background("modern-home", 0, 100)
    assert info.value.code == BAD_SIZE
    with pytest.raises(BadInputError) as info:
        render_background("modern-home", 100, 100, product_box=(50, 50, 150, 90))
    assert info.value.code == BAD_OPTION
    with pytest.raises(BadInputError) as info:
        render_background("modern-home", 100, 100, seed=-1)
    assert info.value.code == BAD_OPTION

"""The composites set: exact alpha compositing, determinism, variety."""

from __future__ import annotations

import numpy as np

from bench.composites import KINDS, RECIPES, build_composites, make_composite


def test_image_is_exactly_the_alpha_composite() -> None:
    for comp in build_composites(len(RECIPES), seed=3, size=128, photos=False):
        a = comp.alpha[..., None].astype(np.float64)
        recomposed = a * comp.foreground + (1 - a) * comp.background
        assert np.array_equal(np.clip(recomposed, 0, 255).round().astype(np.uint8), comp.image)
        assert comp.alpha.dtype == np.float32 and comp.image.dtype == np.uint8
        assert comp.alpha.min() >= 0.0 and comp.alpha.max() <= 1.0
        assert comp.kind in KINDS and comp.name.endswith(comp.kind + f"-{comp.name[-2:]}")
        share = float((comp.alpha >= 0.5).mean())
        assert 0.005 < share < 0.7, comp.name  # a product, not empty, not the whole frame
        # Anti-aliased edges: fractional alpha exists on every product.
        assert ((comp.alpha > 0.05) & (comp.alpha < 0.95)).any(), comp.name


def test_deterministic_and_prefix_stable() -> None:
    a = build_composites(3, seed=7, size=96, photos=False)
    b = build_composites(5, seed=7, size=96, photos=False)
    for x, y in zip(a, b[:3], strict=True):
        assert x.name == y.name and np.array_equal(x.image, y.image)
        assert np.array_equal(x.alpha, y.alpha)
    other = make_composite(8, 0, size=96, photos=False)
    assert not np.array_equal(other.image, a[0].image)


def test_every_recipe_and_soft_products_appear() -> None:
    comps = build_composites(len(RECIPES), size=128, photos=False)
    assert [c.name.split("-")[0] for c in comps] == list(RECIPES)
    glass = next(c for c in comps if c.name.startswith("glass"))
    # The glass body is see-through: a large area of alpha well below 1 inside the bottle.
    assert ((glass.alpha > 0.5) & (glass.alpha < 0.8)).sum() > 200

"""Exact backdrops: flat colours and pastel gradients.

A flat colour is a flat colour: ``solid`` draws the same backdrop for every seed (remix
candidates of these styles differ only in their contact shadow). ``pastel_gradient`` picks
its colour pair and direction from the seed.
"""

from __future__ import annotations

import numpy as np

from globalpic_generation.scenes.stage import F32, DrawFn, Rgb, Stage, fill, grid, hex_rgb

AMAZON_WHITE: Rgb = (1.0, 1.0, 1.0)  # exactly RGB 255: the Amazon main-image rule
MINIMAL_WHITE = hex_rgb("#f7f6f3")
MINIMAL_GREY = hex_rgb("#dcdde0")
MINIMAL_BEIGE = hex_rgb("#ece2d2")

# Pairs that read as pastel backdrops (paper colours, not screen colours).
PASTEL_PAIRS: tuple[tuple[str, str], ...] = (
    ("#f9d9e3", "#d9e4f7"),  # blush -> powder blue
    ("#fde8cf", "#f7d0d6"),  # peach -> rose
    ("#dff3e8", "#e4def6"),  # mint -> lavender
    ("#fbf0c9", "#f8d8c2"),  # butter -> apricot
    ("#d8eef5", "#f3ddf0"),  # sky -> lilac
    ("#e9e4f7", "#fbe3ec"),  # lavender -> pink
)


def solid(color: Rgb) -> DrawFn:
    """A renderer drawing ``color`` everywhere."""

    def draw(frame: Stage, rng: np.random.Generator) -> F32:
        return fill(frame, color)

    return draw


def pastel_gradient(frame: Stage, rng: np.random.Generator) -> F32:
    """Two pastel colours blended along a direction chosen per seed (smoothstep ramp)."""
    a_hex, b_hex = PASTEL_PAIRS[int(rng.integers(len(PASTEL_PAIRS)))]
    a, b = np.asarray(hex_rgb(a_hex), np.float32), np.asarray(hex_rgb(b_hex), np.float32)
    if rng.random() < 0.5:
        a, b = b, a
    angle = rng.uniform(-0.6, 0.6) + np.pi / 2  # mostly top-to-bottom, tilted
    ys, xs = grid(frame)
    u = (xs / frame.w - 0.5) * np.cos(angle) + (ys / frame.h - 0.5) * np.sin(angle)
    t = np.clip(u / 0.9 + 0.5, 0.0, 1.0)
    t = t * t * (3.0 - 2.0 * t)
    return np.asarray(a + (b - a) * t[:, :, None], np.float32)

"""Procedural surface textures (wood, marble, linen, stone, ...) drawn flat, in texture space.

``canvas.surface_plane`` then lays them on a tabletop in perspective. Each is a few smooth
noise fields (``canvas.noise``) shaped the way the material looks: wood is rings bent by
noise and streaks stretched along the grain, marble is a sine of a turbulent field turned
into thin veins, linen is threads stretched along both axes plus soft folds.
"""

from __future__ import annotations

import cv2
import numpy as np

from globalpic_generation.scenes.stage import F32, Rgb, noise


def _tone(base: Rgb, shade: F32) -> F32:
    """``base`` colour times (1 + ``shade``) per pixel."""
    return np.asarray((1.0 + shade)[:, :, None] * np.asarray(base, np.float32), np.float32)


def _stretched(rng: np.random.Generator, h: int, w: int, along: float, across: float) -> F32:
    """Unit noise with features ``along`` px long in x and ``across`` px in y."""
    gh, gw = max(2, int(h / across) + 2), max(2, int(w / along) + 2)
    small = rng.standard_normal((gh, gw)).astype(np.float32)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)


def wood(rng: np.random.Generator, h: int, w: int, base: Rgb, planks: int,
         along_depth: bool, contrast: float = 1.0) -> F32:  # fmt: skip
    """Planks of wood; the grain runs front-to-back when ``along_depth``, else left-right."""
    # Draw with the grain along x, then transpose for planks running into the depth.
    gh, gw = (w, h) if along_depth else (h, w)
    ys = np.arange(gh, dtype=np.float32)[:, None]
    plank_px = gh / max(planks, 1)
    index = np.floor(ys / plank_px).astype(np.int32)
    shifts = rng.uniform(-0.09, 0.09, int(index.max()) + 2).astype(np.float32)
    phases = rng.uniform(0, 2 * np.pi, int(index.max()) + 2).astype(np.float32)
    warp = _stretched(rng, gh, gw, along=gw / 3.0, across=plank_px / 2.0)
    rings = np.sin(ys * (2 * np.pi / max(plank_px / 5.0, 2.0)) + 2.5 * warp + phases[index])
    streaks = _stretched(rng, gh, gw, along=gw / 6.0, across=1.5)
    fine = _stretched(rng, gh, gw, along=24.0, across=1.0)
    shade = contrast * (0.07 * rings + 0.05 * streaks + 0.025 * fine) + shifts[index]
    # A thin dark seam between planks.
    seam = np.abs(((ys + 0.5) % plank_px) - plank_px / 2.0) > plank_px / 2.0 - 1.2
    shade = shade - 0.35 * seam.astype(np.float32)
    out = _tone(base, np.asarray(shade, np.float32))
    if along_depth:
        out = np.ascontiguousarray(out.transpose(1, 0, 2))
    return np.asarray(np.clip(out, 0.0, 1.0), np.float32)


def _oriented(rng: np.random.Generator, h: int, w: int, along: float, across: float,
              angle_deg: float) -> F32:  # fmt: skip
    """``_stretched`` noise with its long axis turned ``angle_deg`` from the x axis."""
    side = int(np.ceil(np.hypot(h, w))) + 2
    field = _stretched(rng, side, side, along, across)
    matrix = cv2.getRotationMatrix2D((side / 2.0, side / 2.0), angle_deg, 1.0)
    matrix[:, 2] -= np.array([(side - w) / 2.0, (side - h) / 2.0])  # centre the h x w crop
    return np.asarray(cv2.warpAffine(field, matrix, (w, h)), np.float32)


def marble(rng: np.random.Generator, h: int, w: int, base: Rgb, vein: Rgb,
           vein_strength: float = 0.6) -> F32:  # fmt: skip
    """Polished marble: a cloudy base crossed by diagonal veins that fade in and out.

    Veins follow the zero crossings of a noise field stretched along one direction (so they
    run long, like the layers of the stone), with a finer field adding branches; soft wide
    veins and thin sharp ones come from the same field (the sharp line inside its halo, as
    a vein seen through polished stone looks), and a second noise fades them in and out so
    they do not close into contour lines.
    """
    big = max(h, w)
    angle = float(rng.uniform(20, 70)) * (1 if rng.random() < 0.5 else -1)
    field = _oriented(rng, h, w, big / 1.5, big / 10.0, angle) + 0.4 * _oriented(
        rng, h, w, big / 4.0, big / 28.0, angle + float(rng.uniform(-25, 25))
    )
    field += 0.1 * noise(rng, h, w, cell=big / 60.0)
    fade = np.clip(0.55 + 0.6 * noise(rng, h, w, cell=big / 3.0), 0.0, 1.0)
    sharp = np.exp(-((field / rng.uniform(0.025, 0.045)) ** 2))
    soft = np.exp(-((field / rng.uniform(0.12, 0.2)) ** 2))
    strength = np.clip(fade * (0.75 * sharp + 0.35 * soft), 0.0, 1.0)
    cloud = 0.05 * noise(rng, h, w, cell=big / 6.0, octaves=4)
    t = np.clip(vein_strength * strength, 0.0, 1.0)[:, :, None]
    b, v = np.asarray(base, np.float32), np.asarray(vein, np.float32)
    out = (b * (1.0 + cloud[:, :, None])) * (1.0 - t) + v * t
    return np.asarray(np.clip(out, 0.0, 1.0), np.float32)


def linen(rng: np.random.Generator, h: int, w: int, base: Rgb) -> F32:
    """Woven fabric: threads along both axes, slubs, and soft low folds."""
    warp_threads = _stretched(rng, h, w, along=40.0, across=1.0)
    weft_threads = _stretched(rng, h, w, along=1.0, across=40.0)
    slubs = _stretched(rng, h, w, along=12.0, across=1.5)
    folds = noise(rng, h, w, cell=max(h, w) / 3.0, octaves=2)
    shade = 0.025 * (warp_threads + weft_threads) + 0.02 * slubs + 0.05 * folds
    return np.asarray(np.clip(_tone(base, np.asarray(shade, np.float32)), 0.0, 1.0), np.float32)


def stone(rng: np.random.Generator, h: int, w: int, base: Rgb, roughness: float = 1.0) -> F32:
    """Flat natural stone / concrete: mottled tones, pores and fine speckle."""
    mottle = noise(rng, h, w, cell=max(h, w) / 6.0, octaves=4)
    speckle = rng.standard_normal((h, w)).astype(np.float32)
    pores = (rng.random((h, w)) > 0.996).astype(np.float32)
    pores = np.asarray(cv2.GaussianBlur(pores, (0, 0), 0.8), np.float32)
    shade = roughness * (0.06 * mottle + 0.02 * speckle) - 0.8 * pores
    return np.asarray(np.clip(_tone(base, np.asarray(shade, np.float32)), 0.0, 1.0), np.float32)


def quartz(rng: np.random.Generator, h: int, w: int, base: Rgb) -> F32:
    """Engineered quartz worktop: near-uniform, with sparse grey and glassy flecks."""
    cloud = 0.015 * noise(rng, h, w, cell=max(h, w) / 4.0, octaves=2)
    flecks = (rng.random((h, w)) > 0.985).astype(np.float32) * rng.uniform(-0.25, 0.1, (h, w))
    flecks = np.asarray(cv2.GaussianBlur(flecks.astype(np.float32), (0, 0), 0.6), np.float32)
    shade = cloud + flecks
    return np.asarray(np.clip(_tone(base, np.asarray(shade, np.float32)), 0.0, 1.0), np.float32)


def matte(rng: np.random.Generator, h: int, w: int, base: Rgb, texture: float = 0.01) -> F32:
    """A painted or laminated surface: one colour with a trace of texture."""
    shade = texture * noise(rng, h, w, cell=max(h, w) / 8.0, octaves=3)
    return np.asarray(np.clip(_tone(base, shade), 0.0, 1.0), np.float32)

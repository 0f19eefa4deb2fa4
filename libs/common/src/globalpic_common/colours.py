"""The product's colours, named: cut-out pixels -> a few plain colour names.

Each product pixel (alpha >= 0.5) goes to the nearest of a small palette of colour names a
listing uses, measured in CIE Lab (distances there follow what the eye sees, unlike RGB);
the names covering at least ``MIN_SHARE`` of the product are returned, largest first. The
palette is small on purpose: "gainsboro" or "papayawhip" help no buyer and fail a spell check.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import AlphaArray, ImageArray

MIN_SHARE = 0.2
MAX_NAMES = 2
MIN_PRODUCT_SHARE = 0.01  # a matte this small found no product: no colours rather than noise
_SAMPLE = 20_000  # pixels measured at most (evenly strided): enough for a share, and fast

# Name -> sRGB references (several where a name spans a range of tones).
PALETTE: dict[str, tuple[tuple[int, int, int], ...]] = {
    "black": ((18, 18, 18), (45, 45, 50)),
    "white": ((248, 248, 248), (232, 232, 228)),
    "gray": ((128, 128, 128), (175, 175, 178), (85, 85, 90)),
    "red": ((200, 30, 40), (225, 60, 50)),
    "burgundy": ((110, 20, 35),),
    "orange": ((240, 130, 30),),
    "yellow": ((240, 210, 40), (250, 235, 120)),
    "green": ((40, 150, 60), (110, 180, 90), (30, 90, 45)),
    "blue": ((40, 90, 200), (30, 120, 220)),
    "light blue": ((140, 190, 230),),
    "navy": ((25, 35, 90),),
    "purple": ((120, 60, 160), (170, 120, 200)),
    "pink": ((240, 150, 180), (230, 90, 150)),
    "brown": ((110, 70, 40), (150, 100, 60)),
    "beige": ((220, 200, 160), (235, 222, 195)),
}


def srgb_to_lab(rgb: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """N x 3 sRGB in 0..255 -> N x 3 CIE Lab (D65)."""
    c = np.asarray(rgb, np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [[0.4124564, 0.3575761, 0.1804375],
         [0.2126729, 0.7151522, 0.0721750],
         [0.0193339, 0.1191920, 0.9503041]]
    )  # fmt: skip
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lab: npt.NDArray[np.float64] = np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )
    return lab


_NAMES = [name for name, refs in PALETTE.items() for _ in refs]
_REFS = srgb_to_lab(np.array([ref for refs in PALETTE.values() for ref in refs], np.float64))


def product_colors(image: ImageArray, alpha: AlphaArray | None) -> list[str]:
    """The product's colour names, most covering first (``[]`` when no product is found)."""
    if image.ndim != 3 or image.shape[2] < 3:
        return []
    pixels = image[..., :3].reshape(-1, 3)
    if alpha is not None:
        inside = alpha.reshape(-1) >= 0.5
        if inside.mean() < MIN_PRODUCT_SHARE:
            return []
        pixels = pixels[inside]
    step = max(1, len(pixels) // _SAMPLE)
    lab = srgb_to_lab(pixels[::step].astype(np.float64))
    nearest = np.argmin(((lab[:, None, :] - _REFS[None, :, :]) ** 2).sum(axis=2), axis=1)
    shares: dict[str, float] = {}
    for index, count in zip(*np.unique(nearest, return_counts=True), strict=True):
        name = _NAMES[int(index)]
        shares[name] = shares.get(name, 0.0) + int(count) / len(nearest)
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    return [name for name, share in ranked if share >= MIN_SHARE][:MAX_NAMES]

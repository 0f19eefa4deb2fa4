"""The remix op: styles, a seller's background, a background library, distinct candidates."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from globalpic_common.errors import (
    BAD_OPTION,
    FILE_NOT_FOUND,
    UNKNOWN_STYLE,
    BadInputError,
)
from globalpic_generation.remix import CUSTOM_STYLE, Remixer, product_box
from globalpic_generation.shadow import contact_shadow

Rgb = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
H, W = 150, 200


def product(h: int = H, w: int = W) -> tuple[Rgb, F32]:
    """An orange disc with a 3 px soft edge on a green backdrop, resting low in the frame."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 0.3 * h
    d = np.sqrt((xx - w / 2) ** 2 + (yy - (0.85 * h - r)) ** 2)
    alpha = np.clip((r - d) / 3.0 + 0.5, 0.0, 1.0).astype(np.float32)
    fg = np.array([230, 140, 40], np.float32) + (10 * np.sin(xx / 4))[:, :, None]
    image = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * np.array([40, 160, 60])
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), alpha


@pytest.fixture(scope="module")
def remixer() -> Remixer:
    return Remixer()


def test_remix_onto_a_style(remixer: Remixer) -> None:
    image, alpha = product()
    result = remixer.remix(image, alpha, style_id="modern-home", seed=2)
    assert result.image.shape == image.shape and result.style_id == "modern-home"
    assert result.seed == 2 and result.source == "render"
    assert set(result.seconds) == {"cutout", "background", "composite"}
    assert np.array_equal(result.image[alpha >= 1], image[alpha >= 1])
    # Deterministic; prepare + place is the same op in two halves.
    again = remixer.remix(image, alpha, style_id="modern-home", seed=2)
    assert np.array_equal(result.image, again.image)
    placed = remixer.place(remixer.prepare(image, alpha), style_id="modern-home", seed=2)
    assert np.array_equal(placed.image, result.image)
    assert "cutout" not in placed.seconds
    # Away from the product the output is the plate: background plus shadow.
    assert np.array_equal(result.image[alpha == 0], result.plate[alpha == 0])


def test_remix_onto_the_sellers_background(remixer: Remixer) -> None:
    image, alpha = product()
    own = np.full((480, 300, 3), 180, np.uint8)
    own[:, :150] = (200, 170, 120)
    result = remixer.remix(image, alpha, background=own)
    assert result.style_id == CUSTOM_STYLE and result.source == "upload"
    assert result.image.shape == image.shape
    assert np.array_equal(result.image[alpha >= 1], image[alpha >= 1])


def test_exactly_one_of_style_and_background(remixer: Remixer) -> None:
    image, alpha = product()
    for kwargs in ({}, {"style_id": "amazon-white", "background": image}):
        with pytest.raises(BadInputError) as info:
            remixer.remix(image, alpha, **kwargs)  # type: ignore[arg-type]
        assert info.value.code == BAD_OPTION


def test_unknown_style(remixer: Remixer) -> None:
    image, alpha = product()
    with pytest.raises(BadInputError) as info:
        remixer.remix(image, alpha, style_id="vaporwave")
    assert info.value.code == UNKNOWN_STYLE
    assert "modern-home" in info.value.message


@pytest.mark.parametrize("style_id", ["natural-outdoor", "amazon-white", "pastel-gradient"])
def test_candidates_are_distinct(remixer: Remixer, style_id: str) -> None:
    image, alpha = product()
    results = remixer.candidates(image, alpha, style_id, 4, seed=10)
    assert [r.seed for r in results] == [10, 11, 12, 13]
    for a, b in combinations(results, 2):
        assert not np.array_equal(a.image, b.image)
    for r in results:
        assert np.array_equal(r.image[alpha >= 1], image[alpha >= 1])


def test_amazon_candidates_keep_the_white_background(remixer: Remixer) -> None:
    image, alpha = product()
    for r in remixer.candidates(image, alpha, "amazon-white", 3):
        outside = (alpha == 0) & (contact_shadow(alpha, seed=r.seed) == 0)
        assert int(r.image[outside].min()) == 255


def test_amazon_shadow_is_tight_enough_for_a_white_background_check(remixer: Remixer) -> None:
    """Amazon-style checkers look for off-white (< 254) pixels from ~1 % of the image side
    (>= 8 px) outside the product; the amazon-white shadow must end before that ring."""
    image, alpha = product(400, 400)
    result = remixer.remix(image, alpha, style_id="amazon-white")
    solid = (alpha >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (17, 17))  # 8 px
    around = cv2.dilate(solid, kernel) == 0
    assert int(result.image[around].min()) >= 254
    # ... and there is a shadow inside that ring, under the base.
    base = int(np.nonzero(solid.any(axis=1))[0].max())
    assert int(result.image[base + 2 : base + 5, 190:210].min()) < 250
    # Other styles keep their long, soft cast shadow.
    soft = remixer.remix(image, alpha, style_id="minimal-white").image
    assert int(soft[around].min()) < 240


def test_candidate_count_is_checked(remixer: Remixer) -> None:
    image, alpha = product()
    for n in (0, 17):
        with pytest.raises(BadInputError) as info:
            remixer.candidates(image, alpha, "modern-home", n)
        assert info.value.code == BAD_OPTION


def _library(root: Path) -> Path:
    folder = root / "modern-home"
    folder.mkdir(parents=True)
    Image.new("RGB", (320, 240), (200, 180, 150)).save(folder / "a.png")
    Image.new("RGB", (240, 320), (90, 120, 160)).save(folder / "b.jpg", quality=95)
    (folder / "notes.txt").write_text("not a photo")
    return root


def test_library_photos_serve_scene_styles(remixer: Remixer, tmp_path: Path) -> None:
    library = _library(tmp_path / "lib")
    image, alpha = product()
    results = remixer.candidates(image, alpha, "modern-home", 3, backgrounds_dir=library)
    assert [r.source for r in results] == [
        "library:a.png",
        "library:b.jpg",
        "library:a.png:mirrored",
    ]
    # The photo is the backdrop (a.png is one flat colour; far from the product, no shadow).
    corner = results[0].image[:10, :10].reshape(-1, 3).astype(int)
    assert np.abs(corner - [200, 180, 150]).max() <= 2


def test_library_is_ignored_by_exact_styles_and_missing_folders(
    remixer: Remixer, tmp_path: Path
) -> None:
    library = _library(tmp_path / "lib")
    image, alpha = product()
    exact = remixer.remix(image, alpha, style_id="amazon-white", backgrounds_dir=library)
    assert exact.source == "render"
    other = remixer.remix(image, alpha, style_id="brand-store", backgrounds_dir=library)
    assert other.source == "render"  # no brand-store folder: drawn instead
    with pytest.raises(BadInputError) as info:
        remixer.remix(image, alpha, style_id="modern-home", backgrounds_dir=tmp_path / "nope")
    assert info.value.code == FILE_NOT_FOUND


def test_product_box() -> None:
    alpha = np.zeros((10, 12), np.float32)
    alpha[2:5, 3:9] = 1.0
    alpha[6, 3] = 0.4  # below 0.5: not product
    assert product_box(alpha) == (3, 2, 9, 5)

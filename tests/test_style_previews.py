"""Every style has a preview (rendered by bench/style_previews.py with our own remixer,
committed as globalpic_common's package data, served at GET /v1/styles/{id}/preview for the
web app's gallery): one for every catalog style, none for a style that is gone, each a small
JPEG."""

from __future__ import annotations

from PIL import Image

from globalpic_common.styles import PREVIEWS, style_ids


def test_every_style_has_a_small_preview_and_no_style_is_left_over() -> None:
    files = {path.stem: path for path in PREVIEWS.glob("*.jpg")}
    assert set(files) == set(style_ids()), "run `make style-previews` after changing styles"
    for style, path in files.items():
        with Image.open(path) as image:
            assert image.format == "JPEG" and max(image.size) == 320, (style, image.size)
        assert path.stat().st_size <= 40 * 1024, style

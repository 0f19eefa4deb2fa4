"""The web app's style gallery shows a preview per style (rendered by bench/style_previews.py
with our own remixer, committed under services/web/public/styles): one for every catalog
style, none for a style that is gone, each a small JPEG."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from globalpic_common.styles import style_ids

PREVIEWS = Path(__file__).resolve().parents[1] / "services" / "web" / "public" / "styles"


def test_every_style_has_a_small_preview_and_no_style_is_left_over() -> None:
    files = {path.stem: path for path in PREVIEWS.glob("*.jpg")}
    assert set(files) == set(style_ids()), "run `make style-previews` after changing styles"
    for style, path in files.items():
        with Image.open(path) as image:
            assert image.format == "JPEG" and max(image.size) == 320, (style, image.size)
        assert path.stat().st_size <= 40 * 1024, style

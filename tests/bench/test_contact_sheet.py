"""The clean bench's HTML contact sheet: thumbnails written as measured, relative links."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bench.contact_sheet import ContactSheet, erase_mask_view


def test_erase_mask_marks_changed_pixels() -> None:
    src = np.full((4, 4, 3), 90, np.uint8)
    out = src.copy()
    out[0, 0] = 100  # > 2 levels: changed
    out[1, 1] = 92  # 2 levels: not changed
    view = erase_mask_view(src, out)
    assert tuple(view[0, 0]) == (255, 0, 255)
    assert tuple(view[1, 1]) == (30, 30, 30)


def test_sheet_links_every_method_relatively(tmp_path: Path) -> None:
    sheet = ContactSheet(tmp_path / "contact")
    rgb = np.zeros((600, 900, 3), np.uint8)
    sheet.add("test:3", "heldout", "ours", rgb, 255 - rgb, "erased 3/4 <left: 包邮>")
    sheet.add("test:3", "heldout", "baseline", rgb, rgb, "erased 0/4")
    sheet.add("posters/p 1.png", "real photo", "ours", rgb, rgb, "kept 2/2")
    index = sheet.write()
    page = index.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page
    assert "&lt;left: 包邮&gt;" in page  # escaped, UTF-8
    assert str(tmp_path) not in page  # relative links only
    for name in ("test_3_input.jpg", "test_3_ours.jpg", "test_3_ours_mask.jpg",
                 "test_3_baseline.jpg", "posters_p_1.png_ours_mask.jpg"):  # fmt: skip
        assert f'src="{name}"' in page and (index.parent / name).is_file()
    with Image.open(index.parent / "test_3_ours.jpg") as thumb:
        assert thumb.size == (400, 267)
    # a case without a method's cell gets a dash, not a broken image
    assert page.count("<td>—</td>") == 1

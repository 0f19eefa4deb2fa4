"""HTML contact sheet of the clean bench: input | output | erase mask, per test image and method.

Numbers cannot show haze, foreign texture or a half-erased badge; a person looking at every
test image can. Thumbnails are written as the bench runs (nothing is held in memory), the
page at the end: ``bench/results/clean_contact/index.html`` with relative links, so the
folder can be copied or zipped as it is.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from globalpic_common.interfaces import ImageArray

THUMB_WIDTH = 400
JPEG_QUALITY = 85
CHANGE_LEVELS = 2  # same "changed" rule as the metrics (any channel moved by > 2 levels)


@dataclass
class _Row:
    case: str
    caption: str
    cells: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)  # method -> files


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "case"


def _thumb(rgb: ImageArray, path: Path, width: int = THUMB_WIDTH) -> None:
    img = Image.fromarray(np.ascontiguousarray(rgb, np.uint8))
    if img.width > width:
        img = img.resize(
            (width, max(1, round(img.height * width / img.width))), Image.Resampling.LANCZOS
        )
    img.save(path, quality=JPEG_QUALITY)


def erase_mask_view(source: ImageArray, output: ImageArray) -> ImageArray:
    """The input dimmed to a third, with every changed pixel in magenta: where the method
    touched the image, and what it touched, in one picture."""
    changed = np.abs(output.astype(np.int16) - source.astype(np.int16)).max(axis=2) > CHANGE_LEVELS
    view = (source.astype(np.float32) / 3).astype(np.uint8)
    view[changed] = (255, 0, 255)
    return view


class ContactSheet:
    def __init__(self, directory: Path, title: str = "clean bench: test split") -> None:
        self.directory = directory
        self.title = title
        self.rows: dict[str, _Row] = {}
        self.methods: list[str] = []
        directory.mkdir(parents=True, exist_ok=True)

    def add(
        self, case: str, caption: str, method: str, source: ImageArray, output: ImageArray,
        figures: str,
    ) -> None:  # fmt: skip
        """Write the three thumbnails of one case and method now; ``figures`` goes beneath."""
        stem = _slug(case)
        row = self.rows.setdefault(case, _Row(case, caption))
        if method not in self.methods:
            self.methods.append(method)
        source_name = f"{stem}_input.jpg"
        if not (self.directory / source_name).exists() or not row.cells:
            _thumb(source, self.directory / source_name)
        out_name, mask_name = f"{stem}_{_slug(method)}.jpg", f"{stem}_{_slug(method)}_mask.jpg"
        _thumb(output, self.directory / out_name)
        _thumb(erase_mask_view(source, output), self.directory / mask_name)
        row.cells[method] = (source_name, out_name, mask_name, figures)

    def write(self) -> Path:
        parts = [
            "<!doctype html>",
            '<html><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font:13px sans-serif;margin:12px}table{border-collapse:collapse}"
            "td{vertical-align:top;padding:4px;border-bottom:1px solid #ccc}"
            f"img{{width:{THUMB_WIDTH // 2}px;display:inline-block;margin-right:2px}}"
            "img:hover{width:auto}.f{white-space:pre-wrap;max-width:620px;color:#333}"
            "th{text-align:left;background:#eee;padding:4px}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
            "<p>Per method: input | output | erase mask (input dimmed, changed pixels magenta)."
            " Click a thumbnail for the full-size JPEG.</p>",
            "<table><tr><th>case</th>"
            + "".join(f"<th>{html.escape(m)}</th>" for m in self.methods)
            + "</tr>",
        ]
        for row in self.rows.values():
            cells = [f"<td><b>{html.escape(row.case)}</b><br>{html.escape(row.caption)}</td>"]
            for method in self.methods:
                if method not in row.cells:
                    cells.append("<td>—</td>")
                    continue
                files = row.cells[method]
                imgs = "".join(
                    f'<a href="{html.escape(name)}"><img src="{html.escape(name)}" '
                    f'alt="{html.escape(label)}" title="{html.escape(label)}"></a>'
                    for name, label in zip(
                        files[:3], ("input", "output", "erase mask"), strict=True
                    )
                )
                cells.append(f'<td>{imgs}<div class="f">{html.escape(files[3])}</div></td>')
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table></body></html>")
        index = self.directory / "index.html"
        index.write_text("\n".join(parts), encoding="utf-8")
        return index

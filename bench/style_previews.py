"""Style previews for the web app's gallery (issue 15): every style of the catalog rendered by
our own remixer (the CPU scene renderers, as the generation service runs them without a GPU)
behind one product with an exact matte (``bench.composites``), as a small JPEG in
``globalpic_common/style_previews/<style id>.jpg`` (package data). The files are committed:
the gateway serves them (``GET /v1/styles/{id}/preview``) without a model service;
``tests/test_style_previews.py`` checks that every style has one.

``make style-previews`` (or ``python -m bench.style_previews``) after a style is added or its
renderer changes.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from bench.composites import make_composite
from globalpic_common.styles import PREVIEWS, style_ids
from globalpic_generation.remix import Remixer

ROOT = Path(__file__).resolve().parents[1]
OUT = PREVIEWS
SIDE = 320
QUALITY = 82
# A composite whose product reads well at thumbnail size (a bottle, centred).
PRODUCT_SEED, PRODUCT_INDEX = 0, 1


def render(out: Path = OUT) -> list[Path]:
    product = make_composite(PRODUCT_SEED, PRODUCT_INDEX, size=768, photos=False)
    remixer = Remixer()
    cutout = remixer.prepare(product.image, product.alpha)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for style in style_ids():
        result = remixer.place(cutout, style_id=style, seed=0)
        image = Image.fromarray(np.asarray(result.image, dtype=np.uint8)).convert("RGB")
        image.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=QUALITY, optimize=True, progressive=True)
        path = out / f"{style}.jpg"
        path.write_bytes(buffer.getvalue())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.style_previews", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    for path in render(args.out):
        print(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
            f"{path.stat().st_size // 1024} KB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Render the demo photo ``samples/taobao_sample.jpg`` (``python -m bench.make_sample``).

A procedural product photo with a printed brand label (to keep) under typical marketplace
edits (to erase): a promo banner, a round badge, a price sticker, a starburst, outlined text
and a tiled, semi-transparent store watermark. Deterministic: re-running rewrites the same
picture, and the JPEG stays small enough to commit.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from bench.synthetic import REPO_ROOT, GtLine, add_overlays, procedural_photo

SAMPLE_PATH = REPO_ROOT / "samples" / "taobao_sample.jpg"
SAMPLE_SEED = 26
SAMPLE_STYLES = ("banner", "badge_circle", "price_sticker", "burst", "outlined")
JPEG_QUALITY = 92
MAX_BYTES = 400_000


def render_sample(seed: int = SAMPLE_SEED, size: int = 1024) -> tuple[np.ndarray, list[GtLine]]:
    """The sample image and every text line drawn on it (overlay and product)."""
    photo = procedural_photo(seed, size)
    rng = np.random.default_rng(seed + 1)
    image, overlay_lines = add_overlays(
        rng,
        photo.image,
        photo.product_mask,
        keep_clear=[line.box for line in photo.lines],
        tiled_watermark=True,
        styles=SAMPLE_STYLES,
    )
    return image, [*photo.lines, *overlay_lines]


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_PATH)
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--lines", action="store_true", help="print the ground-truth lines")
    args = parser.parse_args(argv)
    image, lines = render_sample(args.seed, args.size)
    data = encode_jpeg(image)
    if len(data) > MAX_BYTES:
        raise SystemExit(f"sample is {len(data)} bytes, over the {MAX_BYTES} byte budget")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data) // 1024} KB, {len(lines)} text lines)")
    if args.lines:
        for line in lines:
            print(json.dumps({"kind": line.kind, "style": line.style, "text": line.text,
                              "box": line.box}, ensure_ascii=False))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

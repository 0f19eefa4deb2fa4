"""Dev probe: recall of each OCR pass and erase-mask coverage on faint / plain overlays.

Tune split only: ``bench/synthetic.py`` cases plus probe cases drawn here with the same
generator's pieces (a single store watermark at 12-35 % opacity, a tiled one at 12-30 %,
plain one-colour lines), on procedural photos. For every overlay line it reports

* which detector pass reads it (the judge's own match rule: ``clean_bench.matches``), per
  pass and merged;
* whether the erase mask built from the merged lines that read it covers its glyphs: the mean
  CIE76 ΔE between the overlaid and the clean photo over the line's changed pixels, counting
  masked pixels as restored (what a perfect fill would leave); ≤ 5 passes.

It also times the detector per image, and counts lines found on overlay-free photos (each a
false-positive risk for the classifier).

    .venv/bin/python -m bench.faint_probe --n 8 --probe 8
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from collections.abc import Sequence

import cv2
import numpy as np

from bench.clean_bench import matches
from bench.synthetic import (
    STORE_NAMES,
    GtLine,
    SyntheticCase,
    _Canvas,
    _pick,
    _pick_font,
    _place,
    _Sprite,
    _text_px,
    add_overlays,
    changed_mask,
    make_case,
    procedural_photo,
    quad_inside,
)
from globalpic_common.schemas import TextLine
from globalpic_generation.delta_e import delta_e76
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.quads import fill_quad
from globalpic_ocr.detector import RapidOcrDetector

# Probe shop names (not the synthetic bench's list, not any evaluator's).
PROBE_NAMES = (
    "小米有品旗舰店", "京东自营 品质优选", "抖音小店：好物分享", "天猫超市 正品保障",
    "唯品会特卖", "苏宁易购 官方", "1688 实力商家", "云集 好货直发", *STORE_NAMES[:3],
)  # fmt: skip
MAX_GLYPH_DELTA_E = 5.0


def _sprite(rng: np.random.Generator, scale: float, px_range: tuple[float, float]) -> _Sprite:
    text = _pick(rng, PROBE_NAMES)
    font = _pick_font(rng, 0.5)
    px = max(12, round(rng.uniform(*px_range) * scale))
    tw, th = _text_px(text, font, px)
    c = _Canvas(tw + px, th + px)
    fill = _pick(rng, ((255, 255, 255), (150, 150, 150), (30, 30, 30), (220, 40, 40)))
    c.text(((tw + px) / 2, (th + px) / 2), text, font, px, fill)
    return _Sprite(c.finish(), c.texts, "probe")


def probe_case(seed: int, size: int = 1024) -> SyntheticCase:
    """A procedural photo with a faint single watermark, a faint tiled one (odd seeds) and
    plain one-colour lines."""
    rng = np.random.default_rng(10_000 + seed)
    photo = procedural_photo(rng, size)
    clean = photo.image
    img, lines = add_overlays(
        rng,
        clean,
        photo.product_mask,
        keep_clear=[line.box for line in photo.lines],
        styles=["plain", "plain", "rotated"],
        tiled_watermark=False,
    )
    work = img.astype(np.float32)
    s = size
    # One faint single watermark somewhere (may cross the product).
    for _ in range(20):
        sprite = _sprite(rng, s / 1024, (28, 56))
        placed = _place(sprite, s, (rng.uniform(0.2, 0.8) * s, rng.uniform(0.15, 0.85) * s),
                        float(rng.choice([0.0, rng.uniform(-25, 25)])))  # fmt: skip
        if all(quad_inside(q, s, s, 2) for _, q in placed.quads):
            placed.over(work, float(rng.uniform(0.12, 0.35)))
            lines.extend(GtLine(q, t, "overlay", "probe_faint") for t, q in placed.quads)
            break
    if seed % 2:
        sprite = _sprite(rng, s / 1024, (24, 40))
        opacity = float(rng.uniform(0.12, 0.3))
        angle = float(rng.uniform(15, 35) * rng.choice([-1, 1]))
        step_x, step_y = sprite.rgba.width * 1.5, sprite.rgba.height * 3.5
        rad = np.radians(-angle)
        ux, uy = np.cos(rad), np.sin(rad)
        for j in range(-8, 9):
            for i in range(-6, 7):
                gx, gy = i * step_x + (j % 2) * step_x / 2, j * step_y
                cx, cy = s / 2 + gx * ux - gy * uy, s / 2 + gx * uy + gy * ux
                if not (-0.2 * s < cx < 1.2 * s and -0.2 * s < cy < 1.2 * s):
                    continue
                tile = _place(sprite, s, (cx, cy), angle)
                if tile.alpha.size:
                    tile.over(work, opacity)
                lines.extend(
                    GtLine(q, t, "overlay", "probe_tiled")
                    for t, q in tile.quads
                    if quad_inside(q, s, s)
                )
    image = np.clip(work, 0, 255).round().astype(np.uint8)
    return SyntheticCase(
        image=image,
        clean=clean,
        overlay_mask=changed_mask(image, clean),
        lines=[*photo.lines, *lines],
        product_mask=photo.product_mask,
        seed=seed,
        source="probe",
    )


def glyph_delta_e(case: SyntheticCase, line: GtLine, mask: np.ndarray) -> float:
    """Mean ΔE over the line's changed pixels, masked pixels counted as restored."""
    h, w = mask.shape
    quad = fill_quad((h, w), line.box) > 0
    quad = cv2.dilate(quad.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    glyph = quad & (case.overlay_mask > 0)
    if not glyph.any():
        return 0.0
    de = delta_e76(case.image[glyph], case.clean[glyph])
    de[mask[glyph] > 0] = 0.0
    return float(de.mean())


def run_passes(detector: RapidOcrDetector, image: np.ndarray) -> dict[str, list[TextLine]]:
    """Lines per pass (whatever the detector exposes) and merged ('all')."""
    passes = getattr(detector, "detect_passes", None)
    if passes is None:
        lines = detector.detect(image)
        return {"colour": lines, "all": lines}
    out: dict[str, list[TextLine]] = passes(image)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=8, help="bench/synthetic.py cases (seeds 0..)")
    parser.add_argument("--probe", type=int, default=8, help="probe cases")
    parser.add_argument("--clean-photos", type=int, default=0, help="overlay-free photos")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--no-mask", action="store_true")
    args = parser.parse_args(argv)

    detector = RapidOcrDetector()
    detector.load()
    cases = [make_case(args.first_seed + i) for i in range(args.n)]
    cases += [probe_case(args.first_seed + i) for i in range(args.probe)]
    found: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    masked: Counter[str] = Counter()
    seconds: list[float] = []
    for case in cases:
        t0 = time.perf_counter()
        per_pass = run_passes(detector, case.image)
        seconds.append(time.perf_counter() - t0)
        merged = per_pass["all"]
        mask = None
        if not args.no_mask:
            hits = [d for d in merged if any(matches(g, d) for g in case.overlay_lines)]
            mask = build_erase_mask(case.image, hits)
        missed = []
        for g in case.overlay_lines:
            total[g.style] += 1
            for name, lines in per_pass.items():
                if any(matches(g, d) for d in lines):
                    found[name][g.style] += 1
            if mask is not None and glyph_delta_e(case, g, mask) <= MAX_GLYPH_DELTA_E:
                masked[g.style] += 1
            if not any(matches(g, d) for d in merged):
                missed.append(g.text)
        print(
            f"case {case.source[:28]:28s} seed {case.seed}: {seconds[-1]:.2f}s "
            f"lines {len(merged)} missed {missed[:6]}",
            flush=True,
        )
    names = list(found) or ["all"]
    print(f"{'style':22s} {'n':>4s} " + " ".join(f"{n:>9s}" for n in names) + "  mask<=5dE")
    for style in sorted(total):
        row = " ".join(f"{found[n][style] / total[style]:9.2f}" for n in names)
        print(f"{style:22s} {total[style]:4d} {row}  {masked[style] / total[style]:9.2f}")
    all_n = sum(total.values())
    row = " ".join(f"{sum(found[n].values()) / all_n:9.2f}" for n in names)
    print(f"{'ALL':22s} {all_n:4d} {row}  {sum(masked.values()) / all_n:9.2f}")
    print(f"detector s/image: mean {np.mean(seconds):.2f} max {np.max(seconds):.2f}")

    if args.clean_photos:
        extra = 0
        for i in range(args.clean_photos):
            photo = procedural_photo(np.random.default_rng(50_000 + i), 1024)
            per_pass = run_passes(detector, photo.image)
            base = {d.text for d in per_pass.get("colour", per_pass["all"])}
            new = [d.text for d in per_pass["all"] if d.text not in base]
            extra += len(new)
            print(f"clean photo {i}: colour {len(base)} lines, added by faint passes: {new}")
        print(f"lines added on overlay-free photos: {extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

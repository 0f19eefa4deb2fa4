"""Probe of the product-aware fill: how well the product is rebuilt under an overlay.

TUNE split only: ``bench.synthetic`` cases (procedural photos and the tune-split real photos:
never ``paddleclas_*`` nor ``posters/``), keeping the cases where an overlay crosses the
product. Every case is inpainted twice with the ``auto`` inpainter: without the product
alpha (the old fill) and with it (product-aware). Scored on ``overlay_mask ∩ product_mask``
against the clean photo: PSNR, mean ΔE2000, and the gradient-energy ratio (fill / clean; 1
is right, well below 1 is haze); and PSNR on ``overlay_mask`` beside the product (a bump
of product painted over the background shows there). The erase mask is the overlay mask
grown by 2 px (the fill's job, not the mask builder's); the alpha is the segmenter's, on the
overlaid photo (``--alpha gt``: the true product mask).

    .venv/bin/python -m bench.fill_probe --n 12 [--real 4] [--alpha seg|gt] [--save out/probe]
"""

from __future__ import annotations

import argparse
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from bench.colour import delta_e2000
from bench.synthetic import REAL_PRODUCTS_DIR, SyntheticCase, load_photo, make_case
from globalpic_generation.inpaint import AutoInpainter
from globalpic_generation.texture import gradient_energy_map, luminance

# An overlay must cover at least this many product pixels for the case to count.
MIN_PIXELS = 400
TEST_PREFIXES = ("paddleclas_", "posterrase_")


def tune_photos(limit: int) -> list[Path]:
    if limit <= 0 or not REAL_PRODUCTS_DIR.is_dir():
        return []
    paths = sorted(REAL_PRODUCTS_DIR.glob("*.jpg"))
    return [p for p in paths if not p.name.startswith(TEST_PREFIXES)][:limit]


def psnr(a: Any, b: Any, where: Any) -> float:
    diff = a.astype(np.float64)[where] - b.astype(np.float64)[where]
    return float(10 * np.log10(255.0**2 / max(float(np.mean(diff**2)), 1e-9)))


def grad_energy(image: Any, where: Any) -> float:
    return float(gradient_energy_map(luminance(image))[where].mean())


def score(out: Any, case: SyntheticCase, where: npt.NDArray[np.bool_]) -> dict[str, float]:
    return {
        "psnr": psnr(out, case.clean, where),
        "de": float(np.mean(delta_e2000(out[where], case.clean[where]))),
        "grad": grad_energy(out, where) / max(grad_energy(case.clean, where), 1e-6),
    }


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    from globalpic_segmentation.registry import build_segmenter

    return build_segmenter()


def segment(image: Any) -> npt.NDArray[np.float32]:
    return np.asarray(_segmenter().segment(image), np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="procedural seeds to try")
    parser.add_argument("--first", type=int, default=0, help="first seed")
    parser.add_argument("--real", type=int, default=0, help="tune-split real photos to try")
    parser.add_argument("--alpha", choices=("seg", "gt"), default="seg")
    parser.add_argument("--save", type=Path, default=None, help="write before/after crops")
    args = parser.parse_args()

    cases = [make_case(seed) for seed in range(args.first, args.first + args.n)]
    for i, path in enumerate(tune_photos(args.real)):
        cases.append(make_case(1000 + i, base=load_photo(path, 1024), source=path.name))
    inpainter = AutoInpainter()
    rows: list[tuple[dict[str, float], dict[str, float]]] = []
    times: list[tuple[float, float]] = []
    for case in cases:
        if case.product_mask is None:
            continue
        where = (case.overlay_mask > 0) & (case.product_mask > 0)
        if int(where.sum()) < MIN_PIXELS:
            continue
        mask = np.asarray(cv2.dilate(case.overlay_mask, np.ones((5, 5), np.uint8)), np.uint8)
        if args.alpha == "gt":
            alpha = (case.product_mask > 0).astype(np.float32)
        else:
            alpha = segment(case.image)
        t0 = time.perf_counter()
        before = inpainter.inpaint(case.image, mask)
        t1 = time.perf_counter()
        after = inpainter.inpaint(case.image, mask, product_alpha=alpha)
        t2 = time.perf_counter()
        old, new = score(before, case, where), score(after, case, where)
        # Beside the product: a bump (product painted over the background) shows here.
        beside = (case.overlay_mask > 0) & (case.product_mask == 0)
        old["bg"], new["bg"] = psnr(before, case.clean, beside), psnr(after, case.clean, beside)
        rows.append((old, new))
        times.append((t1 - t0, t2 - t1))
        print(
            f"{case.seed:5d} {case.source[:28]:28s} px={int(where.sum()):6d} "
            f"psnr {old['psnr']:5.1f} -> {new['psnr']:5.1f}  "
            f"dE {old['de']:5.2f} -> {new['de']:5.2f}  "
            f"grad {old['grad']:4.2f} -> {new['grad']:4.2f}  "
            f"bg {old['bg']:4.1f} -> {new['bg']:4.1f}  "
            f"t {t1 - t0:4.2f}s -> {t2 - t1:4.2f}s"
        )
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            strip = np.concatenate([case.clean, case.image, before, after], axis=1)
            cv2.imwrite(str(args.save / f"{case.seed}.jpg"), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    if not rows:
        print("no case with an overlay on the product")
        return
    for label, k in (("before", 0), ("after", 1)):
        keys = ("psnr", "de", "grad", "bg")
        m = {key: float(np.mean([r[k][key] for r in rows])) for key in keys}
        worst = min(r[k]["psnr"] for r in rows)
        t = float(np.mean([tt[k] for tt in times]))
        print(
            f"{label:6s} n={len(rows)} mean PSNR {m['psnr']:.2f} dB (worst {worst:.1f}), "
            f"mean dE2000 {m['de']:.2f}, grad ratio {m['grad']:.2f}, "
            f"beside the product {m['bg']:.2f} dB, {t:.2f} s/image"
        )


if __name__ == "__main__":
    main()

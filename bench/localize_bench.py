"""``make bench-localize``: ``resize --platform amazon`` against ``check``, and ``localize`` speed.

Two measurements on the same images (the product composites of ``bench.composites`` at
1024², plus the real product photos of ``../shared/data/realworld/products`` when present):

* **amazon**: each image is resized for Amazon exactly as ``globalpic resize --platform
  amazon`` does (U²-Net-p mask, refined matte when the pipeline has it, ``fit_frame``),
  encoded as the CLI writes it (PNG), decoded again and judged by ``check --platform amazon``
  from scratch (its own segmentation and OCR, like a seller running ``globalpic check`` on
  the file): the share that passes every rule, and which rules fail.
* **localize**: ``Localizer.run`` with all four ops (clean, extract, remix with
  ``--style``, resize to ``--platform``) per image: seconds per image and per stage.

Each figure is printed as soon as it is measured; the summary compares with the issue's
targets (100 % pass, <= 8 s per 1024² image) and everything goes to ``--json-out``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.composites import build_composites
from bench.synthetic import REPO_ROOT, load_photo, real_photo_paths
from globalpic_common.imageio import encode_image
from globalpic_common.interfaces import ImageArray

LOCALIZE_TARGET_S = 8.0


def bench_images(n: int, size: int, seed: int, photos: int) -> Iterator[tuple[str, ImageArray]]:
    """``n`` composites (exact-alpha products on gradients, textures, blurred photos, sweeps)
    then up to ``photos`` real product photos when ``../shared`` is beside the repo."""
    for comp in build_composites(n, seed=seed, size=size):
        yield comp.name, comp.image
    for path in real_photo_paths(photos) if photos else []:
        yield f"photo:{path.name}", load_photo(path, size)


def _as_written(image: ImageArray) -> ImageArray:
    """What the seller uploads: the PNG ``resize`` writes, decoded."""
    data = encode_image(image, "png")
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def run_amazon(images: Sequence[tuple[str, ImageArray]]) -> dict[str, Any]:
    from globalpic_cli.embedded import checker_from_settings
    from globalpic_common.platforms import get_platform
    from globalpic_generation.canvas import CanvasFramer
    from globalpic_orchestrator.pipeline.frame import Frame, fit_frame
    from globalpic_segmentation.extract import Extractor

    amazon = get_platform("amazon")
    frame = Frame(amazon.width, amazon.height, amazon)
    checker = checker_from_settings(amazon)
    checker.load()
    extractor = Extractor(checker.segmenter)
    extractor.load()
    passed, failures, seconds = 0, Counter[str](), []
    for name, image in images:
        start = time.perf_counter()
        matte = extractor.extract(image).alpha
        fitted = fit_frame(image, matte, frame, CanvasFramer(), cutout=False)
        seconds.append(time.perf_counter() - start)
        rules = checker.check(_as_written(fitted.image))
        broken = [r for r in rules if not r.passed]
        passed += not broken
        failures.update(r.rule for r in broken)
        detail = "; ".join(f"{r.rule}: {r.message}" for r in broken) or "all rules pass"
        print(f"amazon  {name:<32} {seconds[-1]:5.2f} s  {detail}", flush=True)
    return {
        "images": len(images),
        "passed": passed,
        "pass_rate": passed / max(1, len(images)),
        "failures": dict(failures),
        "seconds_mean": statistics.fmean(seconds) if seconds else None,
    }


def run_localize(
    images: Sequence[tuple[str, ImageArray]], style: str, platform: str
) -> dict[str, Any]:
    from globalpic_cli.embedded import localizer_from_settings
    from globalpic_common.schemas import Op
    from globalpic_orchestrator.pipeline.frame import frame_for
    from globalpic_orchestrator.pipeline.localize import LocalizeOptions

    localizer = localizer_from_settings()
    ops = (Op.CLEAN, Op.EXTRACT, Op.REMIX, Op.RESIZE)
    localizer.load(ops)
    options = LocalizeOptions(ops=ops, style=style, frame=frame_for(platform, None))
    walls, stages = [], Counter[str]()
    for name, image in images:
        start = time.perf_counter()
        result = localizer.run(image, options)
        walls.append(time.perf_counter() - start)
        stages.update(result.seconds)
        top = ", ".join(f"{k} {v:.2f}" for k, v in sorted(result.seconds.items()))
        print(f"localize {name:<31} {walls[-1]:5.2f} s  ({top})", flush=True)
    n = max(1, len(walls))
    return {
        "images": len(walls),
        "seconds_mean": statistics.fmean(walls) if walls else None,
        "seconds_max": max(walls) if walls else None,
        "stages_mean": {k: round(v / n, 3) for k, v in sorted(stages.items())},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=12, help="composites")
    parser.add_argument("--photos", type=int, default=12, help="real photos (when present)")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", default="amazon-white")
    parser.add_argument("--platform", default="amazon")
    parser.add_argument("--skip-amazon", action="store_true")
    parser.add_argument("--skip-localize", action="store_true")
    parser.add_argument("--json-out", type=Path, default=REPO_ROOT / "bench/results/localize.json")
    args = parser.parse_args(argv)

    images = list(bench_images(args.n, args.size, args.seed, args.photos))
    print(f"{len(images)} images at {args.size} px", flush=True)
    report: dict[str, Any] = {"config": {k: str(v) for k, v in vars(args).items()}}
    if not args.skip_amazon:
        report["amazon"] = run_amazon(images)
    if not args.skip_localize:
        report["localize"] = run_localize(images, args.style, args.platform)

    print()
    if "amazon" in report:
        a = report["amazon"]
        mark = "✓" if a["pass_rate"] >= 1.0 else "✗"
        print(
            f"resize amazon -> check: {a['passed']}/{a['images']} pass "
            f"({a['pass_rate']:.0%} {mark}, target 100%); failing rules: {a['failures'] or '-'}"
        )
    if "localize" in report:
        loc = report["localize"]
        mark = "✓" if loc["seconds_mean"] <= LOCALIZE_TARGET_S else "✗"
        print(
            f"localize clean+extract+remix+resize ({args.style}, {args.platform}): "
            f"{loc['seconds_mean']:.2f} s/image mean {mark} (max {loc['seconds_max']:.2f}, "
            f"target <= {LOCALIZE_TARGET_S:.0f} s); per stage {loc['stages_mean']}"
        )
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

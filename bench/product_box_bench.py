"""Does the Amazon-bound cut-out hold the product, all of it, and little else? (issue 12, item 6)

Real ad photos of ``../shared/data/realworld`` carry hand-drawn product boxes in
``bench/labels/product_boxes.json`` (``{"<relpath>": {"split", "boxes": [[x0, y0, x1, y1]...],
"product", "notes"}}``, boxes in pixels of the file as Pillow reads it). Each labelled photo
goes through ``clean`` then ``extract`` exactly as ``globalpic localize --ops
clean,extract,remix,resize --platform amazon`` runs them (``Localizer``'s cleaner, then the
extractor on the cleaned image with clean's product map and text lines), and the cut-out
(alpha >= 0.5) is scored against the boxes:

* **coverage** of a box: the share of the box that the bounding box of the cut-out's pixels
  inside it covers. A box is not all product (a bottle's box holds background beside the
  neck), so pixel coverage would punish a perfect cut-out; a cut-out that keeps one bottle of
  three leaves two boxes empty. A box is covered at >= 90 %.
* **outside**: the share of the cut-out's area outside every box (a badge, a backdrop).

An image passes when every box is covered and outside <= 10 %. The pass rate is printed per
split (tune / test), for the product choice of this release (``objects``) and the previous
release's most-salient component (``legacy``) in the same run, on the same clean output.
A contact sheet (input with boxes | cut-out per method) goes to
``bench/results/product_boxes/index.html``.

``python -m bench.product_box_bench --split tune [--limit N] [--only NAME]``. Without
``../shared`` or the labels it says so and exits 0.
"""

from __future__ import annotations

import argparse
import html
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from bench.splits import SPLITS, split_of, wanted
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.schemas import TextRegion

REPO_ROOT = Path(__file__).resolve().parent.parent
REALWORLD_DIR = REPO_ROOT.parent / "shared" / "data" / "realworld"
LABELS_PATH = REPO_ROOT / "bench" / "labels" / "product_boxes.json"
OUT_DIR = REPO_ROOT / "bench" / "results" / "product_boxes"

COVER_TARGET = 0.90  # each box covered at least this much
OUTSIDE_TARGET = 0.10  # at most this share of the cut-out outside every box
PASS_TARGET = 0.90  # share of images that must pass (issue 12)
METHODS = ("objects", "legacy")
THUMB_SIDE = 360

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Score:
    coverage: list[float]  # per box
    outside: float
    passed: bool


def score_cutout(alpha: AlphaArray, boxes: Sequence[Box]) -> Score:
    """Coverage of each box and the share of the cut-out outside every box (module doc)."""
    cut = alpha >= 0.5
    height, width = cut.shape
    inside_any = np.zeros_like(cut)
    coverage = []
    for x0, y0, x1, y1 in boxes:
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(width, x1), min(height, y1)
        inside_any[y0:y1, x0:x1] = True
        ys, xs = np.nonzero(cut[y0:y1, x0:x1])
        area = max(1, (x1 - x0) * (y1 - y0))
        if ys.size == 0:
            coverage.append(0.0)
            continue
        covered = (int(xs.max()) - int(xs.min()) + 1) * (int(ys.max()) - int(ys.min()) + 1)
        coverage.append(covered / area)
    total = int(cut.sum())
    outside = float((cut & ~inside_any).sum()) / total if total else 1.0
    passed = total > 0 and all(c >= COVER_TARGET for c in coverage) and outside <= OUTSIDE_TARGET
    return Score(coverage, outside, passed)


def load_labels(path: Path) -> dict[str, dict[str, Any]]:
    labels: dict[str, dict[str, Any]] = json.loads(path.read_text())
    for relpath, entry in labels.items():
        declared = entry.get("split")
        if declared != split_of(relpath):
            raise ValueError(
                f"{relpath}: split {declared!r}, bench.splits says {split_of(relpath)}"
            )
        if not entry.get("boxes"):
            raise ValueError(f"{relpath}: no boxes")
    return labels


def _load(path: Path, max_side: int) -> tuple[ImageArray, float]:
    """The photo as RGB, scaled down to ``max_side`` when larger, and the scale applied."""
    with Image.open(path) as img:
        rgb = img.convert("RGB")
        scale = min(1.0, max_side / max(rgb.size))
        if scale < 1.0:
            size = (round(rgb.width * scale), round(rgb.height * scale))
            rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        return np.asarray(rgb), scale


def _thumb(image: ImageArray, name: Path) -> str:
    img = Image.fromarray(image)
    img.thumbnail((THUMB_SIDE, THUMB_SIDE))
    img.save(name, quality=85)
    return name.name


def _cutout_view(image: ImageArray, alpha: AlphaArray) -> ImageArray:
    """The cut-out on a checkerboard, as a person judges it."""
    height, width = alpha.shape
    yy, xx = np.mgrid[0:height, 0:width]
    cell = max(8, max(height, width) // 48)
    board = np.where(((yy // cell + xx // cell) % 2)[..., None] == 0, 200, 245).astype(np.float32)
    a = alpha[..., None].astype(np.float32)
    return np.clip(image * a + board * (1 - a), 0, 255).astype(np.uint8)


def _with_boxes(image: ImageArray, boxes: Sequence[Box], found: Sequence[Any]) -> ImageArray:
    img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    width = max(2, max(img.size) // 300)
    for obj in found:  # every object the extractor saw: kept in blue, dropped in red
        colour = (40, 90, 255) if obj.kept else (230, 40, 40)
        draw.rectangle(obj.box, outline=colour, width=width)
        draw.text((obj.box[0] + 3, obj.box[1] + 3), f"{obj.score:.2f}", fill=colour)
    for box in boxes:
        draw.rectangle(box, outline=(0, 200, 0), width=width)
    return np.asarray(img)


def _cache(path: Path, image: ImageArray, coarse: AlphaArray, texts: list[TextRegion]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    regions = json.dumps([t.model_dump(mode="json") for t in texts])
    np.savez_compressed(path, image=image, coarse=coarse, texts=np.array(regions))


def _cached(path: Path) -> tuple[ImageArray, AlphaArray, list[TextRegion]]:
    """A clean output saved by an earlier run with ``--clean-cache`` (development only: the
    figures to report come from a run without it)."""
    with np.load(path) as saved:
        texts = [TextRegion.model_validate(t) for t in json.loads(str(saved["texts"]))]
        return saved["image"], saved["coarse"].astype(np.float32), texts


def run(args: argparse.Namespace) -> dict[str, Any]:
    from globalpic_cli.embedded import localizer_from_settings
    from globalpic_common.results import ExtractMode
    from globalpic_common.schemas import Op
    from globalpic_orchestrator.pipeline.localize import LocalizeOptions
    from globalpic_segmentation.extract import Extractor
    from globalpic_segmentation.extract_settings import ExtractSettings, ObjectChoice

    labels = load_labels(args.labels)
    todo = [
        (rel, entry)
        for rel, entry in sorted(labels.items())
        if wanted(entry["split"], args.split) and (not args.only or args.only in rel)
    ]
    todo = todo[: args.limit] if args.limit else todo
    localizer = localizer_from_settings()
    ops = (Op.CLEAN, Op.EXTRACT)
    localizer.load(ops)
    options = LocalizeOptions(ops=ops)
    base = ExtractSettings()
    extractors = {
        m: Extractor(
            localizer.segmenter, base.model_copy(update={"extract_choice": ObjectChoice(m)})
        )
        for m in METHODS
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for rel, entry in todo:
        path = REALWORLD_DIR / rel
        if not path.exists():
            print(f"skip {rel}: missing", flush=True)
            continue
        image, scale = _load(path, args.max_side)
        boxes = [tuple(round(v * scale) for v in box) for box in entry["boxes"]]
        start = time.perf_counter()
        stem = rel.replace("/", "__").rsplit(".", 1)[0]
        cache = args.clean_cache / f"{stem}.{args.max_side}.npz" if args.clean_cache else None
        if cache is not None and cache.exists():
            clean_image, coarse, texts = _cached(cache)
        else:
            # What Localizer.run does for clean,extract: clean, then extract on the cleaned
            # image with clean's product map and text lines (remix / resize reuse the matte).
            cleaned = localizer.cleaner.clean(image, options.clean)
            clean_image, texts = cleaned.image, cleaned.regions
            found = cleaned.product_alpha
            coarse = found if found is not None else localizer.segmenter.segment(clean_image)
            if cache is not None:
                _cache(cache, clean_image, coarse, texts)
        clean_s = time.perf_counter() - start
        row: dict[str, Any] = {"file": rel, "split": entry["split"], "boxes": boxes}
        views = {}
        for method, extractor in extractors.items():
            start = time.perf_counter()
            cutout = extractor.extract(clean_image, ExtractMode.SALIENT, coarse=coarse, texts=texts)
            seconds = time.perf_counter() - start
            s = score_cutout(cutout.alpha, boxes)
            row[method] = {
                "passed": s.passed,
                "coverage": [round(c, 3) for c in s.coverage],
                "outside": round(s.outside, 3),
                "seconds": round(seconds, 2),
                "objects": [
                    {"box": o.box, "score": o.score, "kept": o.kept, "cues": o.cues}
                    for o in cutout.objects
                ],
            }
            views[method] = (
                _thumb(
                    _cutout_view(clean_image, cutout.alpha), args.out_dir / f"{stem}.{method}.jpg"
                ),
                _thumb(
                    _with_boxes(clean_image, boxes, cutout.objects),
                    args.out_dir / f"{stem}.{method}.boxes.jpg",
                ),
            )
            mark = "pass" if s.passed else "FAIL"
            cover = " ".join(f"{c:.2f}" for c in s.coverage)
            print(
                f"{entry['split']:<4} {method:<7} {mark} {rel:<48} cover [{cover}] "
                f"outside {s.outside:.2f}  kept {sum(o.kept for o in cutout.objects)}"
                f"/{len(cutout.objects)}  ({clean_s:.1f} s clean, {seconds:.1f} s extract)",
                flush=True,
            )
        row["views"] = views
        rows.append(row)
    summary: dict[str, Any] = {}
    for split in SPLITS:
        chosen = [r for r in rows if r["split"] == split]
        if not chosen:
            continue
        summary[split] = {
            m: {
                "images": len(chosen),
                "passed": sum(r[m]["passed"] for r in chosen),
                "pass_rate": sum(r[m]["passed"] for r in chosen) / len(chosen),
                "outside_mean": statistics.fmean(r[m]["outside"] for r in chosen),
                "boxes_covered": statistics.fmean(
                    statistics.fmean(c >= COVER_TARGET for c in r[m]["coverage"]) for r in chosen
                ),
            }
            for m in METHODS
        }
    _contact_sheet(rows, summary, args.out_dir / "index.html")
    return {"summary": summary, "images": rows}


def _contact_sheet(rows: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> None:
    parts = [
        "<!doctype html><meta charset=utf-8><title>product boxes</title>",
        "<style>body{font:13px sans-serif}td{vertical-align:top;padding:4px}"
        ".pass{color:#080}.fail{color:#c00}</style>",
        "<h1>Product boxes: Amazon-bound cut-out vs hand-drawn boxes</h1>",
        "<p>Green: labelled boxes. Blue / red: objects kept / dropped, with their score.</p>",
        f"<pre>{html.escape(json.dumps(summary, indent=1))}</pre><table>",
    ]
    for row in rows:
        cells = [f"<td><b>{html.escape(row['file'])}</b><br>{row['split']}</td>"]
        for method in METHODS:
            cut, boxed = row["views"][method]
            r = row[method]
            verdict = "pass" if r["passed"] else "fail"
            cells.append(
                f"<td><img src='{boxed}'><br><span class={verdict}>{method}: {verdict}</span> "
                f"cover {r['coverage']} outside {r['outside']}</td><td><img src='{cut}'></td>"
            )
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    path.write_text("\n".join(parts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", default="tune", help="tune | test | both")
    parser.add_argument("--labels", type=Path, default=LABELS_PATH)
    parser.add_argument("--limit", type=int, default=0, help="first N labelled photos only")
    parser.add_argument("--only", default="", help="photos whose path contains this")
    parser.add_argument("--max-side", type=int, default=1024, help="scale larger photos down")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--clean-cache",
        type=Path,
        default=None,
        help="keep / reuse each photo's clean output here (tuning the choice only)",
    )
    args = parser.parse_args(argv)
    if not REALWORLD_DIR.exists() or not args.labels.exists():
        print(f"skipped: needs {REALWORLD_DIR} and {args.labels}")
        return 0
    report = run(args)
    print()
    for split, methods in report["summary"].items():
        for method, s in methods.items():
            mark = "✓" if s["pass_rate"] >= PASS_TARGET else "✗"
            print(
                f"{split:<4} {method:<7} {s['passed']}/{s['images']} pass ({s['pass_rate']:.0%} "
                f"{mark}, target {PASS_TARGET:.0%}); boxes covered {s['boxes_covered']:.0%}, "
                f"outside mean {s['outside_mean']:.1%}"
            )
    (args.out_dir / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"wrote {args.out_dir / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

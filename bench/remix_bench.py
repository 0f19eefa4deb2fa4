"""``make bench-remix``: how photographic the ``remix`` composites are, and how fast.

On the product composites of ``bench.composites`` (exact alpha, true product colours and the
original background known), every style is rendered behind every product and the product is
put on it by our ``Remixer`` and by a baseline (a plain alpha paste: no edge decontamination,
no shadow). Two alpha sources, each run with both methods:

* ``true``: the composite's exact alpha (isolates the compositing);
* ``extract``: ``globalpic_segmentation.extract.Extractor`` when that module exists (its
  baseline pastes the plain U²-Net-p mask thresholded at 0.5); otherwise ``u2netp``: our
  method gets U²-Net-p's soft alpha, the baseline the same thresholded at 0.5.

Per style and overall it prints the product-pixel PSNR inside the 3 px-eroded true mask
(against the input where the product is opaque; where it is see-through, glass, against the
true colours over the new background, which must show through), the
halo (mean CIE76 ΔE in the 3 px ring outside the true matte against the ideal composite over
the method's own background plate), seconds per stage per candidate, and for ``amazon-white``
the pass rate of the ``check`` op's Amazon rules. It writes everything to ``--json-out`` and a
contact sheet (``bench/results/remix_sheet.html``: input | cut-out | each style) for people
to judge. bench/README.md defines every metric exactly.
"""

from __future__ import annotations

import argparse
import html
import importlib
import importlib.util
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from bench.composites import Composite, build_composites
from bench.synthetic import REPO_ROOT
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray
from globalpic_common.styles import style_ids
from globalpic_generation.delta_e import delta_e76
from globalpic_generation.remix import Remixer, product_box
from globalpic_generation.scenes import render_background

BoolMask = npt.NDArray[np.bool_]
# Maps a composite to the alpha our method composites with, and the baseline's alpha.
AlphaSource = Callable[[Composite], tuple[AlphaArray, AlphaArray]]

ERODE_PX = 3  # product PSNR is measured this far inside the true mask's edge ...
RING_PX = 3  # ... and the halo in a ring this wide outside it
PSNR_CAP_DB = 100.0  # identical pixels
THUMB_PX = 220
CHECKER_PX = 12

TARGETS: dict[str, tuple[str, float]] = {
    "psnr_product": (">=", 45.0),
    "halo": ("<=", 3.0),
    "seconds": ("<=", 2.0),
}


# ----------------------------------------------------------------------------- metrics


def _disc(px: int) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1)))


def eroded_mask(alpha: AlphaArray, px: int = ERODE_PX) -> BoolMask:
    """Pixels of the true mask (alpha >= 0.5) at least ``px`` px inside its edge."""
    solid = (alpha >= 0.5).astype(np.uint8)
    eroded = cv2.erode(solid, _disc(px), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return np.asarray(eroded) > 0


def outer_ring(alpha: AlphaArray, px: int = RING_PX) -> BoolMask:
    """Pixels outside the true matte's 50 % contour (alpha < 0.5) within ``px`` px of it."""
    solid = (alpha >= 0.5).astype(np.uint8)
    grown: BoolMask = np.asarray(cv2.dilate(solid, _disc(px))) > 0
    outside: BoolMask = solid == 0
    return grown & outside


def psnr(a: ImageArray, b: ImageArray, region: BoolMask) -> float | None:
    """PSNR (dB) of ``a`` vs ``b`` over ``region`` (capped; None for an empty region)."""
    if not region.any():
        return None
    diff = a[region].astype(np.float64) - b[region].astype(np.float64)
    mse = float(np.mean(diff * diff))
    return PSNR_CAP_DB if mse <= 0 else min(PSNR_CAP_DB, 10 * math.log10(255.0**2 / mse))


def ideal_composite(comp: Composite, plate: ImageArray) -> ImageArray:
    """The true product colours with the true alpha over ``plate``: what a perfect method
    would output given that background (and shadow)."""
    a = comp.alpha[:, :, None].astype(np.float32)
    out = a * comp.foreground.astype(np.float32) + (1.0 - a) * plate.astype(np.float32)
    return np.asarray(np.clip(np.rint(out), 0, 255), np.uint8)


def halo_delta_e(output: ImageArray, comp: Composite, plate: ImageArray) -> float | None:
    """Mean CIE76 ΔE in the ring outside the true matte between ``output`` and the ideal
    composite over ``plate`` (= ``plate`` itself wherever the true alpha is 0)."""
    ring = outer_ring(comp.alpha)
    if not ring.any():
        return None
    return float(delta_e76(output[ring], ideal_composite(comp, plate)[ring]).mean())


def plain_paste(image: ImageArray, alpha: AlphaArray, background: ImageArray) -> ImageArray:
    """The baseline: ``alpha * image + (1 - alpha) * background``, nothing else."""
    a = alpha[:, :, None].astype(np.float32)
    out = a * image.astype(np.float32) + (1.0 - a) * background.astype(np.float32)
    return np.asarray(np.clip(np.rint(out), 0, 255), np.uint8)


def amazon_pass_rate(
    images: Sequence[ImageArray], product_masks: Sequence[MaskArray]
) -> dict[str, float] | None:
    """Share of ``images`` that pass each rule of the ``amazon`` preset, and all of them,
    as the ``check`` op judges them (``globalpic_segmentation.rules.evaluate_rules``) given
    the product's mask (no OCR: the overlay-text rule is not judged). None when the rules are
    not installed."""
    try:
        check = importlib.import_module("globalpic_segmentation.rules")
        platforms = importlib.import_module("globalpic_common.platforms")
    except ImportError:
        return None
    if not images:
        return {}
    amazon = platforms.get_platform("amazon")
    passed: dict[str, int] = {}
    all_ok = 0
    for image, mask in zip(images, product_masks, strict=True):
        rules = check.evaluate_rules(image, mask, amazon)
        for rule in rules:
            passed[rule.rule] = passed.get(rule.rule, 0) + int(rule.passed)
        all_ok += int(all(rule.passed for rule in rules))
    rates = {rule: count / len(images) for rule, count in sorted(passed.items())}
    rates["all"] = all_ok / len(images)
    return rates


# ----------------------------------------------------------------------------- per case


@dataclass
class Row:
    composite: str
    kind: str
    style: str
    source: str  # alpha source: true / extract / u2netp
    method: str  # ours / baseline
    psnr_product: float | None
    halo: float | None
    seconds: dict[str, float] = field(default_factory=dict)  # per stage; "total" per candidate


def measure(
    comp: Composite,
    style: str,
    source: str,
    method: str,
    output: ImageArray,
    plate: ImageArray,
    seconds: dict[str, float],
) -> Row:
    return Row(
        composite=comp.name,
        kind=comp.kind,
        style=style,
        source=source,
        method=method,
        psnr_product=psnr(output, ideal_composite(comp, plate), eroded_mask(comp.alpha)),
        halo=halo_delta_e(output, comp, plate),
        seconds={k: round(v, 4) for k, v in seconds.items()},
    )


@dataclass
class CaseOutputs:
    """What one composite gave for one alpha source: rows and, per style, our output."""

    rows: list[Row]
    ours: dict[str, ImageArray]
    cutout_rgb: ImageArray  # decontaminated product colours
    cutout_alpha: AlphaArray


def run_case(
    comp: Composite,
    styles: Sequence[str],
    source: str,
    alpha: AlphaArray,
    baseline_alpha: AlphaArray,
    remixer: Remixer,
    seed: int = 0,
) -> CaseOutputs:
    """Every style behind ``comp``'s product, by ours (alpha ``alpha``) and the baseline
    (plain paste with ``baseline_alpha`` on the same rendered background, no shadow). Our
    cutout is prepared once; each style's time counts it in full, as one ``remix`` call
    would. The baseline's time is its render plus the paste."""
    start = time.perf_counter()
    cutout = remixer.prepare(comp.image, alpha)
    cutout_s = time.perf_counter() - start
    box = product_box(cutout.alpha)
    h, w = comp.alpha.shape
    rows: list[Row] = []
    ours: dict[str, ImageArray] = {}
    for style in styles:
        result = remixer.place(cutout, style_id=style, seed=seed)
        stages = {"cutout": cutout_s, **result.seconds}
        stages["total"] = sum(stages.values())
        rows.append(measure(comp, style, source, "ours", result.image, result.plate, stages))
        ours[style] = result.image
        start = time.perf_counter()
        backdrop = render_background(style, w, h, seed, box)  # what ours was given
        rendered = time.perf_counter()
        pasted = plain_paste(comp.image, baseline_alpha, backdrop)
        done = time.perf_counter()
        base_stages = {
            "background": rendered - start,
            "paste": done - rendered,
            "total": done - start,
        }
        rows.append(measure(comp, style, source, "baseline", pasted, backdrop, base_stages))
    rgb = np.asarray(np.clip(np.rint(cutout.foreground), 0, 255), np.uint8)
    return CaseOutputs(rows, ours, rgb, cutout.alpha)


# ----------------------------------------------------------------------------- alpha sources


def true_alpha_source(comp: Composite) -> tuple[AlphaArray, AlphaArray]:
    return comp.alpha, comp.alpha


def model_alpha_source() -> tuple[str, AlphaSource]:
    """("extract", fn) with the extract op when it exists, else ("u2netp", fn) with the plain
    segmenter; fn gives (our alpha, the baseline's U²-Net-p mask thresholded at 0.5)."""
    from globalpic_segmentation.u2net import U2NetSegmenter

    segmenter = U2NetSegmenter()
    segmenter.load()

    def hard(image: ImageArray) -> AlphaArray:
        return (segmenter.segment(image) >= 0.5).astype(np.float32)

    if importlib.util.find_spec("globalpic_segmentation.extract") is not None:
        extract = importlib.import_module("globalpic_segmentation.extract")
        extractor = extract.Extractor.from_settings()
        load = getattr(extractor, "load", None)
        if callable(load):
            load()

        def via_extractor(comp: Composite) -> tuple[AlphaArray, AlphaArray]:
            alpha = np.asarray(extractor.extract(comp.image).alpha, np.float32)
            return alpha, hard(comp.image)

        return "extract", via_extractor

    def via_u2netp(comp: Composite) -> tuple[AlphaArray, AlphaArray]:
        soft = np.asarray(segmenter.segment(comp.image), np.float32)
        return soft, (soft >= 0.5).astype(np.float32)

    return "u2netp", via_u2netp


# ----------------------------------------------------------------------------- summary


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _group(rows: Sequence[Row]) -> dict[str, Any]:
    stages: dict[str, list[float]] = {}
    for r in rows:
        for k, v in r.seconds.items():
            stages.setdefault(k, []).append(v)
    psnrs = [r.psnr_product for r in rows if r.psnr_product is not None]
    return {
        "cases": len(rows),
        "psnr_product": _mean([r.psnr_product for r in rows]),
        "psnr_product_min": min(psnrs) if psnrs else None,
        "halo": _mean([r.halo for r in rows]),
        "halo_max": max((r.halo for r in rows if r.halo is not None), default=None),
        "seconds": {k: statistics.fmean(v) for k, v in sorted(stages.items())},
    }


def summarize(rows: Sequence[Row]) -> dict[str, dict[str, dict[str, Any]]]:
    """summary[source][method] = {"all": group, "styles": {style: group}}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for source in dict.fromkeys(r.source for r in rows):
        for method in dict.fromkeys(r.method for r in rows):
            sel = [r for r in rows if r.source == source and r.method == method]
            if not sel:
                continue
            styles = dict.fromkeys(r.style for r in sel)
            out.setdefault(source, {})[method] = {
                "all": _group(sel),
                "styles": {s: _group([r for r in sel if r.style == s]) for s in styles},
            }
    return out


def meets(metric: str, value: float | None) -> bool | None:
    if value is None or metric not in TARGETS:
        return None
    op, target = TARGETS[metric]
    return value >= target if op == ">=" else value <= target


def _cell(metric: str, value: float | None, width: int) -> str:
    if value is None:
        return "n/a".rjust(width)
    ok = meets(metric, value)
    mark = "" if ok is None else (" ✓" if ok else " ✗")
    text = f"{value:.2f}" if metric != "psnr_product" else f"{value:.1f}"
    return (text + mark).rjust(width)


def format_summary(
    summary: dict[str, dict[str, dict[str, Any]]],
    amazon: dict[str, dict[str, dict[str, float] | None]],
) -> str:
    """One table per alpha source: per style and overall, ours vs baseline."""
    lines: list[str] = []
    w = 11
    for source, methods in summary.items():
        ours, base = methods.get("ours"), methods.get("baseline")
        if ours is None or base is None:
            continue
        lines.append(f"alpha source: {source}")
        header = (
            "style".ljust(20)
            + "PSNR ours".rjust(w)
            + "PSNR base".rjust(w)
            + "halo ours".rjust(w)
            + "halo base".rjust(w)
            + "s/cand".rjust(w)
            + "s base".rjust(w)
        )
        lines.append(header)
        lines.append("-" * len(header))
        keys = [*ours["styles"], "all"]
        for key in keys:
            o = ours["all"] if key == "all" else ours["styles"][key]
            b = base["all"] if key == "all" else base["styles"][key]
            lines.append(
                key.ljust(20)
                + _cell("psnr_product", o["psnr_product"], w)
                + _cell("psnr_product", b["psnr_product"], w)
                + _cell("halo", o["halo"], w)
                + _cell("halo", b["halo"], w)
                + _cell("seconds", o["seconds"].get("total"), w)
                + _cell("", b["seconds"].get("total"), w)
            )
        stages = ours["all"]["seconds"]
        lines.append(
            "ours, mean seconds per candidate by stage: "
            + ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
        )
        lines.append(
            f"worst case: ours PSNR min {_num(ours['all']['psnr_product_min'])} dB, "
            f"halo max {_num(ours['all']['halo_max'])}; baseline PSNR min "
            f"{_num(base['all']['psnr_product_min'])} dB, halo max {_num(base['all']['halo_max'])}"
        )
        for method, rates in amazon.get(source, {}).items():
            if rates is None:
                lines.append(f"amazon-white, {method}: check op not installed, not judged")
            elif rates:
                lines.append(
                    f"amazon-white, {method}: Amazon rules passed: "
                    + ", ".join(f"{k} {v * 100:.0f}%" for k, v in rates.items())
                )
        lines.append("")
    lines.append(
        "targets: PSNR in the 3 px-eroded true mask >= 45 dB, halo (mean CIE76 ΔE, 3 px ring "
        "outside the matte) <= 3, seconds per 1024² candidate <= 2"
    )
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


# ----------------------------------------------------------------------------- contact sheet


def checkerboard_cutout(rgb: ImageArray, alpha: AlphaArray, cell: int = CHECKER_PX) -> ImageArray:
    """The cut-out product over a grey checkerboard (how editors show transparency)."""
    h, w = alpha.shape
    ys, xs = np.mgrid[0:h, 0:w]
    board = np.where(((ys // cell + xs // cell) % 2 == 0)[:, :, None], 204, 153)
    return plain_paste(rgb, alpha, np.broadcast_to(board, (h, w, 3)).astype(np.uint8))


def _thumb(image: ImageArray, path: Path) -> None:
    h, w = image.shape[:2]
    scale = THUMB_PX / max(h, w)
    small = Image.fromarray(image).resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS
    )
    small.save(path, quality=85)


def write_sheet(path: Path, rows: Sequence[tuple[Composite, CaseOutputs]], source: str) -> None:
    """``path`` (HTML) with one row per composite: input | cut-out | each style; JPEG
    thumbnails in a folder next to it."""
    folder = path.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    styles = list(rows[0][1].ours) if rows else []
    head = "".join(f"<th>{html.escape(s)}</th>" for s in ["input", "cut-out", *styles])
    body = []
    for comp, outputs in rows:
        cells = []
        images = [
            ("input", comp.image),
            ("cutout", checkerboard_cutout(outputs.cutout_rgb, outputs.cutout_alpha)),
        ]
        images += [(s, outputs.ours[s]) for s in styles]
        for label, image in images:
            name = f"{comp.name}_{label}.jpg"
            _thumb(image, folder / name)
            cells.append(
                f'<td><img src="{folder.name}/{html.escape(name)}" '
                f'title="{html.escape(comp.name)} {html.escape(label)}"></td>'
            )
        body.append(f"<tr><th>{html.escape(comp.name)}</th>{''.join(cells)}</tr>")
    path.write_text(
        "<!doctype html><meta charset=utf-8><title>remix contact sheet</title>"
        "<style>body{font:13px sans-serif}td,th{padding:2px}img{display:block}"
        "th{writing-mode:horizontal-tb}</style>"
        f"<h1>remix contact sheet</h1><p>alpha source: {html.escape(source)}; our compositing, "
        "seed 0; click nothing, judge by eye.</p>"
        f"<table><tr><th></th>{head}</tr>{''.join(body)}</table>",
        encoding="utf-8",
    )


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="remix benchmark on product composites")
    parser.add_argument("--n", type=int, default=24, help="number of composites")
    parser.add_argument("--seed", type=int, default=0, help="composite set seed")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--styles", default="all", help="comma list of style ids, or all")
    parser.add_argument("--sources", default="true,model", help="alpha sources: true,model")
    parser.add_argument("--json-out", type=Path, default=REPO_ROOT / "bench/results/remix.json")
    parser.add_argument("--sheet", type=Path, default=REPO_ROOT / "bench/results/remix_sheet.html")
    parser.add_argument("--sheet-rows", type=int, default=12)
    parser.add_argument(
        "--no-photos", action="store_true", help="never read ../shared (procedural backgrounds)"
    )
    args = parser.parse_args(argv)

    styles = style_ids() if args.styles == "all" else [s.strip() for s in args.styles.split(",")]
    unknown = sorted(set(styles) - set(style_ids()))
    if unknown:
        parser.error(f"unknown styles {unknown}; valid: {', '.join(style_ids())}")
    wanted = [s.strip() for s in args.sources.split(",") if s.strip()]
    sources: dict[str, AlphaSource] = {}
    if "true" in wanted:
        sources["true"] = true_alpha_source
    if "model" in wanted:
        try:
            name, fn = model_alpha_source()
            sources[name] = fn
        except Exception as exc:  # report and go on with the true alpha: a missing model
            # must not hide the compositing's numbers
            print(f"model alpha unavailable, skipped: {type(exc).__name__}: {exc}", flush=True)

    remixer = Remixer.from_settings()
    start = time.perf_counter()
    warm = build_composites(1, args.seed, 128, photos=False)[0]
    remixer.remix(warm.image, warm.alpha, style_id="amazon-white")  # loads pymatting's JIT
    print(f"warm-up (imports, numba cache load): {time.perf_counter() - start:.2f} s", flush=True)
    start = time.perf_counter()
    comps = build_composites(args.n, args.seed, args.size, photos=not args.no_photos)
    print(
        f"built {len(comps)} composites at {args.size} px in {time.perf_counter() - start:.1f} s",
        flush=True,
    )

    rows: list[Row] = []
    # The sheet shows what a seller gets: the extract op's matte when it exists, else the
    # true alpha (a raw U²-Net-p matte is not what remix is meant to be given).
    sheet_source = "extract" if "extract" in sources else next(iter(sources), "true")
    sheet_rows: list[tuple[Composite, CaseOutputs]] = []
    amazon_outputs: dict[tuple[str, str], list[ImageArray]] = {}
    masks: dict[tuple[str, str], list[MaskArray]] = {}
    for comp in comps:
        for source, fn in sources.items():
            ours_alpha, base_alpha = fn(comp)
            outputs = run_case(comp, styles, source, ours_alpha, base_alpha, remixer)
            rows += outputs.rows
            if "amazon-white" in styles:
                mask = ((comp.alpha >= 0.5) * 255).astype(np.uint8)
                amazon_outputs.setdefault((source, "ours"), []).append(outputs.ours["amazon-white"])
                h, w = comp.alpha.shape
                base_img = plain_paste(comp.image, base_alpha, np.full((h, w, 3), 255, np.uint8))
                amazon_outputs.setdefault((source, "baseline"), []).append(base_img)
                for method in ("ours", "baseline"):
                    masks.setdefault((source, method), []).append(mask)
            if source == sheet_source and len(sheet_rows) < args.sheet_rows:
                sheet_rows.append((comp, outputs))
        ours_rows = [r for r in rows if r.composite == comp.name and r.method == "ours"]
        print(
            json.dumps(
                {
                    "composite": comp.name,
                    "kind": comp.kind,
                    "psnr_product": _mean([r.psnr_product for r in ours_rows]),
                    "halo": _mean([r.halo for r in ours_rows]),
                    "seconds": _mean([r.seconds.get("total") for r in ours_rows]),
                }
            ),
            flush=True,
        )

    amazon: dict[str, dict[str, dict[str, float] | None]] = {}
    for (source, method), images in amazon_outputs.items():
        amazon.setdefault(source, {})[method] = amazon_pass_rate(images, masks[(source, method)])
    summary = summarize(rows)
    print()
    print(format_summary(summary, amazon), flush=True)
    if sheet_rows:
        write_sheet(args.sheet, sheet_rows, sheet_source)
        print(f"wrote {args.sheet}", flush=True)
    report = {
        "config": {k: str(v) for k, v in vars(args).items()},
        "sources": list(sources),
        "targets": TARGETS,
        "summary": summary,
        "amazon": amazon,
        "rows": [asdict(r) for r in rows],
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(f"wrote {args.json_out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

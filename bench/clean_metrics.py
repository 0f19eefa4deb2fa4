"""Pure metric functions of ``make bench-clean`` (no models, no files): bench/README.md
defines every figure; tests/bench/test_clean_metrics.py checks them with oracle judges.

Two OCR judges read the images: our production ``RapidOcrDetector`` and the independent
PP-OCRv4 ``SecondDetector``. Output detections are asked for lazily (``OutputJudge``): a
line whose pixels already show it was not erased needs no OCR, and the second judge is asked
only about what the first did not find. The verdicts are the same as asking both every time.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from bench.colour import mean_delta_e2000
from globalpic_common.interfaces import ImageArray, MaskArray
from globalpic_common.schemas import TextLine, TextRegion
from globalpic_generation.quads import fill_quads

# ----------------------------------------------------------------------------- constants

# A detection "is" a ground-truth line when their quads overlap by at least this share of the
# smaller of the two (so a detector that merges lines, or reads only a leftover fragment,
# still matches) ...
BOX_OVERLAP = 0.5
# ... and it reads at least this share of the line's distinct characters, or at least this
# share of its own characters are the line's (a leftover fragment like 包 of 包邮).
GT_CHAR_SHARE = 0.3
DET_CHAR_SHARE = 0.5
RING_INNER_PX, RING_OUTER_PX = 4, 16
FAR_PX = 12
PSNR_CAP_DB = 100.0
CHANGE_LEVELS = 2  # a pixel moved by more than this (any channel) counts as changed

# A line's glyphs (overlay) or box (product) farther than this mean ΔE2000 from the truth is
# visibly there / visibly damaged, whatever the OCR judges read.
MAX_DELTA_E = 5.0
FAINT_OPACITY = 0.35  # "faint watermark" in issue 12
# Hand-drawn labelled lines no detector finds: erased only if the method repainted at least
# this share of the box (a ΔE against the input cannot tell "erased" from "smudged").
MISSED_CHANGED_MIN = 0.5
# Product part of overlays: overlay mask dilated this much (antialiased glyph rims, shadows
# under 3 levels) intersected with the product mask; cases with fewer pixels are skipped.
PRODUCT_PART_DILATE_PX = 2
PRODUCT_PART_MIN_PX = 64
KEPT_UNCERTAIN = "kept_uncertain"  # TextAction value: kept, and says it was unsure

JUDGES = ("rapidocr", "ppocrv4")
# judge name -> that judge's detections on one fixed output image (memoised by the caller)
OutputJudge = Callable[[str], Sequence[TextLine]]
Quad = Any  # a 4 x 2 point sequence or array


class LineLike(Protocol):
    """A ground-truth line: ``bench.synthetic.GtLine``, ``bench.heldout.HeldoutLine``, a
    labelled real-photo line."""

    @property
    def box(self) -> Quad: ...
    @property
    def text(self) -> str: ...
    @property
    def kind(self) -> str: ...


# ----------------------------------------------------------------------------- matching


def text_chars(text: str) -> set[str]:
    """Distinct letters, digits and CJK characters, NFKC-folded (￥ -> ¥, Ａ -> a)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return {ch for ch in folded if ch.isalnum() or ch in "¥$%+"}


def _hull(quad: Quad) -> npt.NDArray[np.float32]:
    pts = np.asarray(quad, np.float32).reshape(-1, 1, 2)
    return np.asarray(cv2.convexHull(pts), np.float32)


def quad_overlap(a: Quad, b: Quad) -> float:
    """Intersection area over the smaller quad's area (convex hulls), in [0, 1]."""
    ha, hb = _hull(a), _hull(b)
    area_a, area_b = float(cv2.contourArea(ha)), float(cv2.contourArea(hb))
    if min(area_a, area_b) <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(ha, hb)
    return min(1.0, float(inter) / min(area_a, area_b))


def reads_at(box: Quad, text: str, detection: TextLine) -> bool:
    """Whether ``detection`` reads (part of) ``text`` at ``box``."""
    if quad_overlap(box, detection.box) < BOX_OVERLAP:
        return False
    gt, det = text_chars(text), text_chars(detection.text)
    if not gt or not det:
        return False
    shared = len(gt & det)
    return shared / len(gt) >= GT_CHAR_SHARE or shared / len(det) >= DET_CHAR_SHARE


def matches(line: LineLike, detection: TextLine) -> bool:
    """Whether ``detection`` reads (part of) the ground-truth ``line``."""
    return reads_at(line.box, line.text, detection)


def found(line: LineLike, detections: Sequence[TextLine]) -> bool:
    return any(matches(line, d) for d in detections)


def uncertain_keep(line: LineLike, regions: Sequence[TextRegion]) -> bool:
    """Whether the method reported a ``kept_uncertain`` region on this line (counted as not
    erased: the user has to click to erase it)."""
    return any(
        str(getattr(r.action, "value", r.action)) == KEPT_UNCERTAIN
        and quad_overlap(line.box, r.box) >= BOX_OVERLAP
        for r in regions
    )


# ----------------------------------------------------------------------------- pixel metrics


def changed_mask(a: ImageArray, b: ImageArray, levels: int = CHANGE_LEVELS) -> MaskArray:
    """255 where any channel differs by more than ``levels``."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return np.where(diff > levels, 255, 0).astype(np.uint8)


def quad_mask(shape: tuple[int, ...], box: Quad) -> MaskArray:
    pts = [(float(x), float(y)) for x, y in np.asarray(box, np.float64).reshape(-1, 2)]
    return fill_quads((int(shape[0]), int(shape[1])), [pts])


def psnr(a: ImageArray, b: ImageArray, mask: MaskArray | None = None) -> float | None:
    """PSNR in dB over all pixels, or over ``mask > 0`` (None when the mask is empty)."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    if mask is not None:
        sel = mask > 0
        if not sel.any():
            return None
        diff = diff[sel]
    mse = float(np.mean(diff * diff))
    if mse <= 0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10 * math.log10(255.0**2 / mse))


def gradient_energy(rgb: ImageArray, region: npt.NDArray[np.bool_]) -> float | None:
    """Mean squared Sobel gradient magnitude of the grey image over ``region``."""
    if not region.any():
        return None
    gray = rgb.astype(np.float32).mean(axis=2)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.mean((gx * gx + gy * gy)[region]))


def dilate(mask: MaskArray, px: int) -> npt.NDArray[np.bool_]:
    if px <= 0:
        return np.asarray(mask) > 0
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return np.asarray(cv2.dilate(np.asarray(mask, np.uint8), kernel), np.uint8) > 0


def ring(
    mask: MaskArray, inner: int = RING_INNER_PX, outer: int = RING_OUTER_PX
) -> npt.NDArray[np.bool_]:
    """Pixels between ``inner`` and ``outer`` px away from the mask."""
    return dilate(mask, outer) & ~dilate(mask, inner)


def texture_ratio(rgb: ImageArray, mask: MaskArray) -> float | None:
    """Gradient energy inside ``mask`` over that of its ring (1 = as textured as around it)."""
    inside = gradient_energy(rgb, mask > 0)
    around = gradient_energy(rgb, ring(mask))
    if inside is None or around is None or around <= 1e-9:
        return None
    return inside / around


def far_changed_share(
    output: ImageArray, source: ImageArray, overlay_mask: MaskArray, px: int = FAR_PX
) -> float:
    """Share of the pixels farther than ``px`` from any overlay that the method changed."""
    far = ~dilate(overlay_mask, px)
    if not far.any():
        return 0.0
    changed = changed_mask(output, source) > 0
    return float(np.count_nonzero(changed & far)) / float(np.count_nonzero(far))


def changed_share(output: ImageArray, source: ImageArray, mask: MaskArray) -> float | None:
    """Share of the ``mask`` pixels the method changed (None when the mask is empty)."""
    sel = np.asarray(mask) > 0
    if not sel.any():
        return None
    return float(np.count_nonzero((changed_mask(output, source) > 0) & sel) / sel.sum())


@dataclass(frozen=True)
class ProductPart:
    """The product under the overlays, output vs the known clean pixels."""

    pixels: int
    psnr: float | None
    delta_e: float | None  # mean ΔE2000
    gradient_ratio: float | None  # E(output) / E(clean): < 1 haze, > 1 foreign texture


def product_part(
    output: ImageArray,
    clean: ImageArray,
    overlay_mask: MaskArray,
    product_mask: MaskArray | None,
    dilate_px: int = PRODUCT_PART_DILATE_PX,
    min_px: int = PRODUCT_PART_MIN_PX,
) -> ProductPart | None:
    """Metrics over (overlay mask dilated by ``dilate_px``) ∩ product mask; None when the
    overlays cover fewer than ``min_px`` product pixels (or the product is unknown)."""
    if product_mask is None:
        return None
    region = dilate(overlay_mask, dilate_px) & (np.asarray(product_mask) > 0)
    pixels = int(np.count_nonzero(region))
    if pixels < min_px:
        return None
    sel = region.astype(np.uint8) * 255
    e_out, e_clean = gradient_energy(output, region), gradient_energy(clean, region)
    ratio = e_out / e_clean if e_out is not None and e_clean and e_clean > 1e-9 else None
    return ProductPart(
        pixels, psnr(output, clean, sel), mean_delta_e2000(output, clean, sel), ratio
    )


# ----------------------------------------------------------------------------- line verdicts


@dataclass
class LineVerdict:
    """One ground-truth line after one method. ``ok``: erased (overlay) / kept (product)."""

    text: str
    kind: str
    style: str
    ok: bool
    faint: bool = False
    opacity: float | None = None
    on_product: bool | None = None
    missed_by_detector: bool = False
    judges_input: list[str] = field(default_factory=list)  # judges that read it on the input
    judges_output: list[str] = field(default_factory=list)  # judges that read it on the output
    delta_e: float | None = None  # glyphs vs clean (overlay) / box vs input (product)
    changed: float | None = None  # share of the box the method changed
    uncertain: bool = False  # the method reported kept_uncertain there
    why: str = ""


def judges_finding(line: LineLike, on_input: Mapping[str, Sequence[TextLine]]) -> list[str]:
    return [name for name, dets in on_input.items() if found(line, dets)]


def first_judge_finding(
    line: LineLike, on_output: OutputJudge, judges: Sequence[str] = JUDGES
) -> list[str]:
    """The first judge (in order) that reads the line on the output: [] when none does."""
    for name in judges:
        if found(line, on_output(name)):
            return [name]
    return []


def is_faint(opacity: float | None, style: str) -> bool:
    """≤ 35 % opacity; for ``bench.synthetic`` lines (no opacity recorded) its tiled
    watermark, drawn at 20-45 % opacity, is the faint class."""
    if opacity is not None:
        return opacity <= FAINT_OPACITY
    return style == "watermark_tiled"


def overlay_verdict_synthetic(
    line: LineLike,
    glyph_delta_e: float | None,
    on_input: Mapping[str, Sequence[TextLine]],
    on_output: OutputJudge,
    uncertain: bool = False,
    opacity: float | None = None,
) -> LineVerdict:
    """Erased iff the glyph pixels are within mean ΔE2000 ≤ 5 of the clean photo AND neither
    judge reads the line on the output (and the method did not keep it as uncertain). Every
    generated line counts, found on the input or not."""
    style = str(getattr(line, "style", ""))
    verdict = LineVerdict(
        text=line.text, kind="overlay", style=style, ok=False, opacity=opacity,
        faint=is_faint(opacity, style), on_product=getattr(line, "on_product", None),
        judges_input=judges_finding(line, on_input), delta_e=glyph_delta_e, uncertain=uncertain,
    )  # fmt: skip
    if uncertain:
        verdict.why = "kept_uncertain"
    elif glyph_delta_e is not None and glyph_delta_e > MAX_DELTA_E:
        verdict.why = f"glyphs ΔE {glyph_delta_e:.1f} > {MAX_DELTA_E:g}"
    else:
        verdict.judges_output = first_judge_finding(line, on_output)
        verdict.ok = not verdict.judges_output
        verdict.why = "" if verdict.ok else f"read by {verdict.judges_output[0]}"
    return verdict


def keep_verdict(
    line: LineLike,
    box_delta_e: float | None,
    on_input: Mapping[str, Sequence[TextLine]],
    on_output: OutputJudge,
    missed_by_detector: bool = False,
) -> LineVerdict:
    """Product / scene print kept iff its box changed by mean ΔE2000 ≤ 5 vs the input and, if
    some judge read it on the input, one of those judges still reads it on the output. Lines
    no judge reads on the input are judged by the ΔE rule alone (all lines count)."""
    seen = [] if missed_by_detector else judges_finding(line, on_input)
    verdict = LineVerdict(
        text=line.text, kind=line.kind, style=str(getattr(line, "style", "")), ok=False,
        on_product=getattr(line, "on_product", None), missed_by_detector=missed_by_detector,
        judges_input=seen, delta_e=box_delta_e,
    )  # fmt: skip
    if box_delta_e is not None and box_delta_e > MAX_DELTA_E:
        verdict.why = f"box ΔE {box_delta_e:.1f} > {MAX_DELTA_E:g}"
        return verdict
    if seen:
        verdict.judges_output = first_judge_finding(line, on_output, seen)
        verdict.ok = bool(verdict.judges_output)
        verdict.why = "" if verdict.ok else "no judge reads it any more"
    else:
        verdict.ok = True
    return verdict


def overlay_verdict_real(
    line: LineLike,
    box_changed: float | None,
    on_input: Mapping[str, Sequence[TextLine]],
    on_output: OutputJudge,
    uncertain: bool = False,
    missed_by_detector: bool = False,
) -> LineVerdict:
    """A labelled real-photo overlay line is erased iff neither judge reads it on the output;
    a line no judge reads even on the input (hand-drawn ``missed_by_detector`` lines, or
    ones both judges miss) iff the method changed ≥ 50 % of its box's pixels."""
    seen = [] if missed_by_detector else judges_finding(line, on_input)
    verdict = LineVerdict(
        text=line.text, kind="overlay", style="", ok=False, missed_by_detector=missed_by_detector,
        judges_input=seen, changed=box_changed, uncertain=uncertain,
    )  # fmt: skip
    if uncertain:
        verdict.why = "kept_uncertain"
    elif not seen:
        verdict.ok = box_changed is not None and box_changed >= MISSED_CHANGED_MIN
        verdict.why = "" if verdict.ok else f"box {100 * (box_changed or 0):.0f}% changed"
    else:
        verdict.judges_output = first_judge_finding(line, on_output)
        verdict.ok = not verdict.judges_output
        verdict.why = "" if verdict.ok else f"read by {verdict.judges_output[0]}"
    return verdict


# ----------------------------------------------------------------------------- pooling


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def pool_lines(verdicts: Sequence[LineVerdict]) -> dict[str, Any]:
    """Pooled counts and rates over lines (not a mean of per-image rates)."""
    overlay = [v for v in verdicts if v.kind == "overlay"]
    keep = [v for v in verdicts if v.kind != "overlay"]
    faint = [v for v in overlay if v.faint]
    return {
        "overlay_lines": len(overlay),
        "overlay_erased_lines": sum(v.ok for v in overlay),
        "overlay_erased": share(sum(v.ok for v in overlay), len(overlay)),
        "faint_lines": len(faint),
        "faint_erased_lines": sum(v.ok for v in faint),
        "faint_erased": share(sum(v.ok for v in faint), len(faint)),
        "kept_uncertain_lines": sum(v.uncertain for v in overlay),
        "keep_lines": len(keep),
        "keep_kept_lines": sum(v.ok for v in keep),
        "keep_kept": share(sum(v.ok for v in keep), len(keep)),
    }


def worst(values: Sequence[float | None], low_is_bad: bool) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return min(present) if low_is_bad else max(present)


def worst_ratio(values: Sequence[float | None]) -> float | None:
    """The gradient-energy ratio farthest from 1 (in log terms: 0.5 as bad as 2)."""
    present = [v for v in values if v is not None and v > 0]
    return max(present, key=lambda r: abs(math.log(r))) if present else None

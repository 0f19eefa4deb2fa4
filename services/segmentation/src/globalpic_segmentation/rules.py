"""Check's pixel rules: does an image meet a marketplace's image rules?

``evaluate_rules`` is pure: it judges an image from its product mask and the overlay texts
found on it, so ``resize`` can check its own output with the alpha it already has. The
segmentation service owns it (what is product, on a white frame what the white outlines)
and serves it as ``EvaluateRules``; ``PixelRules`` is the pipeline's ``RuleJudge`` in
process, ``SegmentationClient`` the remote one.

Rule ids are stable (clients match on them): ``min_size``, ``white_background``,
``product_fill``, ``overlay_text``.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import ImageArray, MaskArray
from globalpic_common.platforms import Platform
from globalpic_common.product_mask import product_box, product_fill
from globalpic_common.schemas import RuleResult, TextKind, TextRegion

MIN_SIZE = "min_size"
WHITE_BACKGROUND = "white_background"
PRODUCT_FILL = "product_fill"
OVERLAY_TEXT = "overlay_text"

# A pixel counts as white from this level up in every channel: JPEG ringing next to an
# edge leaves 254s that no eye (and no marketplace bot we know of) tells from 255.
WHITE_LEVEL = 254
# Share of the background that may be off-white: the product mask is never pixel-exact.
MAX_NON_WHITE_SHARE = 0.001
# The product mask is grown by this share of the image's longer side (at least
# WHITE_DILATE_MIN_PX) before its surroundings are judged: soft edges, a contact shadow.
WHITE_DILATE_SHARE = 0.01
WHITE_DILATE_MIN_PX = 8
# white_background / product_fill on a white image, when the mask is check's own estimate
# (``estimated_mask``; a caller's mask is taken as given): a connected non-white region that the
# pure white encloses (it touches no image edge), with at least RESCUE_MIN_INSIDE of its
# pixels and RESCUE_MIN_OUTLINE of its outline inside the grown product mask, is product the
# re-extracted matte missed. Measured on the resize bench's misses: 0.54 / 0.46 (a white
# candle jar under its lid), 0.68 / 0.20 (a white bowl under its berries); a backdrop card
# around the product has ~0 of its outline there, a stray logo ~0 of its pixels.
RESCUE_MIN_INSIDE = 0.4
RESCUE_MIN_OUTLINE = 0.1
# Of such a region, a piece outside the grown mask is taken when at least this share of its
# own perimeter faces the white (measured: 0.61-1.0 on the bowl and jar pieces; 0.0 for old
# background left in a tape roll's hole, which the product closes in all round).
PIECE_MIN_FACING_WHITE = 0.25
# Islands (print on that missed part, cut off from it by white) count when this share of
# their pixels lies inside the convex hull of a rescued region.
ISLAND_IN_HULL = 0.9
# overlay_text: a line this much on the product counts only with this classifier score.
ON_PRODUCT_SHARE = 0.8
SURE_OVERLAY_SCORE = 0.9
# A sure line on the product whose text gives no promo evidence is an overlay only when its
# backing (pixels within BACKING_DELTA_E, CIE76, of the colour just around the line) leaves
# the product: at least BACKING_OFF_SHARE of that backing region off the product mask.
BACKING_DELTA_E = 12.0
BACKING_OFF_SHARE = 0.1


def evaluate_rules(
    image: ImageArray,
    product_mask: MaskArray,
    platform: Platform,
    overlay_texts: list[TextRegion] | None = None,
    *,
    estimated_mask: bool = False,
) -> list[RuleResult]:
    """The platform's rules judged on ``image`` (product pixels: ``product_mask`` > 0).

    ``overlay_text`` is judged only when ``overlay_texts`` is given (the text lines found on
    the image, any kind; those classified as overlays break the rule): without OCR there is
    nothing to judge it on, and a rule not judged is left out rather than called passed.

    ``estimated_mask``: the mask is the judge's own segmentation of ``image`` (``Checker``
    without an alpha), not the caller's product. On a white-background platform
    ``white_background`` and ``product_fill`` then also count as product the non-white
    regions the mask partly covers and the white encloses (``_complete_on_white``): a pale
    product part the segmenter took for background. A caller's mask (resize's own alpha, a
    bench's exact one) is the product by definition and is taken as it is: anything else
    non-white next to it (old background the cut-out kept) is background.
    """
    if product_mask.shape != image.shape[:2]:
        raise BadInputError(
            f"product mask is {product_mask.shape[1]}x{product_mask.shape[0]} but the image is "
            f"{image.shape[1]}x{image.shape[0]}",
            code=errors.BAD_MASK,
        )
    results = [_min_size(image, platform)]
    # On a white image the white itself outlines the product: parts the judge's own mask
    # missed (a white jar body on white) are taken back before background and fill are judged.
    fill_mask = product_mask
    if platform.white_background:
        grown = _grown(product_mask)
        if estimated_mask:
            product = _complete_on_white(image, product_mask, grown)
            grown |= product
            fill_mask = product.astype(np.uint8)
        results.append(_white_background(image, grown, platform))
    if platform.min_fill is not None:
        results.append(_product_fill(fill_mask, platform, platform.min_fill))
    if platform.forbid_overlay_text and overlay_texts is not None:
        # Overlay text keeps the segmenter's mask: a badge touching the product joins its
        # non-white region and must not become "on the product" by that.
        results.append(_overlay_text(overlay_texts, platform, product_mask, image))
    return results


def _min_size(image: ImageArray, platform: Platform) -> RuleResult:
    h, w = image.shape[:2]
    longer = max(h, w)
    ok = longer >= platform.min_side
    verdict = "large enough" if ok else "too small"
    return RuleResult(
        rule=MIN_SIZE,
        passed=ok,
        measured=float(longer),
        required=float(platform.min_side),
        message=f"{w}x{h} px is {verdict}: {platform.name} needs at least "
        f"{platform.min_side} px on the longer side",
    )


def _grown(mask: MaskArray) -> npt.NDArray[np.bool_]:
    """The product mask grown by the white rule's margin (soft edges, a contact shadow)."""
    h, w = mask.shape[:2]
    grow = max(WHITE_DILATE_MIN_PX, round(WHITE_DILATE_SHARE * max(h, w)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return np.asarray(cv2.dilate((mask > 0).astype(np.uint8), kernel)) > 0


def _complete_on_white(
    image: ImageArray, mask: MaskArray, grown: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """The product mask plus the non-white regions that are product the mask missed.

    The segmenter sees a white or pale part of a product on white as background (a frosted
    jar body under a wooden lid, a white bowl under its berries), and ``check`` would then
    call that part off-white background. On a white image the white outlines the product:
    a connected non-white region (8-connected, any channel < WHITE_LEVEL) is taken as
    product when

    * it touches no image edge: pure white goes all around it. An off-white or grey
      background, a studio sweep, a photo letterboxed with white all reach an edge and stay
      background;
    * at least RESCUE_MIN_INSIDE of it lies inside the grown mask: a stray logo or object
      away from the product lies outside it;
    * at least RESCUE_MIN_OUTLINE of its outline does too: the mask reaches the region's
      edge. A card or backdrop framed by white around a product has the product inside, far
      from the card's own edge;
    * and then only its pieces outside the grown mask with PIECE_MIN_FACING_WHITE of their
      perimeter on the white: old background in a hole the product closes in stays.

    Then non-white islands lying inside the convex hull of such a region are print on it
    that white separates from the rest (the script on the bowl between its grid lines).
    Stray objects away from the product lie outside every hull and stay violations.
    """
    h, w = mask.shape[:2]
    product = mask > 0
    non_white = np.asarray((image < WHITE_LEVEL).any(axis=2), np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(non_white, connectivity=8)
    if count <= 1:
        return product
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right = x + stats[:, cv2.CC_STAT_WIDTH]
    bottom = y + stats[:, cv2.CC_STAT_HEIGHT]
    enclosed = (x > 0) & (y > 0) & (right < w) & (bottom < h)
    enclosed[0] = False  # label 0 is the white itself
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    inside = np.bincount(labels[grown], minlength=count)
    # Outline: region pixels with a white 4-neighbour (holes in the region included).
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    edge = (non_white > 0) & (np.asarray(cv2.erode(non_white, cross)) == 0)
    outline = np.bincount(labels[edge], minlength=count).astype(np.float64)
    outline_inside = np.bincount(labels[edge & grown], minlength=count)
    missed = np.bincount(labels[~grown], minlength=count) > 0
    rescued = np.flatnonzero(
        enclosed
        & missed
        & (inside >= RESCUE_MIN_INSIDE * area)
        & (outline_inside >= RESCUE_MIN_OUTLINE * np.maximum(outline, 1.0))
    )
    if rescued.size == 0:
        return product
    # Only the missed pieces that face the white are taken: a piece the product closes in
    # all round (old background left in a tape roll's hole) is not outlined by the white.
    candidate = np.zeros(count, bool)
    candidate[rescued] = True
    missed_px = (candidate[labels] & ~grown).astype(np.uint8)
    n_pieces, pieces = cv2.connectedComponents(missed_px, connectivity=8)
    rim = (missed_px > 0) & (np.asarray(cv2.erode(missed_px, cross)) == 0)
    facing = np.bincount(pieces[rim & edge], minlength=n_pieces)
    perimeter = np.bincount(pieces[rim], minlength=n_pieces).astype(np.float64)
    taken_piece = facing >= PIECE_MIN_FACING_WHITE * np.maximum(perimeter, 1.0)
    taken_piece[0] = False
    taken = taken_piece[pieces]
    if not taken.any():
        return product
    completed = product | taken
    hulls = np.zeros((h, w), np.uint8)
    for label in np.unique(labels[taken]):
        points = cv2.findNonZero(((labels == label) & (grown | taken)).astype(np.uint8))
        cv2.fillConvexPoly(hulls, cv2.convexHull(points), 1)
    in_hull = np.bincount(labels[hulls > 0], minlength=count)
    islands = enclosed & missed & ~candidate & (in_hull >= ISLAND_IN_HULL * area)
    islands[0] = False
    return np.asarray(completed | islands[labels])


def _white_background(
    image: ImageArray, product: npt.NDArray[np.bool_], platform: Platform
) -> RuleResult:
    """``product``: the grown product mask with the parts ``_complete_on_white`` took back."""
    background = ~product
    total = int(background.sum())
    off_white = (image[background] < WHITE_LEVEL).any(axis=1) if total else np.zeros(0, bool)
    share = float(off_white.mean()) if total else 0.0
    ok = share <= MAX_NON_WHITE_SHARE
    message = (
        "background is pure white"
        if ok
        else f"background is not pure white: {share:.1%} of the pixels around the product "
        f"are not RGB 255,255,255 ({platform.name} needs a pure white background)"
    )
    return RuleResult(
        rule=WHITE_BACKGROUND,
        passed=ok,
        measured=round(share, 5),
        required=MAX_NON_WHITE_SHARE,
        message=message,
    )


def _product_fill(mask: MaskArray, platform: Platform, min_fill: float) -> RuleResult:
    h, w = mask.shape[:2]
    box = product_box(mask)
    if box is None:
        return RuleResult(
            rule=PRODUCT_FILL,
            passed=False,
            measured=0.0,
            required=min_fill,
            message=f"no product found; {platform.name} wants the product to fill at least "
            f"{min_fill:.0%} of the frame",
        )
    fill = product_fill(box, w, h)
    ok = fill >= min_fill
    verdict = "fills" if ok else "only fills"
    return RuleResult(
        rule=PRODUCT_FILL,
        passed=ok,
        measured=round(fill, 4),
        required=min_fill,
        message=f"the product {verdict} {fill:.0%} of the frame; {platform.name} wants at "
        f"least {min_fill:.0%}",
    )


def _counts_as_overlay(text: TextRegion, product_mask: MaskArray, image: ImageArray) -> bool:
    """An overlay line the rule should report.

    One readable character ("O", "2") is as often a shape the OCR read (a ring, a curl) as
    text; a line without any ("_", "·") always is. A line lying on the product is its own
    print unless the classifier is sure *and* something beyond its looks says it was added
    (``_added_on_product``): on a white main image the crisp cues that mark a badge also fit
    a crisp label, and a false alarm tells a seller to erase their brand.
    """
    if text.kind != TextKind.OVERLAY or sum(ch.isalnum() for ch in text.text) < 2:
        return False
    if _share_inside(text.box, product_mask) < ON_PRODUCT_SHARE:
        return True
    return text.overlay_score >= SURE_OVERLAY_SCORE and _added_on_product(text, product_mask, image)


def _added_on_product(text: TextRegion, product_mask: MaskArray, image: ImageArray) -> bool:
    """Whether a sure overlay line lying on the product was added rather than printed.

    A red brand label with big white letters (LUMI on a box) scores >= 0.9 on looks alone:
    large, crisp, flat glyphs, a saturated backing are what a printed label has too. What a
    label lacks is evidence of being added: promo words, a price or contact details
    (``promo_words``), the copies of a tiled watermark (``repetition``, ``tile_score``), or
    a backing that goes on past the product's outline (a badge or banner laid across it;
    print stays on the product). Without the classifier's cues nothing tells them apart and
    the sure score decides, as it always did.
    """
    cues = text.cues
    if "promo_words" not in cues:
        return True
    if cues["promo_words"] > 0 or cues.get("repetition", 0.0) >= 1.0:
        return True
    if cues.get("tile_score", 0.0) >= SURE_OVERLAY_SCORE:
        return True
    return _backing_off_product(text.box, product_mask, image) >= BACKING_OFF_SHARE


def _backing_off_product(
    box: list[tuple[float, float]], product_mask: MaskArray, image: ImageArray
) -> float:
    """Share of the line's backing region lying off the product mask.

    The backing colour is the median (CIE Lab) of a thin ring just outside the line's box:
    OCR boxes hug the glyphs, so the ring is the badge, label or surface the text sits on.
    The backing region is every connected run of pixels within BACKING_DELTA_E of that
    colour that the ring touches.
    """
    quad = np.zeros(product_mask.shape[:2], np.uint8)
    cv2.fillPoly(quad, [np.round(np.asarray(box)).astype(np.int32)], 1)
    if not quad.any():
        return 0.0
    glyph_h = min(cv2.minAreaRect(np.asarray(box, np.float32))[1])
    margin = max(2, round(0.15 * glyph_h))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    ring = (np.asarray(cv2.dilate(quad, disc)) > 0) & (quad == 0)
    if not ring.any():
        return 0.0
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    backing = np.median(lab[ring], axis=0)
    near = (np.linalg.norm(lab - backing, axis=2) <= BACKING_DELTA_E).astype(np.uint8)
    _, labels = cv2.connectedComponents(near, connectivity=8)
    touched = np.unique(labels[ring & (near > 0)])
    region = np.isin(labels, touched[touched > 0])
    area = int(region.sum())
    if area == 0:
        return 0.0
    return float(np.count_nonzero(region & (product_mask == 0))) / area


def _share_inside(box: list[tuple[float, float]], mask: MaskArray) -> float:
    quad = np.zeros(mask.shape[:2], np.uint8)
    cv2.fillPoly(quad, [np.round(np.asarray(box)).astype(np.int32)], 255)
    area = int(np.count_nonzero(quad))
    return float(np.count_nonzero((quad > 0) & (mask > 0))) / area if area else 0.0


def _overlay_text(
    texts: list[TextRegion], platform: Platform, product_mask: MaskArray, image: ImageArray
) -> RuleResult:
    overlays = [t for t in texts if _counts_as_overlay(t, product_mask, image)]
    if not overlays:
        message = "no text, badge or watermark added on top of the photo"
    else:
        quoted = ", ".join(f'"{t.text}"' for t in overlays[:5])
        more = f" and {len(overlays) - 5} more" if len(overlays) > 5 else ""
        message = (
            f"text added on top of the photo: {quoted}{more}; {platform.name} allows no "
            "overlay text, badges or watermarks (run `globalpic clean` first)"
        )
    return RuleResult(
        rule=OVERLAY_TEXT,
        passed=not overlays,
        measured=float(len(overlays)),
        required=0.0,
        message=message,
    )


class PixelRules:
    """``evaluate_rules`` as the pipeline's ``RuleJudge``, in this process."""

    name = "pixel-rules"

    def evaluate(
        self,
        image: ImageArray,
        product_mask: MaskArray,
        platform: Platform,
        overlay_texts: list[TextRegion] | None = None,
        *,
        estimated_mask: bool = False,
    ) -> list[RuleResult]:
        return evaluate_rules(
            image, product_mask, platform, overlay_texts, estimated_mask=estimated_mask
        )

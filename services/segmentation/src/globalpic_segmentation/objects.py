"""Which of the objects in a photo is the product: evidence, not salience.

On ad posters the most salient blob is often a badge, a paint splash or a podium, not the
item sold, and the item often comes as several units (four bottles, the box beside the can).
Each object (a product region of ``components``) gets measured cues and a product-likeness
score; the product is the best-scoring object plus every unit of the same item and every
product-like object touching that group. ``--all`` keeps every product-like object.

Cues, each in [0, 1] and reported in ``--json``:

* ``print``: product print lies on it (clean's text lines of kind ``product``, centre inside).
* ``units``: another object looks like it (size, shape and colour histogram): repeated units
  of one item are products, a badge is rarely repeated.
* ``person``: skin-coloured pixels are a part of it: a model wearing the garment sold.
* ``solidity``: area over convex hull area: products are compact, splashes are ragged.
* ``flat``: one saturated colour with little texture or shading: a badge, sticker or splash
  once clean has erased its text. A real product under light has shading and detail.
* ``backdrop``: it runs along two or more sides of the frame: a poster's backdrop or a
  podium, not an object standing in it.
* ``area`` (share of the largest object) and ``centrality``: the old salience, as a tie-break.

A kept object that is a person wearing the product (a standing figure with skin at the face
and at the hands or legs) is cut down to the garment (``garment``): the face, arms, legs,
hair and shoes are not the product.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from globalpic_common.interfaces import ImageArray
from globalpic_common.results import FoundObject
from globalpic_segmentation.components import Box, ProductRegion, mask_box

BoolMask = npt.NDArray[np.bool_]

# Objects are measured on the image scaled to this long side: colour statistics and hulls do
# not need more, and a 4000 px photo would cost seconds.
WORK_SIDE = 512
# Two objects are units of one item when their areas are within this ratio, their boxes'
# aspect ratios within ASPECT_RATIO and their hue-saturation histograms correlate this well.
UNIT_AREA_RATIO = 0.5
UNIT_ASPECT_RATIO = 0.7
UNIT_HIST_CORRELATION = 0.5
# Flat blob: mean saturation at least FLAT_SATURATION (0-1) and lightness spread (std of Lab
# L*, 0-100) at most FLAT_L_STD: one bold colour, no shading, no detail.
FLAT_SATURATION = 0.45
FLAT_L_STD = 9.0
# An image side counts as touched when the object covers this share of its length there.
BORDER_SIDE_SHARE = 0.25
# Share of an object covered by overlay lines at which it counts as all overlay (a badge).
OVERLAY_COVER = 0.3
# Skin share of an object's pixels that says "a person is part of it".
PERSON_SKIN = (0.08, 0.6)
# A person wearing the garment: skin between these shares of the object (less: pale skin the
# colour test half-misses still shows; more, and a beige garment may be what reads as skin:
# it is left whole); skin blobs under SKIN_MIN_BLOB of the object are noise; parts left once
# the skin is gone that reach GARMENT_PART of the largest are garment too (a top and a skirt
# split by the waist).
GARMENT_SKIN = (0.03, 0.45)
SKIN_MIN_BLOB = 0.003
GARMENT_PART = 0.3
# A person's face (below the hair) lies within HEAD_SHARE of the figure's height from its
# top; hands and legs below LIMBS_FROM of it.
HEAD_SHARE = 0.2
LIMBS_FROM = 0.4
# A person modelling a garment stands in the frame: at least this many times as tall as wide
# (a striding full-length model is 1.7; the tune photos' products with skin-coloured parts
# are at most 1.55).
PERSON_ASPECT = 1.65
# An object is product-like at this score or above (``--all`` keeps those).
PRODUCT_LIKE = 0.5
# Objects whose boxes come this close (share of the image diagonal) to the product's group
# join it when product-like: the box beside the can, the lid beside the appliance.
GROUP_REACH = 0.02
# A product-like, non-flat object at least this share of the product's area joins the group
# wherever it stands: the second item of a set shot apart from the first (the gift box a
# little beside the bottle) is sold with it; badges are flat, props and splashes small.
GROUP_MIN_AREA = 0.25

# Weights of the cues in the score's logit (tuned on the tune split only).
WEIGHTS = {
    "print": 2.0,
    "units": 1.0,
    "person": 0.5,
    "solidity": 1.5,
    # Mild alone: a plain-coloured product is flat too; clean's overlay lines on it, a ragged
    # outline or a lone unit add the rest of the evidence against a badge or a splash.
    "flat": -1.0,
    "overlay": -2.5,
    "backdrop": -2.5,
    "area": 1.5,
    "centrality": 0.5,
}
BIAS = -0.8


@dataclass
class Candidate:
    """One object of the photo, measured, scored and kept or not."""

    region: ProductRegion
    box: Box  # of its confident core
    cues: dict[str, float]
    score: float = 0.0
    kept: bool = False
    units: set[int] = field(default_factory=set)  # indices of objects that look alike

    def found(self) -> FoundObject:
        cues = {name: round(value, 4) for name, value in self.cues.items()}
        return FoundObject(self.box, round(self.score, 4), cues, self.kept)


def _scaled(image: ImageArray, masks: list[BoolMask]) -> tuple[ImageArray, list[BoolMask]]:
    height, width = image.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    if scale >= 1.0:
        return image, masks
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    small_masks = []
    for mask in masks:
        # Area-averaged, then half covered or, for an object thinner than a working pixel (a
        # fishing rod, a cable), any coverage: every object keeps pixels to measure.
        shrunk = np.asarray(cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA))
        small_mask = shrunk >= 0.5
        small_masks.append(small_mask if small_mask.any() else shrunk > 0)
    return small, small_masks


def _text_centres(texts: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    centres = []
    for quad in texts:
        if len(quad) == 0:
            continue
        xs = [float(p[0]) for p in quad]
        ys = [float(p[1]) for p in quad]
        centres.append((sum(xs) / len(xs), sum(ys) / len(ys)))
    return centres


def _solidity(mask: BoolMask) -> float:
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    if not contours:
        return 0.0
    points = np.concatenate(contours)
    hull = float(cv2.contourArea(cv2.convexHull(points)))
    return float(min(1.0, mask.sum() / hull)) if hull > 0 else 1.0


def _sides(mask: BoolMask) -> int:
    """How many sides of the frame the object runs along (``BORDER_SIDE_SHARE``)."""
    height, width = mask.shape
    edges = (mask[0, :], mask[-1, :], mask[:, 0], mask[:, -1])
    lengths = (width, width, height, height)
    return sum(
        int(edge.sum() >= BORDER_SIDE_SHARE * n) for edge, n in zip(edges, lengths, strict=True)
    )


def _skin_pixels(image: ImageArray) -> BoolMask:
    """Pixels that look like lit skin: the YCrCb skin range (Chai & Ngan) narrowed by hue, a
    moderate saturation and brightness, so that brown glass, wood and clay (dark or strongly
    saturated) do not pass."""
    hsv = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2HSV), np.uint8)
    ycrcb = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb), np.uint8)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    h, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    return np.asarray(
        (cr >= 138)
        & (cr <= 173)
        & (cb >= 85)
        & (cb <= 127)
        & (h <= 25)
        & (sat >= 30)
        & (sat <= 160)
        & (val >= 110),
        np.bool_,
    )


def _limbs(skin: BoolMask, mask: BoolMask) -> bool:
    """Whether the object is a person showing skin around a garment: a standing or
    half-length figure (``PERSON_ASPECT``) with skin near its top (a face, a neck, below the
    hair) and skin in its lower part (hands, legs). Skin-coloured parts of a product (a wooden
    lid, a duck's beak, a hand holding a clock) rarely meet all three."""
    box = mask_box(mask)
    if box is None:
        return False
    x0, y0, x1, y1 = box
    height = y1 - y0
    if height < PERSON_ASPECT * (x1 - x0):
        return False
    head = skin[y0 : y0 + max(1, round(HEAD_SHARE * height)), x0:x1].any()
    limbs = skin[y0 + round(LIMBS_FROM * height) : y1, x0:x1].any()
    return bool(head and limbs)


def garment(image: ImageArray, mask: BoolMask) -> BoolMask | None:
    """The garment a person in ``mask`` wears: the object less its skin (face, arms, legs,
    hands) and the parts only skin joins to the garment (hair above the face, shoes below
    the legs); None when the object is not a person wearing something (too little or too
    much skin, or nothing left once the skin is gone).

    Measured on the working scale; the answer is at full size, within ``mask``.
    """
    small, (small_mask,) = _scaled(image, [mask])
    area = float(small_mask.sum())
    if area == 0:
        return None
    kernel = np.ones((3, 3), np.uint8)
    raw = (_skin_pixels(small) & small_mask).astype(np.uint8)
    opened = cv2.morphologyEx(raw, cv2.MORPH_OPEN, kernel)
    skin = np.asarray(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(skin, connectivity=8)
    blobs = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= SKIN_MIN_BLOB * area]
    skin_mask = np.isin(labels, blobs)
    share = float(skin_mask.sum()) / area
    if not GARMENT_SKIN[0] <= share <= GARMENT_SKIN[1] or not _limbs(skin_mask, small_mask):
        return None
    # A pixel's margin around the skin: the skin's soft rim is not garment either.
    around = cv2.dilate(skin_mask.astype(np.uint8), kernel) > 0
    rest = (small_mask & ~around).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rest, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    parts = [i + 1 for i, a in enumerate(areas) if a >= GARMENT_PART * areas.max()]
    kept = np.isin(labels, parts).astype(np.uint8)
    # Back to full size; the garment's edge against the skin follows the working grid.
    height, width = mask.shape
    full = cv2.resize(kept, (width, height), interpolation=cv2.INTER_LINEAR) > 0
    return np.asarray(full & mask, np.bool_)


def _histogram(hsv: npt.NDArray[np.uint8], mask: BoolMask) -> npt.NDArray[np.float32]:
    hist = cv2.calcHist([hsv], [0, 1], mask.astype(np.uint8), [18, 8], [0, 180, 0, 256])
    return np.asarray(cv2.normalize(hist, None), np.float32)


def _flatness(lab: npt.NDArray[np.uint8], hsv: npt.NDArray[np.uint8], mask: BoolMask) -> float:
    """1 for one bold flat colour (badge, splash), 0 for a shaded, detailed object; measured
    on the object's interior (an erosion), so the soft rim and its halo do not count."""
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if inner.sum() < 20:
        inner = mask
    saturation = float(hsv[..., 1][inner].mean()) / 255.0
    lightness = lab[..., 0][inner].astype(np.float32) * (100.0 / 255.0)
    l_std = float(lightness.std())
    # Soft ramps rather than hard cuts: a cue, not a verdict.
    saturated = float(np.clip((saturation - FLAT_SATURATION + 0.1) / 0.2, 0.0, 1.0))
    smooth = float(np.clip((FLAT_L_STD + 4.0 - l_std) / 8.0, 0.0, 1.0))
    return saturated * smooth


def _quad_mask(
    quads: Sequence[Sequence[tuple[float, float]]], shape: tuple[int, int], scale: float
) -> BoolMask:
    canvas = np.zeros(shape, np.uint8)
    for quad in quads:
        if len(quad) >= 3:
            points = np.round(np.asarray(quad, np.float64) * scale).astype(np.int32)
            cv2.fillPoly(canvas, [points], 1)
    return canvas > 0


def measure(
    image: ImageArray,
    regions: Sequence[ProductRegion],
    print_quads: Sequence[Sequence[tuple[float, float]]] = (),
    overlay_quads: Sequence[Sequence[tuple[float, float]]] = (),
) -> list[Candidate]:
    """The cues of each region (on its confident core: the weak parts attached to it may
    reach into a neighbour), and which regions are units of one item.

    ``print_quads``: lines of the product's own print; ``overlay_quads``: overlay lines clean
    found (and erased): an object they cover is a badge or a banner, not a product.
    """
    if not regions:
        return []
    width = image.shape[1]
    cores = [r.core if r.core is not None else r.mask for r in regions]
    small, masks = _scaled(image, cores)
    scale = small.shape[1] / width
    hsv = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2HSV), np.uint8)
    lab = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2LAB), np.uint8)
    skin_pixels = _skin_pixels(small)
    overlay = _quad_mask(overlay_quads, small.shape[:2], scale)
    centres = [(x * scale, y * scale) for x, y in _text_centres(print_quads)]
    areas = [float(m.sum()) for m in masks]
    largest = max(areas) or 1.0
    small_h, small_w = small.shape[:2]
    half_diag = math.hypot(small_w, small_h) / 2
    objects: list[Candidate] = []
    hists = []
    for region, core, mask, area in zip(regions, cores, masks, areas, strict=True):
        ys, xs = np.nonzero(mask)
        cx = float(xs.mean()) if xs.size else small_w / 2
        cy = float(ys.mean()) if ys.size else small_h / 2
        mh, mw = mask.shape
        on_print = sum(
            1 for x, y in centres if 0 <= int(y) < mh and 0 <= int(x) < mw and mask[int(y), int(x)]
        )
        covered = float((mask & overlay).sum()) / max(1.0, float(mask.sum()))
        skin = float(skin_pixels[mask].mean()) if mask.any() else 0.0
        sides = _sides(mask)
        share = float(mask.sum()) / (mh * mw)
        cues = {
            "area": area / largest,
            "area_share": share,
            "centrality": 1.0
            - min(1.0, math.hypot(cx - small_w / 2, cy - small_h / 2) / half_diag),
            "print": float(min(1, on_print)),
            "print_lines": float(on_print),
            # Overlay lines over a third of it: a badge or a banner.
            "overlay": min(1.0, covered / OVERLAY_COVER),
            "solidity": _solidity(mask) if mask.any() else 0.0,
            "flat": _flatness(lab, hsv, mask) if mask.any() else 0.0,
            "backdrop": 1.0 if sides >= 3 or (sides >= 2 and share > 0.25) else 0.0,
            "sides": float(sides),
            "skin": skin,
            "person": 1.0 if PERSON_SKIN[0] <= skin <= PERSON_SKIN[1] else 0.0,
        }
        box = mask_box(core) or region.box
        objects.append(Candidate(region, box, cues))
        hists.append(_histogram(hsv, mask))
    for i, a in enumerate(objects):
        for j in range(i + 1, len(objects)):
            b = objects[j]
            if _alike(a, b, hists[i], hists[j]):
                a.units.add(j)
                b.units.add(i)
    for obj in objects:
        obj.cues["units"] = float(min(1, len(obj.units)))
        obj.score = _score(obj.cues)
    return objects


def _aspect(box: Box) -> float:
    return max(1, box[2] - box[0]) / max(1, box[3] - box[1])


def _alike(
    a: Candidate,
    b: Candidate,
    hist_a: npt.NDArray[np.float32],
    hist_b: npt.NDArray[np.float32],
) -> bool:
    """Whether two objects are units of one item: similar size, shape and colours."""
    area_a, area_b = a.cues["area"], b.cues["area"]
    if min(area_a, area_b) < UNIT_AREA_RATIO * max(area_a, area_b):
        return False
    aspect_a, aspect_b = _aspect(a.box), _aspect(b.box)
    if min(aspect_a, aspect_b) < UNIT_ASPECT_RATIO * max(aspect_a, aspect_b):
        return False
    correlation = float(cv2.compareHist(hist_a, hist_b, cv2.HISTCMP_CORREL))
    return correlation >= UNIT_HIST_CORRELATION


def _score(cues: dict[str, float]) -> float:
    """Product-likeness in [0, 1]: a logistic of the weighted cues."""
    logit = BIAS + sum(weight * cues[name] for name, weight in WEIGHTS.items())
    return 1.0 / (1.0 + math.exp(-logit))


def _boxes_near(a: Box, b: Box, reach: float) -> bool:
    return (
        a[0] - reach <= b[2]
        and b[0] - reach <= a[2]
        and a[1] - reach <= b[3]
        and b[1] - reach <= a[3]
    )


def _second_item(obj: Candidate, best: Candidate) -> bool:
    """A sizable object standing apart from the product that is a second item of the offer:
    no overlay on it, and printed when the product is (print decides between unlike objects:
    a plain panel beside a printed can is a prop or a backdrop, not the set's other half)."""
    return (
        obj.cues["area"] >= GROUP_MIN_AREA * best.cues["area"]
        and obj.cues["overlay"] < 0.5
        and obj.cues["print"] >= best.cues["print"]
    )


def choose(objects: list[Candidate], keep_all: bool, shape: tuple[int, int]) -> None:
    """Mark the objects kept (``kept``): the product's group, or every product-like object.

    The product is the best-scoring object; its group adds every unit of the same item, then
    (repeatedly) every product-like, non-flat object whose box touches the group's boxes or
    that is at least ``GROUP_MIN_AREA`` of the product's size, so the box beside the can comes
    along but a badge floating on the backdrop does not.
    """
    if not objects:
        return
    best = max(range(len(objects)), key=lambda i: (objects[i].score, objects[i].cues["area"]))
    if keep_all:
        for i, obj in enumerate(objects):
            obj.kept = i == best or obj.score >= PRODUCT_LIKE
        return
    reach = GROUP_REACH * math.hypot(*shape)
    group = {best}
    changed = True
    while changed:
        changed = False
        for i, obj in enumerate(objects):
            if i in group:
                continue
            unit = any(i in objects[g].units for g in group)
            product_like = obj.score >= PRODUCT_LIKE and obj.cues["flat"] < 0.5
            near = product_like and (
                any(_boxes_near(obj.box, objects[g].box, reach) for g in group)
                or _second_item(obj, objects[best])
            )
            if unit or near:
                group.add(i)
                changed = True
    for i, obj in enumerate(objects):
        obj.kept = i in group

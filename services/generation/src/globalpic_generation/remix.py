"""The ``remix`` operation: the same product, same placement, on a new background.

The background is one of three things:

* a catalog style drawn by our CPU renderers (``scenes.render_background``);
* for approximate (scene) styles, when a library is given (``backgrounds_dir``, the CLI's
  ``--backgrounds DIR``): a photo from ``DIR/<style-id>/`` (``.jpg`` / ``.png`` / ``.webp``),
  fitted to the frame; exact styles are always drawn, a photo would not be more exact;
* the seller's own photo (``background=``, 自定义上传), fitted the same way; its style id
  is ``custom``.

The product comes with its matte (alpha, from the extract op) and goes on with
``composite.composite_cutout``: bit-identical where alpha == 1, decontaminated soft edge,
contact shadow, faint reflection on glossy styles.

With ``GenerationSettings.remixer = "zimage"`` (``Remixer.from_settings``) approximate
(scene) styles are generated instead: Z-Image-Turbo inpaints everything but the product from
the style's prompt (``zimage_remix.ZImageSceneGenerator``), candidates in batches; exact
styles (white, solid colours) are still drawn. Source ``zimage``; no synthetic shadow is
added (the model lights the scene around the product).

Candidates: ``candidates(..., n)`` gives n distinct variants from seeds ``seed .. seed+n-1``:
scene, gradient and sweep styles draw a different backdrop per seed (library styles take the
next photo, then the photos mirrored); solid styles keep their colour and vary the shadow's
light direction. The costly matte work (foreground estimation) is done once for all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.imageio import ImageLimits, load_image
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.models import unload_all
from globalpic_common.results import RemixResult
from globalpic_common.styles import Style, get_style
from globalpic_common.timing import StageTimer
from globalpic_generation.composite import (
    Cutout,
    blend,
    fit_background,
    plate_for,
    prepare_cutout,
)
from globalpic_generation.scenes import has_tight_shadow, is_glossy, render_background
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.shadow import tight_reach

CUSTOM_STYLE = "custom"  # the style id reported for a seller's own background
LIBRARY_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# Library photos are backdrops, not inputs: smaller ones are fine (they are upscaled).
LIBRARY_LIMITS = ImageLimits(min_side=64)
MAX_CANDIDATES = 16


def product_box(alpha: AlphaArray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), exclusive ends, of the pixels with alpha >= 0.5."""
    ys, xs = np.nonzero(alpha >= 0.5)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def library_photos(backgrounds_dir: Path, style_id: str) -> list[Path]:
    """The photos serving ``style_id`` in a library, in name order (empty if none)."""
    if not backgrounds_dir.is_dir():
        raise BadInputError(
            f"{backgrounds_dir}: no such backgrounds directory", code=errors.FILE_NOT_FOUND
        )
    folder = backgrounds_dir / style_id
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in LIBRARY_SUFFIXES)


class SceneGenerator(Protocol):
    """Generates backdrops around a product from a style (``zimage_remix``)."""

    name: str

    def load(self) -> None: ...

    def generate(
        self, image: ImageArray, alpha: AlphaArray, style: Style, seeds: list[int]
    ) -> list[ImageArray]: ...


def _one_of(style_id: str | None, background: ImageArray | None) -> Style | None:
    """The requested style (None for a seller's background); exactly one must be given."""
    if (style_id is None) == (background is None):
        raise BadInputError(
            "give exactly one of a style or a background image", code=errors.BAD_OPTION
        )
    return get_style(style_id) if style_id is not None else None


class Remixer:
    """Remixes products onto styles or a seller's background (stateless, thread-safe)."""

    def __init__(
        self,
        *,
        shadow: bool = True,
        harmonize: bool = True,
        scene_generator: SceneGenerator | None = None,
    ) -> None:
        self.shadow = shadow
        self.harmonize = harmonize
        self.scene_generator = scene_generator

    @classmethod
    def from_settings(cls, settings: GenerationSettings | None = None) -> Remixer:
        settings = settings or GenerationSettings()
        if settings.remixer == "zimage":
            # Imported here: the generator pulls torch and diffusers when it loads.
            from globalpic_generation.zimage_remix import ZImageSceneGenerator

            return cls(scene_generator=ZImageSceneGenerator(settings))
        return cls()

    def load(self) -> None:
        """Load the scene generator's model, if any (the server calls this before SERVING)."""
        if self.scene_generator is not None:
            self.scene_generator.load()

    def unload(self) -> None:
        unload_all(self.scene_generator)

    def generates(self, style: Style | None) -> bool:
        """Whether ``style``'s backdrop comes from the scene generator."""
        return (
            self.scene_generator is not None
            and style is not None
            and style.rendering == "approximate"
        )

    def remix(
        self,
        image: ImageArray,
        alpha: AlphaArray,
        *,
        style_id: str | None = None,
        background: ImageArray | None = None,
        seed: int = 0,
        backgrounds_dir: Path | None = None,
    ) -> RemixResult:
        """``image``'s product (matte ``alpha``) on style ``style_id`` or on ``background``
        (exactly one of the two)."""
        style = _one_of(style_id, background)
        timer = StageTimer()
        with timer.stage("cutout"):
            cutout = self.prepare(image, alpha)
        return self._place(cutout, style, background, seed, backgrounds_dir, timer)

    def prepare(self, image: ImageArray, alpha: AlphaArray) -> Cutout:
        """The costly, background-independent half (edge foreground estimation): prepare
        once, then ``place`` on as many backgrounds as wanted."""
        return prepare_cutout(image, alpha)

    def place(
        self,
        cutout: Cutout,
        *,
        style_id: str | None = None,
        background: ImageArray | None = None,
        seed: int = 0,
        backgrounds_dir: Path | None = None,
    ) -> RemixResult:
        """A prepared cutout on style ``style_id`` or on ``background`` (exactly one); its
        ``seconds`` hold the background and composite stages only."""
        style = _one_of(style_id, background)
        return self._place(cutout, style, background, seed, backgrounds_dir, StageTimer())

    def candidates(
        self,
        image: ImageArray,
        alpha: AlphaArray,
        style_id: str,
        n: int,
        *,
        seed: int = 0,
        backgrounds_dir: Path | None = None,
    ) -> list[RemixResult]:
        """``n`` distinct variants of one style (seeds ``seed`` .. ``seed + n - 1``). The
        cutout is prepared once; its time is shared evenly among the results."""
        if not 1 <= n <= MAX_CANDIDATES:
            raise BadInputError(
                f"candidates must be 1..{MAX_CANDIDATES}, got {n}", code=errors.BAD_OPTION
            )
        style = get_style(style_id)
        shared = StageTimer()
        with shared.stage("cutout"):
            cutout = self.prepare(image, alpha)
        generated: list[ImageArray | None] = [None] * n
        if self.generates(style):
            assert self.scene_generator is not None
            seeds = [seed + k for k in range(n)]
            self._check_seed(seed)
            with shared.stage("background"):  # one batched generation for all candidates
                generated = list(
                    self.scene_generator.generate(cutout.image, cutout.alpha, style, seeds)
                )
        results = []
        for k in range(n):
            timer = StageTimer()
            for stage, spent in shared.seconds.items():
                timer.seconds[stage] = spent / n
            results.append(
                self._place(cutout, style, None, seed + k, backgrounds_dir, timer, generated[k])
            )
        return results

    # ------------------------------------------------------------------------- internals

    def _place(
        self,
        cutout: Cutout,
        style: Style | None,
        background: ImageArray | None,
        seed: int,
        backgrounds_dir: Path | None,
        timer: StageTimer,
        generated: ImageArray | None = None,
    ) -> RemixResult:
        self._check_seed(seed)
        width, height = cutout.size
        with timer.stage("background"):
            if background is not None:
                backdrop, source = fit_background(background, width, height), "upload"
            elif generated is not None:
                backdrop, source = generated, "zimage"
            elif self.generates(style):
                assert self.scene_generator is not None and style is not None
                (backdrop,) = self.scene_generator.generate(
                    cutout.image, cutout.alpha, style, [seed]
                )
                source = "zimage"
            elif style is not None:
                box = product_box(cutout.alpha)
                backdrop, source = self._style_background(
                    style, width, height, seed, box, backgrounds_dir
                )
            else:  # pragma: no cover - remix() and candidates() always pass one
                raise BadInputError("no style and no background", code=errors.BAD_OPTION)
        style_id = CUSTOM_STYLE if style is None else style.id
        # A drawn glossy surface reflects the product; a photo's surface is unknown.
        glossy = style is not None and source == "render" and is_glossy(style.id)
        tight = style is not None and has_tight_shadow(style.id)
        # A generated scene is lit around the product by the model: no synthetic shadow.
        shadow = self.shadow and source != "zimage"
        with timer.stage("composite"):
            plate = plate_for(
                cutout, backdrop, shadow=shadow, reflection=glossy, seed=seed,
                shadow_reach=tight_reach(width, height) if tight else None,
            )  # fmt: skip
            out = blend(cutout, plate, harmonize=self.harmonize)
        seconds = {k: round(v, 4) for k, v in timer.seconds.items()}
        return RemixResult(out, style_id, seed, source, plate, seconds)

    @staticmethod
    def _check_seed(seed: int) -> None:
        if seed < 0:
            raise BadInputError(f"seed must be >= 0, got {seed}", code=errors.BAD_OPTION)

    def _style_background(
        self,
        style: Style,
        width: int,
        height: int,
        seed: int,
        box: tuple[int, int, int, int],
        backgrounds_dir: Path | None,
    ) -> tuple[ImageArray, str]:
        if backgrounds_dir is not None and style.rendering == "approximate":
            photos = library_photos(backgrounds_dir, style.id)
            if photos:
                # Each photo once, then each mirrored: distinct variants as long as possible.
                turn = seed % (2 * len(photos))
                path = photos[turn % len(photos)]
                rgb = load_image(path, LIBRARY_LIMITS).rgb
                mirrored = turn >= len(photos)
                if mirrored:
                    rgb = np.ascontiguousarray(rgb[:, ::-1])
                label = f"library:{path.name}" + (":mirrored" if mirrored else "")
                return fit_background(rgb, width, height), label
        return render_background(style.id, width, height, seed, box), "render"

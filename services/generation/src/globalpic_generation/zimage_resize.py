"""Resize with Z-Image-Turbo: outpainting the frame's new area, img2img upscaling of small
photos (``GenerationSettings.outpainter`` / ``upscaler = "zimage"``; ``canvas.fit_to_canvas``
calls them, on extended backgrounds only: white frames and given background images are
never generated).

- ``outpaint``: ``ZImageInpaintPipeline`` on the whole frame, resized so its longer side
  lies in ``outpaint_side_px`` (sides multiples of the model's pixel factor), from
  ``outpaint_prompt``. The new area starts as the photo's border repeated outwards (so no
  black leaks into the photo's edge when resizing); every working pixel that is not wholly
  photo is generated, so the model continues the photo right up to its edge. Only pixels
  outside the placed photo are pasted back: the photo is bit-identical.
- ``upscale``: ``ZImageImg2ImgPipeline`` (sharing the loaded modules) on the classical
  Lanczos + sharpen upscale at ``upscale_strength`` (0.3: the last 3 of the 9 Turbo steps),
  at a working size whose longer side lies in ``upscale_side_px``, resized back. Every pixel
  of an upscale is resampled, so "exact" can only mean "as the classical upscale made
  it": with ``upscale_keep_product`` (default) the product (alpha == 1) keeps the classical
  pixels bit for bit and its soft edge blends by alpha, so img2img never redraws a label or
  a logo; only the background gains generated detail. Upscales below
  ``upscale_min_scale`` are left classical.

Both use the Turbo settings (``steps`` 9, ``guidance_scale`` 0) and one seeded CPU generator
per call: the same seed gives the same frame. The model is ``zimage.load_zimage``'s, shared
with the inpainter and the scene generator when the settings match.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_generation.zimage import ZImageBackend, generate_img2img, generate_inpaint
from globalpic_generation.zimage_remix import work_size


def _resize(image: np.ndarray[Any, Any], size: tuple[int, int]) -> np.ndarray[Any, Any]:
    """To (height, width): area averaging down, bicubic up; no-op at equal size."""
    h, w = image.shape[:2]
    if (h, w) == size:
        return image
    flag = cv2.INTER_AREA if size[0] * size[1] < h * w else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(image, (size[1], size[0]), interpolation=flag))


def _rect(known: np.ndarray[Any, np.dtype[np.bool_]]) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 (exclusive) of the True pixels."""
    ys = np.flatnonzero(known.any(axis=1))
    xs = np.flatnonzero(known.any(axis=0))
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


class ZImageResizer(ZImageBackend):
    """The generative ``Outpainter`` and ``Upscaler`` of ``canvas.fit_to_canvas``.

    The model loads on ``load()`` or on first use; construction is cheap and imports no torch.
    """

    name = "zimage"

    def outpaint(
        self, image: ImageArray, known: np.ndarray[Any, np.dtype[np.bool_]], seed: int
    ) -> ImageArray:
        """``image`` with every pixel outside ``known`` (the placed photo's rectangle)
        generated from ``outpaint_prompt``; the photo's pixels unchanged."""
        if known.all():
            return image
        if not known.any():
            raise ValueError("outpaint needs some photo to continue")
        h, w = known.shape
        models = self.models
        size = work_size(h, w, models.factor, self.settings.outpaint_side_px)
        x0, y0, x1, y1 = _rect(known)
        photo = np.ascontiguousarray(image[y0:y1, x0:x1])
        start = cv2.copyMakeBorder(photo, y0, h - y1, x0, w - x1, cv2.BORDER_REPLICATE)
        work = np.asarray(_resize(np.asarray(start, np.uint8), size), np.uint8)
        kept = _resize(known.astype(np.float32), size)
        mask = np.where(kept >= 0.999, 0, 255).astype(np.uint8)
        (generated,) = generate_inpaint(
            models, self.settings, [work], [mask], [seed], self.settings.outpaint_prompt
        )
        back = np.asarray(_resize(generated, (h, w)), np.uint8)
        out = image.copy()
        out[~known] = back[~known]
        return out

    def upscale(self, image: ImageArray, alpha: AlphaArray, scale: float, seed: int) -> ImageArray:
        """The upscaled photo ``image`` refined by img2img; the product's pixels as given
        when ``upscale_keep_product``; unchanged below ``upscale_min_scale``."""
        settings = self.settings
        if scale < settings.upscale_min_scale:
            return image
        h, w = image.shape[:2]
        models = self.models
        size = work_size(h, w, models.factor, settings.upscale_side_px)
        work = np.asarray(_resize(image, size), np.uint8)
        (generated,) = generate_img2img(
            models, settings, [work], [seed], settings.upscale_prompt, settings.upscale_strength
        )
        back = np.asarray(_resize(generated, (h, w)), np.float32)
        if not settings.upscale_keep_product:
            return np.asarray(np.clip(np.round(back), 0, 255), np.uint8)
        a = np.clip(alpha.astype(np.float32), 0.0, 1.0)[:, :, None]
        blended = a * image.astype(np.float32) + (1.0 - a) * back
        out = np.clip(np.round(blended), 0, 255).astype(np.uint8)
        product = alpha >= 1.0
        out[product] = image[product]
        return out

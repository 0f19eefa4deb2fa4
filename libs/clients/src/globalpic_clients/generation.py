"""``GenerationClient``: the generation service over gRPC.

It is the pipeline's ``Inpainter`` (``inpaint``), clean's ``EraseMasker`` (``first_pass``,
``locate``, ``residual_pass``, ``finish``), its remixer (``remix``, ``candidates``,
with ``Remixer``'s signatures and ``RemixResult`` values), resize's ``Framer`` (``fit``,
``enforce_white``: ``canvas.CanvasFramer``) and its ``Outpainter`` / ``Upscaler``
(``outpaint``, ``upscale``: ``canvas.CanvasBackends``), so ``Cleaner``, ``Localizer`` and
``fit_to_canvas`` take it in place of the in-process classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from globalpic.generation.v1 import generation_pb2, generation_pb2_grpc
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_client import DEFAULT_TIMEOUT_S, GrpcClient
from globalpic_common.interfaces import (
    AlphaArray,
    FirstPassMasks,
    FitResult,
    ImageArray,
    MaskArray,
    ResidualPassMasks,
)
from globalpic_common.results import RemixResult
from globalpic_common.schemas import TextLine
from globalpic_common.wire import (
    alpha_from_proto,
    alpha_to_proto,
    box_from_proto,
    image_from_proto,
    image_to_proto,
    mask_from_proto,
    mask_to_proto,
    text_line_to_proto,
    text_lines_to_proto,
)

HEALTH_NAME = generation_pb2.DESCRIPTOR.services_by_name["GenerationService"].full_name


def _no_library(backgrounds_dir: Path | None) -> None:
    if backgrounds_dir is not None:
        raise BadInputError(
            f"{backgrounds_dir}: the generation service uses its own background library "
            "(GLOBALPIC_GENERATION__BACKGROUNDS_DIR on the server), not a local directory",
            code=errors.BAD_OPTION,
        )


def _result(candidate: generation_pb2.RemixCandidate) -> RemixResult:
    return RemixResult(
        image=image_from_proto(candidate.image),
        style_id=candidate.style_id,
        seed=candidate.seed,
        source=candidate.source,
        plate=image_from_proto(candidate.plate, what="plate"),
        seconds=dict(candidate.seconds),
    )


class GenerationClient(GrpcClient):
    def __init__(self, addr: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(addr, HEALTH_NAME, timeout_s=timeout_s)
        self._stub = generation_pb2_grpc.GenerationServiceStub(self.channel)
        # The remote inpainter's name ("auto", ...), known after the first Inpaint.
        self.name = "generation-service"

    def build_erase_mask(
        self,
        image: ImageArray,
        lines: Sequence[TextLine],
        *,
        protect: MaskArray | None = None,
        backings: bool = True,
    ) -> MaskArray:
        """``erase_mask.build_erase_mask`` on the service (the pipeline's mask builder)."""
        if not lines:
            return np.zeros(image.shape[:2], np.uint8)  # nothing to erase: no round trip
        request = generation_pb2.BuildEraseMaskRequest(
            image=image_to_proto(image),
            lines=[text_line_to_proto(line) for line in lines],
            strokes_only=not backings,
        )
        if protect is not None:
            request.protect.CopyFrom(mask_to_proto(protect))
        reply = self.call(self._stub.BuildEraseMask, request)
        return mask_from_proto(reply.mask, (image.shape[0], image.shape[1]))

    # Clean's mask geometry (``EraseMasker``): one RPC per step, the same masks as
    # ``clean_mask.CleanMasker`` computes in process.

    def first_pass(
        self,
        image: ImageArray,
        lines: Sequence[TextLine],
        wanted: Sequence[bool],
        product_alpha: AlphaArray | None,
        *,
        keep: MaskArray | None = None,
        add: MaskArray | None = None,
    ) -> FirstPassMasks:
        if len(lines) != len(wanted):
            raise ValueError(f"{len(lines)} lines but {len(wanted)} wanted flags")
        request = generation_pb2.EraseFirstPassRequest(
            image=image_to_proto(image),
            lines=[
                generation_pb2.FirstPassLine(line=text_line_to_proto(line), wanted=want)
                for line, want in zip(lines, wanted, strict=True)
            ],
        )
        if product_alpha is not None:
            request.product_alpha.CopyFrom(alpha_to_proto(product_alpha))
        if keep is not None:
            request.keep.CopyFrom(mask_to_proto(keep))
        if add is not None:
            request.add.CopyFrom(mask_to_proto(add))
        reply = self.call(self._stub.EraseFirstPass, request)
        shape = (image.shape[0], image.shape[1])
        return FirstPassMasks(
            protected=list(reply.protected),
            mask=mask_from_proto(reply.mask, shape),
            protect=mask_from_proto(reply.protect, shape, what="protect"),
            erased=mask_from_proto(reply.erased, shape, what="erased"),
        )

    def locate(
        self, lines: Sequence[TextLine], erased: MaskArray, known: MaskArray
    ) -> list[tuple[float, float]]:
        if not lines:
            return []  # nothing to place: no round trip
        request = generation_pb2.EraseLocateRequest(
            lines=text_lines_to_proto(lines),
            erased=mask_to_proto(erased),
            known=mask_to_proto(known),
        )
        reply = self.call(self._stub.EraseLocate, request)
        return [(overlap.erased, overlap.known) for overlap in reply.overlaps]

    def residual_pass(
        self,
        image: ImageArray,
        newly: Sequence[TextLine],
        residual: Sequence[TextLine],
        kept: Sequence[TextLine],
        product_alpha: AlphaArray | None,
        *,
        protect: MaskArray,
        erased: MaskArray,
        newly_kept: Sequence[TextLine] = (),
    ) -> ResidualPassMasks:
        request = generation_pb2.EraseResidualPassRequest(
            image=image_to_proto(image),
            newly=text_lines_to_proto(newly),
            residual=text_lines_to_proto(residual),
            kept=text_lines_to_proto(kept),
            newly_kept=text_lines_to_proto(newly_kept),
            protect=mask_to_proto(protect),
            erased=mask_to_proto(erased),
        )
        if product_alpha is not None:
            request.product_alpha.CopyFrom(alpha_to_proto(product_alpha))
        reply = self.call(self._stub.EraseResidualPass, request)
        shape = (image.shape[0], image.shape[1])
        return ResidualPassMasks(
            extra=mask_from_proto(reply.extra, shape, what="extra"),
            protect=mask_from_proto(reply.protect, shape, what="protect"),
            erased=mask_from_proto(reply.erased, shape, what="erased"),
        )

    def finish(
        self,
        image: ImageArray,
        erased: ImageArray,
        mask: MaskArray,
        product_alpha: AlphaArray | None,
        *,
        keep: MaskArray | None = None,
    ) -> tuple[ImageArray, AlphaArray | None]:
        request = generation_pb2.EraseFinishRequest(
            image=image_to_proto(image), erased=image_to_proto(erased), mask=mask_to_proto(mask)
        )
        if product_alpha is not None:
            request.product_alpha.CopyFrom(alpha_to_proto(product_alpha))
        if keep is not None:
            request.keep.CopyFrom(mask_to_proto(keep))
        reply = self.call(self._stub.EraseFinish, request)
        shape = (image.shape[0], image.shape[1])
        alpha = (
            alpha_from_proto(reply.product_alpha, shape, what="product_alpha")
            if reply.HasField("product_alpha")
            else None
        )
        return image_from_proto(reply.image), alpha

    def inpaint(
        self, image: ImageArray, mask: MaskArray, product_alpha: AlphaArray | None = None
    ) -> ImageArray:
        request = generation_pb2.InpaintRequest(
            image=image_to_proto(image), mask=mask_to_proto(mask)
        )
        if product_alpha is not None:
            request.product_alpha.CopyFrom(alpha_to_proto(product_alpha))
        reply = self.call(self._stub.Inpaint, request)
        self.name = reply.backend or self.name
        return image_from_proto(reply.image)

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
        _no_library(backgrounds_dir)
        request = self._request(image, alpha, seed)
        # Both or neither given: sent as neither, and the server refuses it (bad_option) just
        # as Remixer.remix does in process.
        if style_id is not None and background is None:
            request.style_id = style_id
        elif background is not None and style_id is None:
            request.background.CopyFrom(image_to_proto(background))
        reply = self.call(self._stub.Remix, request)
        return _result(reply.candidates[0])

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
        _no_library(backgrounds_dir)
        request = self._request(image, alpha, seed)
        request.style_id = style_id
        request.n = n
        reply = self.call(self._stub.Remix, request)
        return [_result(candidate) for candidate in reply.candidates]

    def outpaint(
        self, image: ImageArray, known: np.ndarray[Any, np.dtype[np.bool_]], seed: int
    ) -> ImageArray:
        """The server's generative outpainter (``model_unavailable`` when it has none)."""
        request = generation_pb2.OutpaintRequest(
            image=image_to_proto(image),
            known=mask_to_proto(np.where(known, 255, 0).astype(np.uint8)),
            seed=seed,
        )
        reply = self.call(self._stub.Outpaint, request)
        return image_from_proto(reply.image)

    def upscale(self, image: ImageArray, alpha: AlphaArray, scale: float, seed: int) -> ImageArray:
        """The server's generative upscaler (``model_unavailable`` when it has none)."""
        request = generation_pb2.UpscaleRequest(
            image=image_to_proto(image), alpha=alpha_to_proto(alpha), scale=scale, seed=seed
        )
        reply = self.call(self._stub.Upscale, request)
        return image_from_proto(reply.image)

    @staticmethod
    def _request(image: ImageArray, alpha: AlphaArray, seed: int) -> generation_pb2.RemixRequest:
        return generation_pb2.RemixRequest(
            image=image_to_proto(image), alpha=alpha_to_proto(alpha), seed=seed
        )

    # --- Resize's frame fit (``Framer``: ``canvas.CanvasFramer`` on the server) ---

    def fit(
        self,
        image: ImageArray,
        alpha: AlphaArray,
        width: int,
        height: int,
        *,
        fill: float | None = None,
        background: Literal["extend", "white"] = "extend",
        white_background: bool = False,
    ) -> FitResult:
        """``CanvasFramer.fit`` on the service, with the server's canvas backends."""
        request = generation_pb2.FitRequest(
            image=image_to_proto(image),
            alpha=alpha_to_proto(alpha),
            width=width,
            height=height,
            fill=fill,
            background=background,
            white_background=white_background,
        )
        reply = self.call(self._stub.Fit, request)
        shape = (height, width)
        box = box_from_proto(reply.product_box) if reply.HasField("product_box") else None
        return FitResult(
            image=image_from_proto(reply.image),
            alpha=alpha_from_proto(reply.alpha, shape),
            product_box=box,
            scale=reply.scale,
            extended=mask_from_proto(reply.extended, shape, what="extended"),
        )

    def enforce_white(self, image: ImageArray, alpha: AlphaArray) -> ImageArray:
        """``CanvasFramer.enforce_white`` (``enforce_white_background``) on the service."""
        request = generation_pb2.EnforceWhiteRequest(
            image=image_to_proto(image), alpha=alpha_to_proto(alpha)
        )
        reply = self.call(self._stub.EnforceWhite, request)
        return image_from_proto(reply.image)

    def adjust(
        self,
        image: ImageArray,
        *,
        brightness: float = 0.0,
        saturation: float = 0.0,
        detail: float = 0.0,
        strength: float = 1.0,
        original: ImageArray | None = None,
        alpha: AlphaArray | None = None,
    ) -> ImageArray:
        """``CanvasFramer.adjust`` on the service."""
        request = generation_pb2.AdjustRequest(
            image=image_to_proto(image),
            brightness=brightness,
            saturation=saturation,
            detail=detail,
            strength=strength,
        )
        if original is not None:
            request.original.CopyFrom(image_to_proto(original))
        if alpha is not None:
            request.alpha.CopyFrom(alpha_to_proto(alpha))
        reply = self.call(self._stub.Adjust, request)
        return image_from_proto(reply.image)

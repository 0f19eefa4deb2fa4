"""Pixel arrays and text lines <-> their protobuf messages (``globalpic.common.v1``).

Raw bytes + shape + dtype, lossless: a round trip gives the same numbers. Encoding takes any
array so a peer's validation speaks for itself; decoding checks shape, dtype and byte count
and raises ``BadInputError`` with a stable code, so a malformed request becomes
INVALID_ARGUMENT before domain code sees it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from globalpic.common.v1 import common_pb2
from globalpic.segmentation.v1 import segmentation_pb2
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.interfaces import AlphaArray, ImageArray, MaskArray
from globalpic_common.schemas import RuleResult, TextLine, TextRegion

# Little-endian on the wire whatever the host order (the proto says so).
_FROM_WIRE: dict[int, np.dtype[np.generic]] = {
    common_pb2.DTYPE_UINT8: np.dtype("u1"),
    common_pb2.DTYPE_FLOAT32: np.dtype("<f4"),
}
_NAMES: dict[int, str] = {common_pb2.DTYPE_UINT8: "uint8", common_pb2.DTYPE_FLOAT32: "float32"}

# Image, Mask and Alpha share one layout: shape, dtype, data.
_ArrayMessage = common_pb2.Image | common_pb2.Mask | common_pb2.Alpha


def _wire_dtype(dtype: np.dtype[np.generic]) -> common_pb2.DType.ValueType | None:
    if dtype.kind == "u" and dtype.itemsize == 1:
        return common_pb2.DTYPE_UINT8
    if dtype.kind == "f" and dtype.itemsize == 4:  # either byte order: sent little-endian
        return common_pb2.DTYPE_FLOAT32
    return None


def _fill(message: _ArrayMessage, array: npt.NDArray[np.generic], code: str) -> None:
    wire = _wire_dtype(array.dtype)
    if wire is None:
        raise BadInputError(
            f"cannot send a {array.dtype} array: only uint8 and float32 travel", code=code
        )
    message.shape.extend(int(d) for d in array.shape)
    message.dtype = wire
    message.data = np.ascontiguousarray(array, dtype=_FROM_WIRE[wire]).tobytes()


def _read(
    message: _ArrayMessage,
    what: str,
    dtype: common_pb2.DType.ValueType,
    ndim: int,
    code: str,
    channels: int | None = None,
    shape: tuple[int, int] | None = None,
) -> npt.NDArray[np.generic]:
    got = tuple(int(d) for d in message.shape)
    got_dtype = _NAMES.get(message.dtype, f"dtype #{message.dtype}")
    want = f"H x W x {channels}" if channels else "H x W"
    if (
        message.dtype != dtype
        or len(got) != ndim
        or any(d <= 0 for d in got)
        or (channels is not None and got[2] != channels)
    ):
        raise BadInputError(
            f"{what} must be {want} {_NAMES[dtype]}, got {got} {got_dtype}", code=code
        )
    if shape is not None and got[:2] != shape:
        raise BadInputError(f"{what} is {got[:2]} but the image is {shape}", code=code)
    wire = _FROM_WIRE[dtype]
    expected = int(np.prod(got)) * wire.itemsize
    if len(message.data) != expected:
        raise BadInputError(
            f"{what}: {len(message.data)} bytes for shape {got} (want {expected})",
            code=errors.CORRUPT_IMAGE,
        )
    # A writable copy in native order: domain code may modify its inputs in place, and
    # frombuffer over the message's bytes is read-only.
    array: npt.NDArray[np.generic] = np.frombuffer(message.data, dtype=wire).reshape(got)
    return array.astype(wire.newbyteorder("="))


def image_to_proto(image: npt.NDArray[np.generic]) -> common_pb2.Image:
    message = common_pb2.Image()
    _fill(message, image, errors.UNSUPPORTED_FORMAT)
    return message


def image_from_proto(message: common_pb2.Image, what: str = "image") -> ImageArray:
    """An H x W x 3 uint8 RGB image (``BadInputError`` ``unsupported_format`` otherwise)."""
    array = _read(message, what, common_pb2.DTYPE_UINT8, 3, errors.UNSUPPORTED_FORMAT, channels=3)
    return array.astype(np.uint8, copy=False)


def mask_to_proto(mask: npt.NDArray[np.generic]) -> common_pb2.Mask:
    message = common_pb2.Mask()
    _fill(message, mask, errors.BAD_MASK)
    return message


def mask_from_proto(
    message: common_pb2.Mask, shape: tuple[int, int] | None = None, what: str = "mask"
) -> MaskArray:
    """An H x W uint8 mask, of ``shape`` when given (``BadInputError`` ``bad_mask``)."""
    array = _read(message, what, common_pb2.DTYPE_UINT8, 2, errors.BAD_MASK, shape=shape)
    return array.astype(np.uint8, copy=False)


def alpha_to_proto(alpha: npt.NDArray[np.generic]) -> common_pb2.Alpha:
    """Any float matte travels as float32: every consumer narrows it to that anyway."""
    message = common_pb2.Alpha()
    if alpha.dtype.kind == "f" and alpha.dtype.itemsize != 4:
        alpha = alpha.astype(np.float32)
    _fill(message, alpha, errors.BAD_MASK)
    return message


def alpha_from_proto(
    message: common_pb2.Alpha, shape: tuple[int, int] | None = None, what: str = "alpha"
) -> AlphaArray:
    """An H x W float32 matte, of ``shape`` when given (``BadInputError`` ``bad_mask``)."""
    array = _read(message, what, common_pb2.DTYPE_FLOAT32, 2, errors.BAD_MASK, shape=shape)
    return array.astype(np.float32, copy=False)


def text_line_to_proto(line: TextLine) -> common_pb2.TextLine:
    return common_pb2.TextLine(
        box=[common_pb2.Point(x=x, y=y) for x, y in line.box],
        text=line.text,
        confidence=line.confidence,
    )


def text_line_from_proto(message: common_pb2.TextLine) -> TextLine:
    return TextLine(
        box=[(p.x, p.y) for p in message.box], text=message.text, confidence=message.confidence
    )


def text_lines_from_proto(messages: Iterable[common_pb2.TextLine]) -> list[TextLine]:
    """The lines a request brings, each checked: a quad of 4 finite points with a confidence
    in [0, 1], else ``BadInputError`` ``bad_text_line`` (not a crash deep in a service)."""
    lines = []
    for i, message in enumerate(messages):
        try:
            line = text_line_from_proto(message)
        except ValidationError as exc:
            raise BadInputError(
                f"line {i}: {exc.errors()[0]['msg']}", code=errors.BAD_TEXT_LINE
            ) from exc
        points = [v for point in line.box for v in point]
        if len(line.box) != 4 or not all(math.isfinite(v) for v in points):
            raise BadInputError(
                f"line {i}: a box is 4 finite (x, y) points, got {line.box}",
                code=errors.BAD_TEXT_LINE,
            )
        lines.append(line)
    return lines


# Clean's erase-mask steps (``EraseMasker`` over gRPC).


def text_lines_to_proto(lines: Iterable[TextLine]) -> list[common_pb2.TextLine]:
    """The lines of a request, in order (``text_lines_from_proto`` checks them)."""
    return [text_line_to_proto(line) for line in lines]


def optional_mask_from_proto(
    message: common_pb2.Mask, present: bool, shape: tuple[int, int], what: str
) -> MaskArray | None:
    """An optional mask field (``present``: ``HasField``) of the image's ``shape``."""
    return mask_from_proto(message, shape, what=what) if present else None


def optional_alpha_from_proto(
    message: common_pb2.Alpha, present: bool, shape: tuple[int, int], what: str = "product_alpha"
) -> AlphaArray | None:
    """An optional matte field (``present``: ``HasField``) of the image's ``shape``."""
    return alpha_from_proto(message, shape, what=what) if present else None


def same_size_image_from_proto(
    message: common_pb2.Image, shape: tuple[int, int], what: str
) -> ImageArray:
    """A second image of a request, which must have the first one's height and width
    (``BadInputError`` ``size_mismatch`` otherwise)."""
    image = image_from_proto(message, what=what)
    if image.shape[:2] != shape:
        raise BadInputError(
            f"{what} is {image.shape[:2]} but the image is {shape}", code=errors.SIZE_MISMATCH
        )
    return image


def box_to_proto(box: tuple[int, int, int, int]) -> common_pb2.Box:
    x0, y0, x1, y1 = box
    return common_pb2.Box(x0=x0, y0=y0, x1=x1, y1=y1)


def box_from_proto(message: common_pb2.Box) -> tuple[int, int, int, int]:
    return (message.x0, message.y0, message.x1, message.y1)


# --- Check's pixel rules (the segmentation service's ``EvaluateRules``) ---


def text_region_to_proto(region: TextRegion) -> segmentation_pb2.TextRegion:
    return segmentation_pb2.TextRegion(
        line=common_pb2.TextLine(
            box=[common_pb2.Point(x=x, y=y) for x, y in region.box],
            text=region.text,
            confidence=region.confidence,
        ),
        kind=str(region.kind),
        action=str(region.action),
        overlay_score=region.overlay_score,
        cues=region.cues,
    )


def text_regions_from_proto(messages: Iterable[segmentation_pb2.TextRegion]) -> list[TextRegion]:
    """The regions a request brings, each checked (a line as ``text_lines_from_proto`` checks
    it; a known kind and action, a score in [0, 1]), else ``BadInputError``
    ``bad_text_line``."""
    messages = list(messages)
    lines = text_lines_from_proto(m.line for m in messages)
    regions = []
    for i, (message, line) in enumerate(zip(messages, lines, strict=True)):
        try:
            region = TextRegion(
                box=line.box,
                text=line.text,
                confidence=line.confidence,
                kind=message.kind,
                action=message.action,
                overlay_score=message.overlay_score,
                cues=dict(message.cues),
            )
        except ValidationError as exc:
            raise BadInputError(
                f"text region {i}: {exc.errors()[0]['msg']}", code=errors.BAD_TEXT_LINE
            ) from exc
        regions.append(region)
    return regions


def rule_result_to_proto(result: RuleResult) -> segmentation_pb2.RuleResult:
    message = segmentation_pb2.RuleResult(
        rule=result.rule, passed=result.passed, message=result.message
    )
    if result.measured is not None:
        message.measured = result.measured
    if result.required is not None:
        message.required = result.required
    return message


def rule_result_from_proto(message: segmentation_pb2.RuleResult) -> RuleResult:
    return RuleResult(
        rule=message.rule,
        passed=message.passed,
        message=message.message,
        measured=message.measured if message.HasField("measured") else None,
        required=message.required if message.HasField("required") else None,
    )


def rfc3339(moment: datetime | None) -> str:
    """A timestamp on the wire (proto string fields): RFC 3339 in UTC to the second,
    ``2026-12-07T18:45:17Z``; empty for none."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

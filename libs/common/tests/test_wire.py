"""Pixels and text lines survive the wire exactly; malformed arrays are bad input."""

from __future__ import annotations

import numpy as np
import pytest

from globalpic.common.v1 import common_pb2
from globalpic_common import errors, wire
from globalpic_common.errors import BadInputError
from globalpic_common.schemas import TextLine


def _through_bytes(message: common_pb2.Image) -> common_pb2.Image:
    return common_pb2.Image.FromString(message.SerializeToString())


def test_image_mask_and_alpha_round_trip_bit_exact() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    mask = np.where(rng.random((7, 5)) > 0.5, 255, 0).astype(np.uint8)
    alpha = rng.random((7, 5), dtype=np.float32)
    alpha[0, 0] = np.nextafter(np.float32(0), np.float32(1))  # the smallest subnormal too

    got_image = wire.image_from_proto(_through_bytes(wire.image_to_proto(image)))
    got_mask = wire.mask_from_proto(common_pb2.Mask.FromString(
        wire.mask_to_proto(mask).SerializeToString()
    ))  # fmt: skip
    got_alpha = wire.alpha_from_proto(common_pb2.Alpha.FromString(
        wire.alpha_to_proto(alpha).SerializeToString()
    ))  # fmt: skip

    assert got_image.dtype == np.uint8 and np.array_equal(got_image, image)
    assert got_mask.dtype == np.uint8 and np.array_equal(got_mask, mask)
    assert got_alpha.dtype == np.float32 and np.array_equal(got_alpha, alpha)
    assert got_image.flags.writeable  # domain code may edit its input in place


def test_non_contiguous_and_big_endian_arrays_are_sent_as_their_values() -> None:
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)[:, ::2]
    alpha = np.linspace(0, 1, 12, dtype=">f4").reshape(3, 4)
    assert np.array_equal(wire.image_from_proto(wire.image_to_proto(image)), image)
    assert np.array_equal(wire.alpha_from_proto(wire.alpha_to_proto(alpha)), alpha)


def test_wider_float_alpha_travels_as_float32() -> None:
    alpha = np.array([[0.25, 1.0 / 3.0]], dtype=np.float64)
    got = wire.alpha_from_proto(wire.alpha_to_proto(alpha))
    assert got.dtype == np.float32 and np.array_equal(got, alpha.astype(np.float32))


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros((4, 4, 3), np.float32), "float32"),
        (np.zeros((4, 4, 4), np.uint8), "(4, 4, 4)"),
        (np.zeros((4, 4), np.uint8), "(4, 4)"),
    ],
)
def test_image_of_wrong_dtype_or_shape_is_bad_input(array: np.ndarray, fragment: str) -> None:
    with pytest.raises(BadInputError) as caught:
        wire.image_from_proto(wire.image_to_proto(array))
    assert caught.value.code == errors.UNSUPPORTED_FORMAT
    assert fragment in caught.value.message


def test_unsendable_dtype_is_refused_before_sending() -> None:
    with pytest.raises(BadInputError) as caught:
        wire.image_to_proto(np.zeros((2, 2, 3), np.int64))
    assert caught.value.code == errors.UNSUPPORTED_FORMAT


def test_byte_count_must_match_the_shape() -> None:
    message = wire.image_to_proto(np.zeros((4, 4, 3), np.uint8))
    message.data = message.data[:-1]
    with pytest.raises(BadInputError) as caught:
        wire.image_from_proto(message)
    assert caught.value.code == errors.CORRUPT_IMAGE


def test_mask_and_alpha_shape_checks_use_bad_mask() -> None:
    with pytest.raises(BadInputError) as caught:
        wire.mask_from_proto(wire.mask_to_proto(np.zeros((3, 4), np.uint8)), shape=(4, 4))
    assert caught.value.code == errors.BAD_MASK
    with pytest.raises(BadInputError) as caught:
        wire.alpha_from_proto(wire.alpha_to_proto(np.zeros((3, 4, 1), np.float32)))
    assert caught.value.code == errors.BAD_MASK
    mask = wire.mask_to_proto(np.zeros((2, 2), np.uint8))
    as_alpha = common_pb2.Alpha(shape=mask.shape, dtype=mask.dtype, data=mask.data)
    with pytest.raises(BadInputError):  # a uint8 mask is not a matte
        wire.alpha_from_proto(as_alpha)


def test_empty_message_is_bad_input_not_a_crash() -> None:
    with pytest.raises(BadInputError):
        wire.image_from_proto(common_pb2.Image())


def test_text_lines_and_boxes_round_trip() -> None:
    line = TextLine(
        box=[(1.5, 2.0), (10.1, 2.0), (10.1, 8.7), (1.5, 8.7)], text="包邮", confidence=0.91
    )
    assert wire.text_line_from_proto(wire.text_line_to_proto(line)) == line
    assert wire.box_from_proto(wire.box_to_proto((1, 2, 30, 40))) == (1, 2, 30, 40)

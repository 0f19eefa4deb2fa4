"""Resize's frame fit as a ``Framer``: ``CanvasFramer`` is ``fit_to_canvas`` plus the white
background rule, the generation service's ``Fit`` / ``EnforceWhite`` give its pixels exactly
(with the server's own canvas backends), errors keep their codes; and the product's
definition moved to ``globalpic_common.product_mask`` (numpy only) finds what OpenCV's
connected components found."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_clients.generation import GenerationClient
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer
from globalpic_common.interfaces import FitResult, Framer
from globalpic_common.product_mask import SPECK_SHARE, product_box, product_parts
from globalpic_generation.canvas import (
    CLASSICAL,
    CanvasBackends,
    CanvasFramer,
    enforce_white_background,
    fit_to_canvas,
)
from globalpic_generation.registry import build_inpainter
from globalpic_generation.remix import Remixer
from globalpic_generation.server import HEALTH_NAME, registrar

Rgb = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]


def _product(h: int = 90, w: int = 120) -> tuple[Rgb, F32]:
    """A textured photo with a soft-edged disc (the product) and a speck of matte noise."""
    rng = np.random.default_rng(3)
    image = np.asarray(cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 2))
    alpha = np.zeros((h, w), np.float32)
    cv2.circle(alpha, (w // 2, h // 2), min(h, w) // 4, 1.0, -1)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 1.5), np.float32)
    alpha[2, 2] = 1.0  # a speck: never the product
    return image, alpha


class _Grey:
    """A generative outpainter standing in for Z-Image: one grey for the new area."""

    name = "grey"

    def load(self) -> None:
        pass

    def outpaint(self, image: Any, known: Any, seed: int) -> Any:
        out = image.copy()
        out[~known] = 77
        return out


GREY = CanvasBackends(outpainter=_Grey())


def _same(a: FitResult, b: FitResult) -> None:
    assert np.array_equal(a.image, b.image)
    assert a.alpha.dtype == b.alpha.dtype and np.array_equal(a.alpha, b.alpha)
    assert a.product_box == b.product_box and a.scale == b.scale
    assert np.array_equal(a.extended, b.extended)


# What resize asks of a framer: (width, height, fill, background, white_background).
ASKS = [
    (300, 300, 0.88, "white", True),  # amazon-like: white frame, white rule
    (96, 160, None, "extend", False),  # a tall story frame from a wide photo
    (200, 120, None, "white", False),  # a cut-out on white, no rule
    (64, 64, 0.5, "extend", False),  # a downscale
]


@pytest.mark.parametrize("ask", ASKS)
def test_canvas_framer_is_fit_to_canvas_then_the_white_rule(
    ask: tuple[int, int, float | None, Any, bool],
) -> None:
    width, height, fill, background, white = ask
    image, alpha = _product()
    got = CanvasFramer(GREY).fit(
        image, alpha, width, height, fill=fill, background=background, white_background=white
    )
    want = fit_to_canvas(
        image, alpha, width, height, fill=fill, background=background, backends=GREY
    )
    if white:
        want = FitResult(
            enforce_white_background(want.image, want.alpha),
            want.alpha,
            want.product_box,
            want.scale,
            want.extended,
        )
    _same(got, want)
    assert isinstance(CanvasFramer(), Framer)
    assert CanvasFramer().backends is CLASSICAL
    assert np.array_equal(
        CanvasFramer().enforce_white(got.image, got.alpha),
        enforce_white_background(got.image, got.alpha),
    )


@pytest.fixture(scope="module")
def client() -> Iterator[GenerationClient]:
    server = ServiceServer(
        "generation",
        registrar(build_inpainter(), Remixer.from_settings(), canvas=GREY),
        port=0,
        host="127.0.0.1",
        health_services=[HEALTH_NAME],
    )
    server.start()
    client = GenerationClient(f"127.0.0.1:{server.port}")
    try:
        server.set_serving()
        client.load()
        yield client
    finally:
        client.close()
        server.stop()


@pytest.mark.parametrize("ask", ASKS)
def test_fit_over_grpc_equals_in_process(
    client: GenerationClient, ask: tuple[int, int, float | None, Any, bool]
) -> None:
    width, height, fill, background, white = ask
    image, alpha = _product()
    here = CanvasFramer(GREY)  # the server's backends: its outpainter fills the new area
    kwargs: dict[str, Any] = {"fill": fill, "background": background, "white_background": white}
    _same(
        client.fit(image, alpha, width, height, **kwargs),
        here.fit(image, alpha, width, height, **kwargs),
    )
    assert isinstance(client, Framer)


def test_no_product_fits_without_a_box_and_enforce_white_equals_in_process(
    client: GenerationClient,
) -> None:
    image, alpha = _product()
    empty = np.zeros_like(alpha)
    remote = client.fit(image, empty, 100, 100, background="white")
    assert remote.product_box is None
    _same(remote, CanvasFramer().fit(image, empty, 100, 100, background="white"))
    assert np.array_equal(
        client.enforce_white(image, alpha), CanvasFramer().enforce_white(image, alpha)
    )


def test_fit_errors_keep_the_in_process_codes(client: GenerationClient) -> None:
    image, alpha = _product()
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: client.fit(image, alpha[:10], 100, 100), errors.BAD_MASK),
        (lambda: client.fit(image.astype(np.float32), alpha, 100, 100), errors.UNSUPPORTED_FORMAT),
        (lambda: client.fit(image, alpha, 10, 100), errors.BAD_SIZE),
        (lambda: client.fit(image, alpha, 100, 100, fill=2.0), errors.BAD_OPTION),
        (lambda: client.fit(image, alpha, 100, 100, background="tiled"), errors.BAD_OPTION),  # type: ignore[arg-type]
        (
            lambda: client.fit(image, np.zeros_like(alpha), 100, 100, white_background=True),
            errors.NO_PRODUCT,
        ),
        (lambda: client.enforce_white(image, np.zeros_like(alpha)), errors.NO_PRODUCT),
        (lambda: client.enforce_white(image, alpha[:, :5]), errors.BAD_MASK),
    ]
    for call, code in cases:
        with pytest.raises(BadInputError) as caught:
            call()
        assert caught.value.code == code, caught.value


# --- the product's definition, moved to globalpic_common.product_mask (numpy only) ---------


def _opencv_parts(mask: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_]:
    """The canvas's former ``product_parts``, on OpenCV's connected components."""
    binary = (np.asarray(mask) > 0).astype(np.uint8)
    if not binary.any():
        return binary > 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    min_area = max(1, SPECK_SHARE * binary.size)
    kept = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]
    if not kept and n > 1:
        kept = [1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))]
    return np.isin(labels, kept)


def _masks() -> Iterator[npt.NDArray[np.bool_]]:
    rng = np.random.default_rng(11)
    for i in range(400):
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        if i % 3 == 0:  # noise of any density: parts of every shape touch diagonally
            yield rng.random((h, w)) < rng.uniform(0.02, 0.7)
        elif i % 3 == 1:  # only specks, many of one size: OpenCV's first of the largest
            mask = np.zeros((h, w), bool)
            for _ in range(int(rng.integers(1, 7))):
                y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
                mask[y : y + 2, x : x + int(rng.integers(1, 3))] = True
            yield mask
        else:  # blobs
            soft = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2.5)
            yield np.asarray(soft) > 0.5
    big = np.zeros((1200, 900), np.float32)
    cv2.circle(big, (450, 600), 300, 1.0, -1)
    yield (big + (rng.random(big.shape) < 0.001)) >= 0.5


def test_product_parts_and_box_equal_the_opencv_definition() -> None:
    for mask in _masks():
        want = _opencv_parts(mask)
        got = product_parts(mask)
        assert got.dtype == np.bool_ and np.array_equal(got, want), mask.shape
        ys, xs = np.nonzero(want)
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        assert product_box(mask) == (box if ys.size else None)
    assert product_box(np.zeros((4, 4), np.uint8)) is None
    assert not product_parts(np.zeros((4, 4), np.uint8)).any()

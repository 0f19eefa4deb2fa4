"""The generation service over gRPC: BuildEraseMask, Inpaint and Remix give the in-process
pixels exactly, and the errors the in-process classes raise keep their codes across the wire."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer
from globalpic_common.interfaces import Inpainter
from globalpic_common.schemas import TextLine
from globalpic_generation.client import GenerationClient
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.registry import build_inpainter
from globalpic_generation.remix import CUSTOM_STYLE, Remixer, RemixResult
from globalpic_generation.server import HEALTH_NAME, registrar

Rgb = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]


def product(h: int = 120, w: int = 160) -> tuple[Rgb, F32]:
    """An orange disc with a soft edge on a green backdrop."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 0.3 * h
    d = np.sqrt((xx - w / 2) ** 2 + (yy - (0.85 * h - r)) ** 2)
    alpha = np.clip((r - d) / 3.0 + 0.5, 0.0, 1.0).astype(np.float32)
    fg = np.array([230, 140, 40], np.float32) + (10 * np.sin(xx / 4))[:, :, None]
    image = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * np.array([40, 160, 60])
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), alpha


@pytest.fixture(scope="module")
def local() -> tuple[Inpainter, Remixer]:
    return build_inpainter(), Remixer.from_settings()


@pytest.fixture(scope="module")
def client(local: tuple[Inpainter, Remixer]) -> Iterator[GenerationClient]:
    inpainter, remixer = local
    server = ServiceServer(
        "generation",
        registrar(inpainter, remixer),
        port=0,
        host="127.0.0.1",
        health_services=[HEALTH_NAME],
    )
    server.start()
    client = GenerationClient(f"127.0.0.1:{server.port}")
    try:
        assert client.health_status() == "NOT_SERVING"
        server.set_serving()
        client.load()
        yield client
    finally:
        client.close()
        server.stop()


def _same(remote: RemixResult, here: RemixResult) -> None:
    assert np.array_equal(remote.image, here.image)
    assert np.array_equal(remote.plate, here.plate)
    assert (remote.style_id, remote.seed, remote.source) == (here.style_id, here.seed, here.source)
    assert set(remote.seconds) == set(here.seconds)


def test_inpaint_equals_in_process(
    client: GenerationClient, local: tuple[Inpainter, Remixer]
) -> None:
    image, _ = product()
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[10:30, 20:90] = 255  # a wide badge
    mask[60:62, 5:40] = 255  # a thin stroke
    remote = client.inpaint(image, mask)
    assert np.array_equal(remote, local[0].inpaint(image, mask))
    assert not np.array_equal(remote, image)
    assert client.name == local[0].name


def test_remix_on_a_style_equals_in_process(
    client: GenerationClient, local: tuple[Inpainter, Remixer]
) -> None:
    image, alpha = product()
    remote = client.remix(image, alpha, style_id="studio-sweep", seed=3)
    _same(remote, local[1].remix(image, alpha, style_id="studio-sweep", seed=3))


def test_remix_on_the_sellers_background_equals_in_process(
    client: GenerationClient, local: tuple[Inpainter, Remixer]
) -> None:
    image, alpha = product()
    backdrop = np.random.default_rng(4).integers(0, 256, (90, 90, 3), dtype=np.uint8)
    remote = client.remix(image, alpha, background=backdrop, seed=1)
    assert remote.style_id == CUSTOM_STYLE
    _same(remote, local[1].remix(image, alpha, background=backdrop, seed=1))


def test_candidates_equal_in_process(
    client: GenerationClient, local: tuple[Inpainter, Remixer]
) -> None:
    image, alpha = product()
    remote = client.candidates(image, alpha, "pastel-gradient", 3, seed=5)
    here = local[1].candidates(image, alpha, "pastel-gradient", 3, seed=5)
    assert [r.seed for r in remote] == [5, 6, 7]
    for got, want in zip(remote, here, strict=True):
        _same(got, want)


def test_errors_keep_the_in_process_codes(client: GenerationClient) -> None:
    image, alpha = product()
    mask = np.zeros((10, 10), np.uint8)
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: client.inpaint(image, mask), errors.BAD_MASK),
        (lambda: client.inpaint(image.astype(np.float32), mask), errors.UNSUPPORTED_FORMAT),
        (lambda: client.remix(image, alpha, style_id="no-such-style"), errors.UNKNOWN_STYLE),
        (lambda: client.remix(image, alpha), errors.BAD_OPTION),  # neither style nor backdrop
        (
            lambda: client.remix(image, alpha, style_id="studio-sweep", background=image),
            errors.BAD_OPTION,
        ),
        (lambda: client.remix(image, alpha, style_id="studio-sweep", seed=-1), errors.BAD_OPTION),
        (lambda: client.candidates(image, alpha, "studio-sweep", 0), errors.BAD_OPTION),
        (
            lambda: client.candidates(image, alpha, "modern-home", 2, backgrounds_dir=Path(".")),
            errors.BAD_OPTION,
        ),
    ]
    for call, code in cases:
        with pytest.raises(BadInputError) as caught:
            call()
        assert caught.value.code == code, caught.value


def _badged() -> tuple[Rgb, list[TextLine]]:
    """The product photo with a white-on-red badge and a dark slogan over the backdrop."""
    image, _ = product(160, 220)
    image[8:40, 8:120] = (210, 30, 30)
    cv2.putText(image, "SALE 50", (14, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    cv2.putText(image, "NEW", (150, 150), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (10, 10, 10), 2)
    lines = [
        TextLine(box=[(12, 14), (110, 14), (110, 36), (12, 36)], text="SALE 50", confidence=0.9),
        TextLine(box=[(148, 134), (196, 134), (196, 154), (148, 154)], text="NEW", confidence=0.9),
    ]
    return image, lines


def test_build_erase_mask_equals_in_process(client: GenerationClient) -> None:
    image, lines = _badged()
    protect = np.zeros(image.shape[:2], np.uint8)
    protect[140:160, 170:220] = 255
    for backings in (True, False):
        for keep in (None, protect):
            remote = client.build_erase_mask(image, lines, protect=keep, backings=backings)
            here = build_erase_mask(image, lines, protect=keep, backings=backings)
            assert remote.dtype == np.uint8 and np.array_equal(remote, here)
            assert remote.any()
            if keep is not None:
                assert not remote[keep > 0].any()
    assert not client.build_erase_mask(image, []).any()


def test_build_erase_mask_rejects_bad_lines_and_protect_with_their_codes(
    client: GenerationClient,
) -> None:
    image, lines = _badged()
    nan = TextLine(box=[(0, 0), (9, 0), (9, float("nan")), (0, 9)], text="x", confidence=0.5)
    with pytest.raises(BadInputError) as caught:
        client.build_erase_mask(image, [*lines, nan])
    assert caught.value.code == errors.BAD_TEXT_LINE
    with pytest.raises(BadInputError) as caught:
        client.build_erase_mask(image, lines, protect=np.zeros((5, 5), np.uint8))
    assert caught.value.code == errors.BAD_MASK

"""The generation service over gRPC: BuildEraseMask, clean's mask steps (EraseFirstPass,
EraseLocate, EraseResidualPass, EraseFinish), Inpaint and Remix give the in-process pixels
exactly, and the errors the in-process classes raise keep their codes across the wire."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from globalpic_clients.generation import GenerationClient
from globalpic_common import errors
from globalpic_common.errors import BadInputError
from globalpic_common.grpc_server import ServiceServer
from globalpic_common.interfaces import Inpainter
from globalpic_common.results import RemixResult
from globalpic_common.schemas import TextLine
from globalpic_generation.clean_mask import CleanMasker
from globalpic_generation.erase_mask import build_erase_mask
from globalpic_generation.registry import build_inpainter
from globalpic_generation.remix import CUSTOM_STYLE, Remixer
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


def test_adjust_equals_in_process_and_keeps_its_codes(client: GenerationClient) -> None:
    """Adjust (the web app's fine-tuning): the generation service's classical math, the same
    pixels as ``globalpic adjust`` in process, its refusals with their codes."""
    from globalpic_generation.adjust import adjust
    from globalpic_generation.canvas import CanvasFramer

    image, alpha = product()
    original = np.full_like(image, 200)
    for values in (
        {"brightness": 0.4, "saturation": -0.3},
        {"detail": 0.6},
        {"strength": 0.25, "original": original, "alpha": alpha},
    ):
        want = adjust(image, **values)  # type: ignore[arg-type]
        assert np.array_equal(client.adjust(image, **values), want), values  # type: ignore[arg-type]
        assert np.array_equal(CanvasFramer().adjust(image, **values), want)  # type: ignore[arg-type]
    for bad in ({"brightness": 1.5}, {"strength": 0.5}):
        with pytest.raises(BadInputError) as info:
            client.adjust(image, **bad)  # type: ignore[arg-type]
        assert info.value.code == errors.BAD_OPTION, bad


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


def _first_pass_cases() -> Iterator[
    tuple[Rgb, list[TextLine], list[bool], F32 | None, dict[str, Any]]
]:
    """The badged photo with each mix of wanted lines, product alpha, keep and add masks."""
    image, lines = _badged()
    _, alpha = product(160, 220)
    keep = np.zeros(image.shape[:2], np.uint8)
    keep[130:160, 140:220] = 255  # covers the "NEW" line: it is protected
    add = np.zeros(image.shape[:2], np.uint8)
    add[100:110, 10:60] = 255
    for wanted in ([True, True], [True, False], [False, False]):
        for product_alpha in (None, alpha):
            yield image, lines, wanted, product_alpha, {}
            yield image, lines, wanted, product_alpha, {"keep": keep, "add": add}


def test_clean_mask_steps_equal_in_process(client: GenerationClient) -> None:
    """EraseFirstPass, EraseLocate, EraseResidualPass and EraseFinish give exactly the masks,
    shares, pixels and matte of ``CleanMasker`` (clean's steps, in the order clean runs them)."""
    here = CleanMasker()
    for image, lines, wanted, alpha, masks in _first_pass_cases():
        remote = client.first_pass(image, lines, wanted, alpha, **masks)
        local = here.first_pass(image, lines, wanted, alpha, **masks)
        assert remote.protected == local.protected
        assert remote.protected == ["keep" in masks and i == 1 for i in range(2)]
        for name in ("mask", "protect", "erased"):
            got, want = getattr(remote, name), getattr(local, name)
            assert got.dtype == np.uint8 and np.array_equal(got, want), name
        if wanted[0]:
            assert remote.mask.any() and remote.erased.any()

        erased_now = np.maximum(local.mask, local.erased)
        assert client.locate(lines, erased_now, local.protect) == here.locate(
            lines, erased_now, local.protect
        )

        # A residual pass: the first line found again, the second seen for the first time.
        kwargs = {"protect": local.protect, "erased": local.erased}
        for newly, residual, kept, newly_kept in (
            (lines[1:], lines[:1], [], []),
            ([], lines[:1], lines[1:], lines[1:]),
        ):
            got_step = client.residual_pass(
                image, newly, residual, kept, alpha, newly_kept=newly_kept, **kwargs
            )
            want_step = here.residual_pass(
                image, newly, residual, kept, alpha, newly_kept=newly_kept, **kwargs
            )
            for name in ("extra", "protect", "erased"):
                assert np.array_equal(getattr(got_step, name), getattr(want_step, name)), name
            assert got_step.extra.any() or not wanted[0]  # a kept line is protected

        rebuilt = np.full_like(image, 127)
        got_image, got_alpha = client.finish(
            image, rebuilt, local.mask, alpha, keep=masks.get("keep")
        )
        want_image, want_alpha = here.finish(
            image, rebuilt, local.mask, alpha, keep=masks.get("keep")
        )
        assert np.array_equal(got_image, want_image)
        if alpha is None:
            assert got_alpha is None and want_alpha is None
        else:
            assert got_alpha is not None and want_alpha is not None
            assert got_alpha.dtype == np.float32 and np.array_equal(got_alpha, want_alpha)
    assert client.locate([], np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)) == []


def test_clean_mask_steps_reject_bad_input_with_their_codes(client: GenerationClient) -> None:
    image, lines = _badged()
    h, w = image.shape[:2]
    zeros, small = np.zeros((h, w), np.uint8), np.zeros((5, 5), np.uint8)
    nan = TextLine(box=[(0, 0), (9, 0), (9, float("nan")), (0, 9)], text="x", confidence=0.5)
    step = {"protect": zeros, "erased": zeros}
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: client.first_pass(image, [*lines, nan], [True] * 3, None), errors.BAD_TEXT_LINE),
        (lambda: client.first_pass(image, lines, [True] * 2, None, keep=small), errors.BAD_MASK),
        (lambda: client.first_pass(image, lines, [True] * 2, None, add=small), errors.BAD_MASK),
        (
            lambda: client.first_pass(image, lines, [True] * 2, np.zeros((5, 5), np.float32)),
            errors.BAD_MASK,
        ),
        (
            lambda: client.first_pass(image.astype(np.float32), lines, [True] * 2, None),
            errors.UNSUPPORTED_FORMAT,
        ),
        (lambda: client.locate(lines, zeros, small), errors.BAD_MASK),
        (lambda: client.locate([nan], zeros, zeros), errors.BAD_TEXT_LINE),
        (
            lambda: client.residual_pass(image, [], [nan], [], None, **step),
            errors.BAD_TEXT_LINE,
        ),
        (
            lambda: client.residual_pass(image, lines, [], [], None, protect=small, erased=zeros),
            errors.BAD_MASK,
        ),
        (lambda: client.finish(image, image[:10], zeros, None), errors.SIZE_MISMATCH),
        (lambda: client.finish(image, image, small, None), errors.BAD_MASK),
        (lambda: client.finish(image, image, zeros, None, keep=small), errors.BAD_MASK),
    ]
    for call, code in cases:
        with pytest.raises(BadInputError) as caught:
            call()
        assert caught.value.code == code, caught.value

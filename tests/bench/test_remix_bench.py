"""Metric code of the remix benchmark, on known cases and on two tiny composites."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.composites import Composite, build_composites
from bench.remix_bench import (
    PSNR_CAP_DB,
    amazon_pass_rate,
    checkerboard_cutout,
    eroded_mask,
    format_summary,
    halo_delta_e,
    ideal_composite,
    main,
    outer_ring,
    plain_paste,
    psnr,
    run_case,
    summarize,
    write_sheet,
)
from globalpic_generation.remix import Remixer

STYLES = ["amazon-white", "modern-home"]


@pytest.fixture(scope="module")
def comps() -> list[Composite]:
    return build_composites(2, seed=0, size=256, photos=False)


def _square(size: int = 40, lo: int = 10, hi: int = 30) -> np.ndarray:
    alpha = np.zeros((size, size), np.float32)
    alpha[lo:hi, lo:hi] = 1.0
    return alpha


def test_eroded_mask_and_outer_ring() -> None:
    alpha = _square()
    inner = eroded_mask(alpha, 3)
    assert inner.sum() == 14 * 14  # 20 px side, 3 px off each edge
    ring = outer_ring(alpha, 3)
    assert not (ring & (alpha >= 0.5)).any()
    ys, xs = np.nonzero(ring)
    assert ys.min() == 7 and ys.max() == 32 and xs.min() == 7 and xs.max() == 32


def test_psnr_known_values() -> None:
    a = np.full((8, 8, 3), 100, np.uint8)
    everywhere = np.ones((8, 8), bool)
    assert psnr(a, a, everywhere) == PSNR_CAP_DB
    assert psnr(a, a + 1, everywhere) == pytest.approx(48.13, abs=0.01)
    assert psnr(a, a, np.zeros((8, 8), bool)) is None


def test_halo_is_zero_for_the_ideal_and_large_for_a_contaminated_edge() -> None:
    h = w = 40
    alpha = np.zeros((h, w), np.float32)
    alpha[10:30, 10:30] = 1.0
    alpha[10:30, 30:33] = [0.6, 0.3, 0.1]  # a soft right edge
    fg = np.zeros((h, w, 3), np.uint8)
    fg[...] = (30, 60, 200)
    old = np.zeros((h, w, 3), np.uint8)
    old[...] = (230, 20, 20)
    comp = Composite("t", "gradient", plain_paste(fg, alpha, old), alpha, fg, old)
    white = np.full((h, w, 3), 255, np.uint8)
    assert halo_delta_e(ideal_composite(comp, white), comp, white) == 0.0
    pasted = plain_paste(comp.image, alpha, white)  # the old red stays in the soft edge
    halo = halo_delta_e(pasted, comp, white)
    assert halo is not None and halo > 1.0  # diluted: most of the ring has alpha 0


def test_plain_paste() -> None:
    img = np.full((2, 2, 3), 200, np.uint8)
    bg = np.zeros((2, 2, 3), np.uint8)
    alpha = np.array([[1.0, 0.5], [0.0, 0.25]], np.float32)
    out = plain_paste(img, alpha, bg)
    assert out[:, :, 0].tolist() == [[200, 100], [0, 50]]


def test_amazon_pass_rate_uses_the_check_rules() -> None:
    size = 1024
    mask = np.zeros((size, size), np.uint8)
    mask[50:980, 100:930] = 255  # fills ~91 % of the frame's height
    white = np.full((size, size, 3), 255, np.uint8)
    grey = np.full((size, size, 3), 230, np.uint8)
    rates = amazon_pass_rate([white, grey], [mask, mask])
    assert rates is not None
    assert rates["white_background"] == 0.5
    assert rates["min_size"] == 1.0 and rates["product_fill"] == 1.0
    assert rates["all"] == 0.5


def test_run_case_on_tiny_composites(comps: list[Composite], tmp_path: Path) -> None:
    remixer = Remixer()
    outputs = [run_case(c, STYLES, "true", c.alpha, c.alpha, remixer) for c in comps]
    rows = [r for o in outputs for r in o.rows]
    assert len(rows) == 2 * len(STYLES) * 2
    for r in rows:
        if r.method == "ours":
            assert r.psnr_product == PSNR_CAP_DB  # true alpha: product pixels untouched
            assert set(r.seconds) == {"cutout", "background", "composite", "total"}
    ours = [r.halo for r in rows if r.method == "ours" and r.halo is not None]
    base = [r.halo for r in rows if r.method == "baseline" and r.halo is not None]
    assert np.mean(ours) < np.mean(base)  # decontamination beats a plain paste
    summary = summarize(rows)
    assert set(summary["true"]) == {"ours", "baseline"}
    assert set(summary["true"]["ours"]["styles"]) == set(STYLES)
    text = format_summary(summary, {"true": {"ours": {"white_background": 1.0}}})
    assert "amazon-white" in text and "all" in text and "white_background 100%" in text
    sheet = tmp_path / "sheet.html"
    write_sheet(sheet, list(zip(comps, outputs, strict=True)), "true")
    thumbs = sorted((tmp_path / "sheet").glob("*.jpg"))
    assert len(thumbs) == len(comps) * (2 + len(STYLES))
    assert thumbs[0].name in sheet.read_text()


def test_checkerboard_cutout_shows_the_board_where_transparent() -> None:
    rgb = np.zeros((24, 24, 3), np.uint8)
    out = checkerboard_cutout(rgb, np.zeros((24, 24), np.float32), cell=12)
    assert out[0, 0, 0] == 204 and out[0, 12, 0] == 153


def test_main_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "remix.json"
    code = main([
        "--n", "1", "--size", "128", "--styles", "amazon-white,studio-sweep",
        "--sources", "true", "--no-photos", "--json-out", str(out),
        "--sheet", str(tmp_path / "sheet.html"),
    ])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["sources"] == ["true"]
    assert len(report["rows"]) == 4
    assert (tmp_path / "sheet.html").is_file()

"""``globalpic resize`` end to end with the tiny random-weight segmenter (production loader).

The tiny model's masks are meaningless, so the product-placement guarantees are tested in
``services/generation/tests/test_canvas.py``; here cut-out PNGs (whose matte is the product)
make the amazon outcome exact, and photos exercise the segmenting path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from globalpic_cli import app
from globalpic_common.schemas import BatchReport, ImageStatus
from tests.conftest import blue_product_photo, render_photo

pytestmark = pytest.mark.usefixtures("tiny_models_env")
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _cutout(path: Path, size: int = 700, half: int = 250) -> Path:
    """A transparent PNG with a shaded blue box product (an `extract` result)."""
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = (30, 30, 30)  # what lies under transparency must not show
    c, half_w = size // 2, int(half * 0.6)
    shade = np.linspace(0.7, 1.0, 2 * half_w)[None, :, None]  # lit from the right
    rgba[c - half : c + half, c - half_w : c + half_w, :3] = np.array([20, 60, 200]) * shade
    rgba[c - half : c + half, c - half_w : c + half_w, 3] = 255
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


# A 240 x 380 product in a 640 photo: scaled to Amazon's 88 % target (0.85 + headroom), well
# within the 4x upscale limit, on pure white, no text: every rule passes. A 40 x 50 one can be
# upscaled at most 4x (canvas.MAX_UPSCALE): 200 px of 1000 fills 20 % < 85 %.
BIG_PRODUCT = (200, 140, 440, 520)
SMALL_PRODUCT = (300, 300, 340, 350)


def test_platform_frame_and_report(tmp_path: Path) -> None:
    src = tmp_path / "shop.jpg"
    Image.fromarray(render_photo(640)).save(src, quality=95)
    dst = tmp_path / "story.png"
    code, out, _ = _run("resize", str(src), "-o", str(dst), "--platform", "tiktok", "--json")
    assert code == 0
    image = BatchReport.model_validate_json(out).images[0]
    assert image.status == ImageStatus.OK and image.platform == "tiktok"
    assert image.output == str(dst) and image.outputs == [str(dst)]
    assert (image.width, image.height) == (1080, 1920)
    assert [(c.rule, c.passed) for c in image.checks] == [("min_size", True)]
    assert {"decode", "segment", "fit", "encode"} <= set(image.seconds)
    with Image.open(dst) as written:
        assert written.size == (1080, 1920)


def test_custom_size_has_no_rules(tmp_path: Path) -> None:
    src = tmp_path / "p.png"
    Image.fromarray(render_photo(600, seed=1)).save(src)
    code, out, _ = _run(
        "resize", str(src), "-o", str(tmp_path / "o"), "--size", "1200x800", "--json"
    )
    assert code == 0
    image = BatchReport.model_validate_json(out).images[0]
    assert image.platform is None and image.checks == []
    with Image.open(tmp_path / "o" / "p.png") as written:
        assert written.size == (1200, 800)


def test_amazon_cutout_is_white_filled_and_passes(tmp_path: Path) -> None:
    src = _cutout(tmp_path / "cut.png")
    dst = tmp_path / "amazon.png"
    code, out, _ = _run("resize", str(src), "-o", str(dst), "--platform", "amazon", "--json")
    assert code == 0
    checks = {c.rule: c for c in BatchReport.model_validate_json(out).images[0].checks}
    assert list(checks) == ["min_size", "white_background", "product_fill", "overlay_text"]
    assert all(c.passed for c in checks.values())
    assert checks["product_fill"].measured is not None and checks["product_fill"].measured >= 0.85
    rgb = _pixels(dst)
    assert rgb.shape == (1000, 1000, 3)
    blue = (rgb[..., 2] > 120) & (rgb[..., 0] < 80)
    ys, xs = np.nonzero(blue)
    assert (ys.max() - ys.min()) / 1000 >= 0.85  # the box fills the frame
    far = np.ones(blue.shape, bool)
    far[ys.min() - 10 : ys.max() + 10, xs.min() - 10 : xs.max() + 10] = False
    assert (rgb[far] == 255).all()
    with Image.open(dst) as written:
        assert written.mode == "RGB"  # a white-background image has no transparency


@pytest.mark.usefixtures("blue_segmenter_env")
@pytest.mark.parametrize(
    ("box", "want_code", "want_fill"),
    [(BIG_PRODUCT, 0, 0.88), (SMALL_PRODUCT, 3, 0.2)],
    ids=["fills-frame-exit-0", "too-small-exit-3"],
)
def test_amazon_photo_segmented_is_checked(
    tmp_path: Path, box: tuple[int, int, int, int], want_code: int, want_fill: float
) -> None:
    src = tmp_path / "photo.jpg"
    Image.fromarray(blue_product_photo(640, box)).save(src, quality=95)
    code, out, err = _run(
        "resize", str(src), "-o", str(tmp_path / "a.png"), "--platform", "amazon", "--json"
    )
    assert code == want_code, err
    image = BatchReport.model_validate_json(out).images[0]
    checks = {c.rule: c for c in image.checks}
    assert list(checks) == ["min_size", "white_background", "product_fill", "overlay_text"]
    failed = [rule for rule, c in checks.items() if not c.passed]
    assert failed == ([] if want_code == 0 else ["product_fill"])
    assert checks["product_fill"].measured == pytest.approx(want_fill, abs=0.01)
    rgb = _pixels(tmp_path / "a.png")
    assert rgb.shape == (1000, 1000, 3)
    assert (rgb[:20] == 255).all() and (rgb[-20:] == 255).all()  # the table is gone: white
    blue = (rgb[..., 2] > 120) & (rgb[..., 0] < 80)
    ys = np.nonzero(blue)[0]  # the products here are taller than wide
    assert (ys.max() - ys.min() + 1) / 1000 == pytest.approx(want_fill, abs=0.02)


def test_tiny_product_breaks_fill_exit_3(tmp_path: Path) -> None:
    src = _cutout(tmp_path / "small.png", size=600, half=20)
    code, _, err = _run("resize", str(src), "-o", str(tmp_path / "s.png"), "--platform", "amazon")
    assert code == 3
    assert "product_fill" in err and "85%" in err
    assert (tmp_path / "s.png").is_file()  # the file is still written


@pytest.mark.parametrize(
    ("args", "code_text"),
    [
        (["--platform", "etsy"], "unknown_platform"),
        (["--platform", "amazon", "--size", "800x800"], "bad_option"),
        ([], "bad_option"),
        (["--size", "10x10"], "bad_size"),
        (["--size", "wide"], "bad_size"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], code_text: str) -> None:
    src = tmp_path / "p.png"
    Image.fromarray(render_photo(600, seed=3)).save(src)
    code, _, err = _run("resize", str(src), "-o", str(tmp_path / "o.png"), *args)
    assert code == 2
    assert code_text in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


def test_bad_file_in_batch_keeps_going(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    Image.fromarray(render_photo(600, seed=4)).save(good)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    out_dir = tmp_path / "out"
    code, out, err = _run(
        "resize", str(good), str(broken), "-o", str(out_dir), "--size", "800x800", "--json"
    )
    assert code == 2
    statuses = [img.status for img in BatchReport.model_validate_json(out).images]
    assert statuses == [ImageStatus.OK, ImageStatus.BAD_INPUT]
    assert [p.name for p in out_dir.iterdir()] == ["good.png"]
    assert "broken.jpg" in err and "Traceback" not in err

"""``globalpic extract / remix / styles / localize`` end to end, tiny random-weight segmenter
loaded through the production path (its masks are meaningless: product-exactness is checked
on RGBA cut-outs whose matte is known, matte quality in the segmentation service's tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from globalpic_cli import app
from globalpic_cli.embedded import localizer_from_settings
from globalpic_common.schemas import BatchReport, ImageStatus, Op, ProgressStage
from globalpic_common.styles import STYLES
from globalpic_orchestrator.pipeline.localize import LocalizeOptions
from tests.conftest import add_badge, blue_product_photo, render_photo
from tests.test_cli_resize import BIG_PRODUCT, SMALL_PRODUCT

pytestmark = pytest.mark.usefixtures("tiny_models_env")
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _photo(path: Path) -> Path:
    Image.fromarray(add_badge(render_photo(640), "包邮")).save(path, quality=95)
    return path


def _cutout(path: Path, size: int = 640) -> tuple[Path, np.ndarray]:
    """An RGBA cut-out (an `extract` result): a shaded box with a soft left edge."""
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = (200, 30, 30)  # the old background under transparency: must not show
    rgba[150:500, 200:450, :3] = (20, 60, 200)
    rgba[150:500, 200:450, 3] = 255
    rgba[150:500, 198:200, 3] = 128  # a soft edge
    Image.fromarray(rgba, "RGBA").save(path)
    return path, rgba


def test_styles_lists_the_catalog() -> None:
    code, out, _ = _run("styles", "--json")
    assert code == 0
    ids = [s["id"] for s in json.loads(out)]
    assert len(ids) >= 12 and ids == [s.id for s in STYLES]
    assert {"amazon-white", "minimal-grey", "modern-home", "tiktok-vivid"} <= set(ids)
    code, out, _ = _run("styles")
    assert code == 0 and "amazon-white" in out


def test_extract_writes_rgba_of_the_input_size(tmp_path: Path) -> None:
    src = _photo(tmp_path / "shop.jpg")
    code, out, _ = _run("extract", str(src), "-o", str(tmp_path / "cut.png"), "--json")
    assert code == 0
    report = BatchReport.model_validate_json(out)
    assert report.images[0].products is not None
    with Image.open(tmp_path / "cut.png") as img:
        assert img.mode == "RGBA" and img.size == (640, 640)


def test_extract_refuses_jpeg(tmp_path: Path) -> None:
    src = _photo(tmp_path / "shop.jpg")
    code, _, err = _run("extract", str(src), "-o", str(tmp_path / "cut.jpg"))
    assert code == 2 and "bad_option" in err


def test_remix_keeps_product_pixels_and_whitens_amazon(tmp_path: Path) -> None:
    src, rgba = _cutout(tmp_path / "cut.png")
    dst = tmp_path / "white.png"
    code, out, _ = _run("remix", str(src), "-o", str(dst), "--style", "amazon-white", "--json")
    assert code == 0
    assert BatchReport.model_validate_json(out).images[0].style == "amazon-white"
    result = np.asarray(Image.open(dst).convert("RGB"))
    product = rgba[..., 3] == 255
    assert np.array_equal(result[product], rgba[..., :3][product])
    assert (result[:100] == 255).all()  # far above the product: pure white
    # no halo: the red under the soft edge does not bleed onto the white
    assert result[300, 190:198, 0].astype(int).max() - result[300, 190:198, 1].min() < 30


def test_remix_candidates_are_distinct_and_named(tmp_path: Path) -> None:
    src, _ = _cutout(tmp_path / "cut.png")
    code, out, _ = _run(
        "remix", str(src), "-o", str(tmp_path), "--style", "modern-home", "--candidates", "3",
        "--json",
    )  # fmt: skip
    assert code == 0
    names = [Path(p).name for p in BatchReport.model_validate_json(out).images[0].outputs]
    assert names == ["cut_1.png", "cut_2.png", "cut_3.png"]
    images = [np.asarray(Image.open(tmp_path / n).convert("RGB")).astype(int) for n in names]
    assert np.abs(images[0] - images[1]).mean() > 2 and np.abs(images[1] - images[2]).mean() > 2


def test_remix_own_background(tmp_path: Path) -> None:
    src, _ = _cutout(tmp_path / "cut.png")
    bg = tmp_path / "bg.jpg"
    Image.fromarray(render_photo(800, seed=3)).save(bg)
    code, out, _ = _run(
        "remix", str(src), "-o", str(tmp_path / "o.png"), "--background", str(bg), "--json"
    )
    assert code == 0 and (tmp_path / "o.png").is_file()
    assert BatchReport.model_validate_json(out).images[0].style == "custom"


@pytest.mark.parametrize(
    ("args", "code_word"),
    [
        (["--style", "no-such-style"], "unknown_style"),
        (["--style", "amazon-white", "--background", "x.jpg"], "bad_option"),
        ([], "bad_option"),
        (["--style", "amazon-white", "--candidates", "2"], "bad_option"),  # -o is a file
    ],
)
def test_remix_bad_options_exit_2(tmp_path: Path, args: list[str], code_word: str) -> None:
    src, _ = _cutout(tmp_path / "cut.png")
    code, _, err = _run("remix", str(src), "-o", str(tmp_path / "o.png"), *args)
    assert code == 2 and code_word in err


def test_localize_all_ops_with_steps(tmp_path: Path) -> None:
    src = _photo(tmp_path / "shop.jpg")
    out_dir = tmp_path / "out"
    code, out, _ = _run(
        "localize", str(src), "-o", str(out_dir), "--style", "minimal-grey",
        "--size", "800x1000", "--keep-steps", "--json",
    )  # fmt: skip
    assert code == 0
    image = BatchReport.model_validate_json(out).images[0]
    assert image.status == ImageStatus.OK and image.output == str(out_dir / "shop.png")
    with Image.open(out_dir / "shop.png") as final:
        assert final.size == (800, 1000) and final.mode == "RGB"
    for op in ("clean", "extract", "remix", "resize"):
        assert (out_dir / "shop" / f"{op}.png").is_file(), op
    with Image.open(out_dir / "shop" / "extract.png") as cut:
        assert cut.mode == "RGBA"
    assert any("包" in t.text for t in image.texts)


@pytest.mark.usefixtures("blue_segmenter_env")
@pytest.mark.parametrize(
    ("box", "want_code", "want_fill"),
    [(BIG_PRODUCT, 0, 0.88), (SMALL_PRODUCT, 3, 0.2)],
    ids=["fills-frame-exit-0", "too-small-exit-3"],
)
def test_localize_amazon_exit_code_follows_the_checks(
    tmp_path: Path, box: tuple[int, int, int, int], want_code: int, want_fill: float
) -> None:
    """A product that can fill Amazon's frame passes every rule (exit 0); one that cannot be
    upscaled enough (4x at most) breaks product_fill alone (exit 3): known before the run."""
    src = tmp_path / "shop.jpg"
    Image.fromarray(blue_product_photo(640, box)).save(src, quality=95)
    code, out, err = _run(
        "localize", str(src), "-o", str(tmp_path / "o"), "--ops", "extract,remix,resize",
        "--style", "amazon-white", "--platform", "amazon", "--json",
    )  # fmt: skip
    assert code == want_code, err
    image = BatchReport.model_validate_json(out).images[0]
    assert image.platform == "amazon"
    checks = {c.rule: c for c in image.checks}
    assert set(checks) >= {"min_size", "white_background", "product_fill"}
    failed = [rule for rule, c in checks.items() if not c.passed]
    assert failed == ([] if want_code == 0 else ["product_fill"])
    assert checks["product_fill"].measured == pytest.approx(want_fill, abs=0.01)
    with Image.open(tmp_path / "o" / "shop.png") as final:
        assert final.size == (1000, 1000)


@pytest.mark.usefixtures("blue_segmenter_env")
def test_localize_json_lists_the_objects_extract_chose(tmp_path: Path) -> None:
    """The Amazon-bound cut-out says which object it took as the product, and why."""
    src = tmp_path / "shop.jpg"
    Image.fromarray(blue_product_photo(640, BIG_PRODUCT)).save(src, quality=95)
    code, out, err = _run(
        "localize", str(src), "-o", str(tmp_path / "o"), "--ops", "extract", "--json"
    )
    assert code == 0, err
    objects = BatchReport.model_validate_json(out).images[0].objects
    kept = [o for o in objects if o.kept]
    assert len(kept) == 1 and kept[0].cues
    x0, y0, x1, y1 = BIG_PRODUCT
    bx0, by0, bx1, by1 = kept[0].box
    assert abs(bx0 - x0) <= 8 and abs(by0 - y0) <= 8 and abs(bx1 - x1) <= 8 and abs(by1 - y1) <= 8


def test_localize_extract_only_is_a_cutout(tmp_path: Path) -> None:
    src = _photo(tmp_path / "shop.jpg")
    code, _, _ = _run("localize", str(src), "-o", str(tmp_path), "--ops", "extract")
    assert code == 0
    with Image.open(tmp_path / "shop.png") as cut:
        assert cut.mode == "RGBA"


@pytest.mark.parametrize(
    "args",
    [
        ["--ops", "clean,paint"],
        ["--ops", "resize"],  # no frame
        ["--ops", "remix"],  # no style
        ["--ops", "clean", "--style", "minimal-grey"],
        ["--ops", "clean", "--platform", "amazon"],
    ],
)
def test_localize_bad_options_exit_2(tmp_path: Path, args: list[str]) -> None:
    src = _photo(tmp_path / "shop.jpg")
    code, _, err = _run("localize", str(src), "-o", str(tmp_path / "o"), *args)
    assert code == 2 and "bad_option" in err


class CountingSegmenter:
    """The real (tiny) segmenter, counting its calls: the mask must be computed once."""

    def __init__(self, inner: object) -> None:
        self.inner, self.calls, self.name = inner, 0, "counting"

    def load(self) -> None:
        self.inner.load()  # type: ignore[attr-defined]

    def segment(self, image: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.inner.segment(image)  # type: ignore[attr-defined,no-any-return]


def test_localizer_segments_once_and_reports_the_seed_stages() -> None:
    from globalpic_orchestrator.pipeline.frame import frame_for
    from globalpic_segmentation.extract import Extractor

    localizer = localizer_from_settings()
    counting = CountingSegmenter(localizer.cleaner.segmenter)
    localizer.cleaner.segmenter = counting
    localizer.extractor = Extractor(counting)
    stages: list[ProgressStage] = []
    options = LocalizeOptions(
        ops=(Op.CLEAN, Op.EXTRACT, Op.REMIX, Op.RESIZE),
        style="minimal-beige",
        candidates=2,
        frame=frame_for(None, "600x600"),
    )
    result = localizer.run(add_badge(render_photo(640)), options, stages.append)
    assert counting.calls == 1
    assert stages == list(ProgressStage)
    assert len(result.finals) == 2 and result.finals[0].shape == (600, 600, 3)

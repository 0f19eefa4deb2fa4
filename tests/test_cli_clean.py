"""``globalpic clean`` end to end: real OCR models (shipped in the rapidocr wheel), the real
classifier and eraser, and the tiny random-weight segmenter loaded through the production path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from globalpic_cli import app
from globalpic_common.schemas import BatchReport, ImageStatus, TextAction
from globalpic_ocr.detector import RapidOcrDetector
from tests.conftest import add_badge, render_photo

pytestmark = pytest.mark.usefixtures("tiny_models_env")
runner = CliRunner()


def _write(path: Path, arr: np.ndarray, **kw: object) -> Path:
    Image.fromarray(arr).save(path, **kw)
    return path


@pytest.fixture(scope="module")
def detector() -> RapidOcrDetector:
    return RapidOcrDetector()


def _texts(detector: RapidOcrDetector, path: Path) -> str:
    rgb = np.asarray(Image.open(path).convert("RGB"))
    return "".join(line.text for line in detector.detect(rgb))


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_erases_badge_writes_file_and_json(tmp_path: Path, detector: RapidOcrDetector) -> None:
    photo = render_photo()
    src = _write(tmp_path / "shop.jpg", add_badge(photo, "包邮"), quality=95)
    assert "包邮" in _texts(detector, src)
    dst = tmp_path / "clean.png"
    code, out, _ = _run("clean", str(src), "-o", str(dst), "--text", "all", "--json")
    assert code == 0
    report = BatchReport.model_validate_json(out)
    image = report.images[0]
    assert image.status == ImageStatus.OK and image.output == str(dst)
    assert any(t.action == TextAction.ERASED and "包" in t.text for t in image.texts)
    assert {"decode", "ocr", "segment", "mask", "inpaint", "encode"} <= set(image.seconds)
    assert "包" not in _texts(detector, dst) and "邮" not in _texts(detector, dst)
    # The badge's red backing is gone too, not just the glyphs.
    result = np.asarray(Image.open(dst).convert("RGB")).astype(int)
    badge_area = result[40:110, 40:150]
    redness = badge_area[..., 0] - badge_area[..., 1]
    assert float(np.mean(redness > 120)) < 0.02
    # Far from the badge, the pixels are the input's (up to JPEG decode of the same file).
    original = np.asarray(Image.open(src).convert("RGB")).astype(int)
    assert np.array_equal(result[300:, 300:], original[300:, 300:])


def test_batch_with_bad_files_keeps_going(tmp_path: Path) -> None:
    a = tmp_path / "d1"
    b = tmp_path / "d2"
    a.mkdir()
    b.mkdir()
    photo = add_badge(render_photo(seed=1), "热卖")
    _write(a / "item.jpg", photo, quality=92)
    _write(b / "item.png", photo)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    _write(tmp_path / "tiny.png", photo[:300, :300])
    out_dir = tmp_path / "out"
    code, out, err = _run(
        "clean",
        str(a / "item.jpg"),
        str(b / "item.png"),
        str(tmp_path / "broken.jpg"),
        str(tmp_path / "tiny.png"),
        "-o",
        str(out_dir),
        "--json",
    )
    assert code == 2
    report = json.loads(out)
    statuses = [img["status"] for img in report["images"]]
    assert statuses == ["ok", "ok", "bad_input", "bad_input"]
    codes = [img["error"]["code"] for img in report["images"][2:]]
    assert codes[0] in ("corrupt_image", "unsupported_format") and codes[1] == "image_too_small"
    assert sorted(p.name for p in out_dir.iterdir()) == ["item-2.png", "item.png"]
    # One clear line per bad file, no traceback.
    assert "broken.jpg" in err and "tiny.png" in err and "Traceback" not in err


def test_keep_mask_protects_and_mask_adds(tmp_path: Path) -> None:
    photo = add_badge(render_photo(seed=2), "特价")
    src = _write(tmp_path / "p.png", photo)
    keep = np.zeros(photo.shape[:2], np.uint8)
    keep[:200, :400] = 255  # the whole badge
    keep_path = _write(tmp_path / "keep.png", keep)
    out1 = tmp_path / "kept.png"
    code, out, _ = _run(
        "clean", str(src), "-o", str(out1), "--text", "all", "--keep-mask", str(keep_path), "--json"
    )
    assert code == 0
    assert np.array_equal(
        np.asarray(Image.open(out1).convert("RGB"))[:200, :400], photo[:200, :400]
    )
    assert all(
        t.action == TextAction.KEPT for t in BatchReport.model_validate_json(out).images[0].texts
    )

    add = np.zeros(photo.shape[:2], np.uint8)
    add[400:460, 80:160] = 255  # a user brush stroke on plain table
    painted = photo.copy()
    painted[410:450, 90:150] = (0, 200, 0)  # something to remove there
    src2 = _write(tmp_path / "q.png", painted)
    masks_dir = tmp_path / "masks"
    out2 = tmp_path / "added.png"
    code, _, _ = _run(
        "clean",
        str(src2),
        "-o",
        str(out2),
        "--mask",
        str(_write(tmp_path / "m.png", add)),
        "--masks",
        str(masks_dir),
    )
    assert code == 0
    res = np.asarray(Image.open(out2).convert("RGB")).astype(int)
    green = res[410:450, 90:150]
    assert float(np.mean((green[..., 1] - green[..., 0]) > 100)) < 0.02
    erase_mask = np.asarray(Image.open(masks_dir / "added.png"))
    assert erase_mask[430, 120] == 255


def test_output_format_and_option_errors(tmp_path: Path) -> None:
    src = _write(tmp_path / "p.png", render_photo(seed=3))
    code, _, _ = _run("clean", str(src), "-o", str(tmp_path / "o"), "--format", "jpg")
    assert code == 0
    with Image.open(tmp_path / "o" / "p.jpg") as img:
        assert img.format == "JPEG"
    code, _, err = _run("clean", str(src), str(src), "-o", str(tmp_path / "one.png"))
    assert code == 2 and "bad_option" in err
    code, _, err = _run("clean", str(src), "-o", str(tmp_path / "x.png"), "--text", "some")
    assert code == 2
    code, _, err = _run("clean", str(src), "-o", str(tmp_path / "x.png"), "--mask", "nope.png")
    assert code == 2 and "file_not_found" in err
    # Writing next to the input with the same name and format would destroy the original.
    before = src.read_bytes()
    code, _, err = _run("clean", str(src), "-o", str(tmp_path))
    assert code == 2 and "overwrite" in err and src.read_bytes() == before


def test_console_script_missing_model_exits_1(tmp_path: Path) -> None:
    src = _write(tmp_path / "p.png", render_photo(seed=4))
    out_dir = tmp_path / "out"
    env = {"GLOBALPIC_SEGMENTATION__MODEL_PATH": str(tmp_path / "missing.onnx"), "PATH": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "globalpic_cli", "clean", str(src), "-o", str(out_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "model_unavailable" in proc.stderr and "Traceback" not in proc.stderr
    assert not out_dir.exists()  # failed before any work: nothing half-written

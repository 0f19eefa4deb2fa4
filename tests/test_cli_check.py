"""``globalpic check``: one line per broken rule, a ✓ per passing image, exit 3 on a break."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from globalpic_cli import app
from globalpic_common.schemas import BatchReport, ImageStatus

pytestmark = pytest.mark.usefixtures("tiny_models_env")
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _disc(path: Path, size: int = 1000, bg: int = 255) -> Path:
    img = np.full((size, size, 3), bg, np.uint8)
    cv2.circle(img, (size // 2, size // 2), int(size * 0.3), (40, 60, 90), -1)
    Image.fromarray(img).save(path)
    return path


def test_grey_background_breaks_amazon_exit_3(tmp_path: Path) -> None:
    src = _disc(tmp_path / "grey.png", bg=200)
    code, out, _ = _run("check", str(src), "--platform", "amazon")
    assert code == 3
    broken = [line for line in out.splitlines() if line.startswith("✗")]
    assert any("white_background" in line and "grey.png" in line for line in broken)
    assert not any(line.startswith("✓") for line in out.splitlines())


def test_passing_image_gets_a_tick_and_exit_0(tmp_path: Path) -> None:
    src = _disc(tmp_path / "fine.png", size=800)
    code, out, _ = _run("check", str(src), "--platform", "ebay")
    assert code == 0
    assert out.strip() == f"✓ {src}: meets the eBay listing photo rules"


def test_json_report_and_too_small(tmp_path: Path) -> None:
    small = _disc(tmp_path / "small.png", size=600)
    big = _disc(tmp_path / "big.png", size=1400)
    code, out, _ = _run("check", str(small), str(big), "--platform", "tiktok", "--json")
    assert code == 3
    report = BatchReport.model_validate_json(out)
    assert report.op == "check" and [img.platform for img in report.images] == ["tiktok"] * 2
    small_rules = {c.rule: c for c in report.images[0].checks}
    assert not small_rules["min_size"].passed and small_rules["min_size"].measured == 600
    assert all(c.passed for c in report.images[1].checks)
    assert report.images[0].output is None  # check writes nothing


def test_bad_input_exit_2_and_unknown_platform(tmp_path: Path) -> None:
    good = _disc(tmp_path / "good.png", size=800)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    code, out, err = _run("check", str(good), str(broken), "--platform", "ebay")
    assert code == 2
    assert f"✓ {good}" in out
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "broken.png" in errors[0] and "Traceback" not in err
    code, _, err = _run("check", str(good), "--platform", "wish")
    assert code == 2 and "unknown_platform" in err and "amazon" in err
    report = BatchReport.model_validate_json(
        _run("check", str(broken), "--platform", "ebay", "--json")[1]
    )
    assert report.images[0].status == ImageStatus.BAD_INPUT

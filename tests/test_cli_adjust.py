"""``globalpic adjust``: the controls reach the image; --original lookup; option errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from globalpic_cli import app
from globalpic_common.schemas import BatchReport, ImageStatus
from tests.conftest import render_photo

pytestmark = pytest.mark.usefixtures("tiny_models_env")
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def test_brightness_and_json(tmp_path: Path) -> None:
    src = tmp_path / "p.png"
    Image.fromarray(render_photo(600)).save(src)
    dst = tmp_path / "bright.png"
    code, out, _ = _run("adjust", str(src), "-o", str(dst), "--brightness", "0.4", "--json")
    assert code == 0
    image = BatchReport.model_validate_json(out).images[0]
    assert image.status == ImageStatus.OK and image.outputs == [str(dst)]
    assert {"decode", "adjust", "encode"} <= set(image.seconds)
    assert _pixels(dst).mean() > _pixels(src).mean() + 10


def test_strength_blends_toward_original_from_directory(tmp_path: Path) -> None:
    # A remix as a cut-out PNG: its matte marks the product, which is never blended.
    size = 600
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[...] = (200, 200, 200, 0)
    rgba[200:400, 200:400] = (10, 220, 10, 255)
    remix = tmp_path / "item.png"
    Image.fromarray(rgba, "RGBA").save(remix)
    originals = tmp_path / "orig"
    originals.mkdir()
    Image.fromarray(np.full((size, size, 3), 40, np.uint8)).save(originals / "item.jpg")
    dst = tmp_path / "out.png"
    code, _, _ = _run(
        "adjust", str(remix), "-o", str(dst), "--strength", "0", "--original", str(originals)
    )
    assert code == 0
    with Image.open(dst) as img:
        out = np.asarray(img)
    assert out.shape == (size, size, 4)  # the cut-out keeps its matte
    assert np.abs(out[:150, :, :3].astype(int) - 40).max() <= 1
    assert (out[220:380, 220:380, :3] == (10, 220, 10)).all()


def test_missing_original_for_a_stem_is_bad_input(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    Image.fromarray(render_photo(600, seed=1)).save(src)
    empty = tmp_path / "none"
    empty.mkdir()
    code, _, err = _run(
        "adjust",
        str(src),
        "-o",
        str(tmp_path / "o.png"),
        "--strength",
        "0.5",
        "--original",
        str(empty),
    )
    assert code == 2 and "file_not_found" in err and "a.*" in err


@pytest.mark.parametrize(
    ("args", "code_text"),
    [
        (["--strength", "0.5"], "bad_option"),
        (["--brightness", "2"], "bad_option"),
        (["--detail", "-1.5"], "bad_option"),
        (["--strength", "0.5", "--original", "missing.jpg"], "file_not_found"),
    ],
)
def test_option_errors_exit_2_with_one_line(
    tmp_path: Path, args: list[str], code_text: str
) -> None:
    src = tmp_path / "p.png"
    Image.fromarray(render_photo(600, seed=2)).save(src)
    code, _, err = _run("adjust", str(src), "-o", str(tmp_path / "o.png"), *args)
    assert code == 2 and code_text in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()

"""``bench.localize_bench`` end to end on three small photos whose Amazon outcome is known in
advance: the production loader runs a segmenter that finds saturated blue exactly
(``build_blue_segmenter``), two blue products can fill the frame and one is too small to be
upscaled enough (4x at most), so the pass rate must be exactly 2/3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bench import localize_bench
from tests.conftest import blue_product_photo

pytestmark = pytest.mark.usefixtures("tiny_models_env")

# (name, product box in a 512 px photo): x0, y0, x1, y1
PHOTOS = [
    ("tall", (160, 110, 350, 420)),  # 190 x 310: fills 88 % at 2.8x
    ("wide", (90, 180, 430, 330)),  # 340 x 150: fills 88 % at 2.6x
    ("tiny", (240, 240, 272, 280)),  # 32 x 40: at most 4x -> 160 px = 16 % < 85 %
]


@pytest.mark.usefixtures("blue_segmenter_env")
def test_runs_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fixed_images(n: int, size: int, seed: int, photos: int) -> Iterator[tuple[str, np.ndarray]]:
        assert (n, size, photos) == (3, 512, 0)
        for name, box in PHOTOS:
            yield name, blue_product_photo(size, box)

    monkeypatch.setattr(localize_bench, "bench_images", fixed_images)
    out = tmp_path / "localize.json"
    code = localize_bench.main(
        ["--n", "3", "--photos", "0", "--size", "512", "--platform", "amazon",
         "--json-out", str(out)]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    amazon = report["amazon"]
    assert (amazon["images"], amazon["passed"]) == (3, 2)
    assert amazon["pass_rate"] == pytest.approx(2 / 3)
    assert amazon["failures"] == {"product_fill": 1}
    assert report["localize"]["images"] == 3 and report["localize"]["seconds_mean"] > 0
    assert {"clean.ocr", "resize"} <= set(report["localize"]["stages_mean"])
    printed = capsys.readouterr().out
    lines = {line.split()[1]: line for line in printed.splitlines() if line.startswith("amazon ")}
    assert "all rules pass" in lines["tall"] and "all rules pass" in lines["wide"]
    assert "product_fill" in lines["tiny"]
    assert "resize amazon -> check: 2/3 pass (67% ✗" in printed
    assert "localize clean+extract+remix+resize" in printed

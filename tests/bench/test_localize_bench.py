"""``bench.localize_bench`` end to end on two small composites with the tiny segmenter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import localize_bench

pytestmark = pytest.mark.usefixtures("tiny_models_env")


def test_runs_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "localize.json"
    code = localize_bench.main(
        ["--n", "2", "--photos", "0", "--size", "512", "--platform", "amazon",
         "--json-out", str(out)]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["amazon"]["images"] == 2
    assert 0.0 <= report["amazon"]["pass_rate"] <= 1.0
    assert report["localize"]["images"] == 2 and report["localize"]["seconds_mean"] > 0
    assert {"clean.ocr", "resize"} <= set(report["localize"]["stages_mean"])
    printed = capsys.readouterr().out
    assert "resize amazon -> check" in printed and "localize clean+extract+remix+resize" in printed

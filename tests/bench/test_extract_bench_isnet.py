"""The extract benchmark's IS-Net methods and its held-out (test) split, on tiny models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.composites import build_composites
from bench.extract_bench import (
    BASELINE,
    ISNET,
    TEST_TARGETS,
    BenchCase,
    format_summary,
    meets,
    method_label,
    parse_methods,
    run,
    split_method,
)
from globalpic_segmentation.extract_settings import RefineMethod
from globalpic_segmentation.isnet import IsNetSegmenter
from globalpic_segmentation.settings import SegmentationSettings
from globalpic_segmentation.u2net import U2NetSegmenter
from tests.support.tiny_model import build_tiny_isnet


def test_parse_isnet_methods() -> None:
    methods, baseline = parse_methods("isnet-all")
    assert not baseline
    assert methods == [ISNET, *(f"isnet+{m.value}" for m in RefineMethod)]
    assert parse_methods("isnet+grabcut-matting-no-zoom,baseline") == (
        ["isnet+grabcut-matting-no-zoom"],
        True,
    )
    with pytest.raises(SystemExit):
        parse_methods("isnet+magic")
    assert split_method(BASELINE) == ("u2netp", None)
    assert split_method("isnet+matting") == ("isnet", "matting")
    assert method_label("isnet+grabcut-matting").endswith(" *")


def test_test_split_targets_are_issue_12s() -> None:
    assert meets("iou_mean", 0.985, TEST_TARGETS) is True
    assert meets("iou_p10", 0.96, TEST_TARGETS) is False
    assert meets("seconds", 2.9, TEST_TARGETS) is True
    assert "0.980 ✗" in format_summary(
        {
            "m": {
                "iou_mean": 0.98,
                "iou_p10": 1,
                "boundary_f": 1,
                "mae": 0,
                "seconds": 1,
                "stages": {},
            }
        },
        TEST_TARGETS,
    )


def test_bench_runs_isnet_methods_on_both_kinds_of_case(
    tmp_path: Path, tiny_models_env: Path
) -> None:
    composites = build_composites(1, seed=0, size=128, photos=False)
    truth = np.zeros((128, 128), np.float32)
    truth[30:90, 40:100] = 1.0
    heldout = BenchCase("heldout-00", "heldout", composites[0].image, truth)
    isnet = IsNetSegmenter(
        SegmentationSettings(isnet_path=build_tiny_isnet(tmp_path / "isnet.onnx", side=64))
    )
    u2netp = U2NetSegmenter(SegmentationSettings())  # the tiny model, via the environment
    methods = [ISNET, "isnet+none-no-zoom", "isnet+grabcut-matting"]
    rows, report = run([*composites, heldout], u2netp, methods, True, False, isnet=isnet)
    assert len(rows) == 2 * 4
    assert set(report["summary"]) == {
        BASELINE,
        ISNET,
        "isnet+none-no-zoom",
        "isnet+grabcut-matting *",
    }
    for row in rows:
        assert 0.0 <= row.iou <= 1.0 and 0.0 <= row.boundary_f <= 1.0
        assert "segment" in row.stages
    assert set(report["by_kind"]) == {composites[0].kind, "heldout"}

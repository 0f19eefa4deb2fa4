from __future__ import annotations

from pathlib import Path

import pytest

from globalpic_common.errors import BadInputError
from globalpic_common.outputs import plan_outputs, plan_variant_outputs, unique_names


def test_colliding_stems_get_suffixes() -> None:
    assert unique_names(["a", "b", "a", "a"], "png") == ["a.png", "b.png", "a-2.png", "a-3.png"]


def test_single_input_to_file_takes_its_format(tmp_path: Path) -> None:
    paths, fmt = plan_outputs([Path("x/in.jpg")], tmp_path / "res.webp", None)
    assert paths == [tmp_path / "res.webp"] and fmt == "webp"


def test_single_input_to_directory(tmp_path: Path) -> None:
    paths, fmt = plan_outputs([Path("x/in.jpg")], tmp_path / "outdir", "jpg")
    assert paths == [tmp_path / "outdir" / "in.jpg"] and fmt == "jpg"


def test_several_inputs_need_a_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInputError):
        plan_outputs([Path("a.jpg"), Path("b.jpg")], tmp_path / "one.png", None)
    paths, fmt = plan_outputs([Path("d1/a.jpg"), Path("d2/a.png")], tmp_path, None)
    assert [p.name for p in paths] == ["a.png", "a-2.png"] and fmt == "png"


def test_format_must_agree_with_file_suffix(tmp_path: Path) -> None:
    with pytest.raises(BadInputError):
        plan_outputs([Path("a.jpg")], tmp_path / "o.png", "jpg")


def test_never_overwrites_an_input(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"x")
    with pytest.raises(BadInputError, match="overwrite"):
        plan_outputs([src], tmp_path, None)
    with pytest.raises(BadInputError, match="overwrite"):
        plan_outputs([src], src, None)
    paths, _ = plan_outputs([src], tmp_path, "jpg")
    assert paths == [tmp_path / "a.jpg"]


def test_variants_name_each_candidate(tmp_path: Path) -> None:
    paths, fmt = plan_variant_outputs(
        [Path("a/x.jpg"), Path("b/x.png")], tmp_path, "jpg", variants=2
    )
    assert fmt == "jpg"
    assert [[p.name for p in group] for group in paths] == [
        ["x_1.jpg", "x_2.jpg"],
        ["x-2_1.jpg", "x-2_2.jpg"],
    ]


def test_one_variant_is_plan_outputs(tmp_path: Path) -> None:
    paths, fmt = plan_variant_outputs([Path("x.jpg")], tmp_path / "y.webp", None, variants=1)
    assert paths == [[tmp_path / "y.webp"]] and fmt == "webp"


def test_variants_need_a_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as info:
        plan_variant_outputs([Path("x.jpg")], tmp_path / "y.png", None, variants=3)
    assert info.value.code == "bad_option"

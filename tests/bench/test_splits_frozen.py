"""The tune / test split rule and the frozen test-set manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import frozen
from bench.splits import split_of, wanted


def test_split_by_source() -> None:
    assert split_of("posters/posterrase_train_1.png") == "test"
    assert split_of("text/paddleclas_anmuxi.jpg") == "test"
    assert split_of("products/paddleclas_logo_cola.jpg") == "test"
    assert split_of("paddleclas_100.jpeg") == "test"  # a bare name: by its name
    assert split_of("text/cnstd_taobao.jpg") == "tune"
    assert split_of("products/dreambooth_can_01.jpg") == "tune"
    assert split_of("text/my_paddleclas_copy.jpg") == "tune"  # prefix, not substring
    with pytest.raises(ValueError):
        split_of("")
    assert wanted("tune", "both") and wanted("test", "test") and not wanted("tune", "test")
    with pytest.raises(ValueError):
        wanted("tune", "all")


FILES = ("gen.py", "labels/a.json")


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "labels").mkdir()
    (tmp_path / "gen.py").write_text("SEED = 1\n")
    (tmp_path / "labels" / "a.json").write_text('{"x": []}\n')
    return tmp_path


def test_manifest_round_trip_and_changes(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    manifest = root / "FROZEN.sha256"
    entries = frozen.current_entries(root, FILES, constants_module=None)
    manifest.write_text(frozen.format_manifest(entries))
    assert frozen.parse_manifest(manifest.read_text()) == entries
    check = frozen.verify(manifest, root, FILES, constants_module=None)
    assert check.ok

    (root / "labels" / "a.json").write_text('{"x": [1]}\n')
    check = frozen.verify(manifest, root, FILES, constants_module=None)
    assert not check.ok and check.changed[0].startswith("labels/a.json:")
    with pytest.raises(SystemExit, match=r"labels/a\.json"):
        frozen.require(False, manifest=manifest, root=root, files=FILES, constants_module=None)
    warning = frozen.require(True, manifest=manifest, root=root, files=FILES,
                             constants_module=None)  # fmt: skip
    assert warning and "CHANGED" in warning[0]


def test_missing_files_and_manifest_are_clear_errors(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    with pytest.raises(frozen.FrozenSetError, match="not found"):
        frozen.verify(root / "none.sha256", root, FILES, constants_module=None)
    (root / "gen.py").unlink()
    with pytest.raises(frozen.FrozenSetError, match=r"missing: gen\.py") as err:
        frozen.current_entries(root, FILES, constants_module=None)
    assert err.value.code == "frozen_test_set"


def test_compare_lists_added_removed_changed() -> None:
    check = frozen.compare({"a": "1", "b": "2", "N": "64"}, {"a": "1", "b": "3", "c": "4"})
    text = "\n".join(check.changed)
    assert "b: 2 -> 3" in text and "c: not in the manifest" in text and "N: in the manifest" in text


def test_a_generator_without_its_seed_cannot_be_frozen() -> None:
    with pytest.raises(frozen.FrozenSetError, match="has no HELDOUT_SEED"):
        frozen._constants("bench.splits")

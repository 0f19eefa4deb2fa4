"""The .proto files follow one layout, and the committed generated code matches them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOS = sorted((ROOT / "protos").rglob("*.proto"))


def test_every_proto_declares_the_package_its_path_names() -> None:
    assert PROTOS, "no .proto files found"
    for proto in PROTOS:
        folder = proto.parent.relative_to(ROOT / "protos")
        assert re.fullmatch(r"globalpic/[a-z_]+/v\d+", folder.as_posix()), folder
        declared = re.search(r"^package\s+([\w.]+);", proto.read_text(), re.MULTILINE)
        assert declared is not None, f"{proto}: no package"
        assert declared.group(1) == folder.as_posix().replace("/", "."), proto


def test_committed_generated_code_is_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "libs/protos/generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_every_service_module_imports() -> None:
    import importlib

    for proto in PROTOS:
        dotted = proto.relative_to(ROOT / "protos").with_suffix("").as_posix().replace("/", ".")
        importlib.import_module(f"{dotted}_pb2")
        importlib.import_module(f"{dotted}_pb2_grpc")

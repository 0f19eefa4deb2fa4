"""Generate the Python code of every .proto under protos/ into libs/protos/src (``make proto``).

One package for all services (``globalpic.<service>.v1.<name>_pb2`` / ``_pb2_grpc``), with
mypy-protobuf stubs (``.pyi``) beside the code so strict mypy checks every use of a message.
``--check`` regenerates into a temporary directory and fails when the committed code differs
(``make proto-check``, part of ``make lint``): the generated code is committed, so installing
a service never needs protoc, and a .proto edit without ``make proto`` cannot slip through.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "protos"
OUT = Path(__file__).resolve().parent / "src"
# Everything under these package roots is generated; nothing hand-written lives there.
GENERATED_ROOT = "globalpic"


def proto_files() -> list[str]:
    files = sorted(p.relative_to(PROTO_ROOT).as_posix() for p in PROTO_ROOT.rglob("*.proto"))
    if not files:
        raise SystemExit(f"no .proto files under {PROTO_ROOT}")
    return files


def _plugin(name: str) -> str:
    # The mypy-protobuf plugins are console scripts next to this interpreter (the venv).
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        raise SystemExit(f"{name} not found: pip install -r requirements-dev.txt (mypy-protobuf)")
    return found


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    proto_include = Path(protoc.__file__).parent / "_proto"  # google/protobuf/*.proto
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{proto_include}",
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out=quiet:{out}",
        f"--mypy_grpc_out=quiet:{out}",
        *proto_files(),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed (see above)")
    # Regular packages (an __init__.py per directory): setuptools and mypy find them plainly.
    for directory in [out / GENERATED_ROOT, *(out / GENERATED_ROOT).rglob("*")]:
        if directory.is_dir() and directory.name != "__pycache__":
            (directory / "__init__.py").touch()
    (out / GENERATED_ROOT / "py.typed").touch()  # PEP 561: mypy reads the .pyi stubs


def _tree(base: Path) -> set[str]:
    root = base / GENERATED_ROOT
    return {
        p.relative_to(base).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        want, have = _tree(fresh), _tree(OUT) if (OUT / GENERATED_ROOT).is_dir() else set()
        drift = sorted(want ^ have)
        drift += sorted(
            f for f in want & have if not filecmp.cmp(fresh / f, OUT / f, shallow=False)
        )
    if drift:
        print("generated protobuf code is stale; run `make proto` and commit:", file=sys.stderr)
        for name in drift:
            print(f"  libs/protos/src/{name}", file=sys.stderr)
        return 1
    print(f"protobuf code up to date ({len(want)} files)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    if parser.parse_args().check:
        return check()
    # Start clean so code of a deleted .proto does not linger.
    shutil.rmtree(OUT / GENERATED_ROOT, ignore_errors=True)
    generate(OUT)
    print(f"generated {len(_tree(OUT))} files into {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

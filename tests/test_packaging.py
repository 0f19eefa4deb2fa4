"""Each service is its own package, and the CPU services never pull GPU stacks."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

GPU_STACK = {"torch", "torchvision", "diffusers", "segment-anything", "transformers"}


def _closure(dist: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Installed dependency closure of ``dist`` (only what its metadata asks for)."""
    seen: set[str] = set()
    stack = [(dist, extras)]
    while stack:
        name, wanted = stack.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        for raw in reqs:
            req = Requirement(raw)
            env = {"extra": next(iter(wanted))} if wanted else {"extra": ""}
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            stack.append((req.name, frozenset(req.extras)))
    return seen


def test_ocr_service_pulls_no_torch() -> None:
    deps = _closure("globalpic-ocr")
    assert "rapidocr" in deps and "onnxruntime" in deps
    assert not deps & GPU_STACK, deps & GPU_STACK


def test_cpu_services_and_cli_pull_no_gpu_stack() -> None:
    for dist in (
        "globalpic-common",
        "globalpic-segmentation",
        "globalpic-generation",
        "globalpic-cli",
    ):
        deps = _closure(dist)
        assert not deps & GPU_STACK, (dist, deps & GPU_STACK)


# What only the model services may pull: the inference runtimes, OpenCV, PatchMatch, the OCR
# engine and the GPU stacks, and the model packages themselves.
MODEL_STACK = GPU_STACK | {
    "onnxruntime",
    "rapidocr",
    "opencv-python",
    "opencv-python-headless",
    "opencv-contrib-python",
    "pypatchmatch",
    "globalpic-ocr",
    "globalpic-segmentation",
    "globalpic-generation",
    "globalpic-copywriting",
    "globalpic-cli",  # the embedded composition root (and its models)
}


def test_the_gateway_is_only_the_api() -> None:
    """No runner, no pipeline, no model: the gateway's image installs none of them."""
    deps = _closure("globalpic-gateway")
    assert "globalpic-jobs" in deps
    assert not deps & MODEL_STACK, deps & MODEL_STACK


def test_the_orchestrator_reaches_its_models_only_through_their_clients() -> None:
    """Its image installs no model, no inference runtime, no OpenCV, no PatchMatch."""
    deps = _closure("globalpic-orchestrator")
    assert {"globalpic-clients", "globalpic-jobs"} <= deps
    assert not deps & MODEL_STACK, deps & MODEL_STACK


def test_the_libraries_depend_on_no_service() -> None:
    libraries = {
        "globalpic-common",
        "globalpic-protos",
        "globalpic-clients",
        "globalpic-db",
        "globalpic-jobs",
    }
    for lib in sorted(libraries - {"globalpic-protos"}):
        ours = {d for d in _closure(lib) if d.startswith("globalpic-")}
        assert ours <= libraries, (lib, ours - libraries)


def test_the_account_services_are_small() -> None:
    """auth and billing are databases behind gRPC: no model, no job runner, no gateway."""
    for dist in ("globalpic-auth", "globalpic-billing"):
        deps = _closure(dist)
        assert "globalpic-db" in deps, dist
        forbidden = MODEL_STACK | {"globalpic-gateway", "globalpic-orchestrator", "opencv-python"}
        assert not deps & forbidden, (dist, deps & forbidden)


def test_easyocr_is_an_opt_in_extra() -> None:
    raw = requires("globalpic-ocr") or []
    easy = [r for r in raw if r.startswith("easyocr")]
    assert easy and all("extra ==" in r for r in easy)


def test_generative_stack_is_an_opt_in_extra_that_make_installs() -> None:
    raw = requires("globalpic-generation") or []
    heavy = [r for r in raw if Requirement(r).name in GPU_STACK]
    assert {Requirement(r).name for r in heavy} >= {"torch", "diffusers", "transformers"}
    assert all('extra == "zimage"' in r for r in heavy), heavy
    # `make test` runs the tiny-model tests of the extra, on the CPU torch wheel.
    root = Path(__file__).resolve().parents[1]
    assert "services/generation[zimage]" in (root / "Makefile").read_text()
    assert "torch==2.13.0" in (root / "requirements-dev.txt").read_text().splitlines()


def test_sam_is_an_opt_in_extra_that_make_installs() -> None:
    raw = requires("globalpic-segmentation") or []
    heavy = [r for r in raw if Requirement(r).name in GPU_STACK]
    assert {Requirement(r).name for r in heavy} >= {"torch", "segment-anything"}
    assert all('extra == "sam"' in r for r in heavy), heavy
    root = Path(__file__).resolve().parents[1]
    assert "services/segmentation[test,sam]" in (root / "Makefile").read_text()


def test_services_get_their_grpc_code_from_the_one_protos_package() -> None:
    services = (
        "globalpic-ocr",
        "globalpic-segmentation",
        "globalpic-generation",
        "globalpic-storage",
        "globalpic-copywriting",
    )
    for dist in services:
        deps = _closure(dist)
        assert {"globalpic-protos", "grpcio", "grpcio-health-checking"} <= deps, dist
    # The generated code needs nothing of ours: any service (or a non-Python client) can use it.
    assert not {d for d in _closure("globalpic-protos") if d.startswith("globalpic-")} - {
        "globalpic-protos"
    }


# What each server may not import: the other services, the orchestrator, any GPU stack.
# (Distribution metadata cannot show this: one venv holds every package in development.)
SERVER_MUST_NOT_IMPORT: dict[str, tuple[str, ...]] = {
    "globalpic_ocr.server": ("globalpic_segmentation", "globalpic_generation"),
    "globalpic_segmentation.server": ("globalpic_ocr", "globalpic_generation"),
    "globalpic_generation.server": ("globalpic_ocr", "globalpic_segmentation"),
}
_ALWAYS_FORBIDDEN = ("globalpic_orchestrator", "torch", "diffusers", "transformers")
# The API process: no runner, no pipeline, no model package, no inference runtime; the
# orchestrator: no model package, no inference runtime, no OpenCV.
_NO_MODELS = (
    "globalpic_ocr",
    "globalpic_segmentation",
    "globalpic_generation",
    "globalpic_copywriting",
    "globalpic_cli",
    "cv2",
    "onnxruntime",
    "rapidocr",
    "patchmatch",
)
SERVER_MUST_NOT_IMPORT["globalpic_orchestrator.runner"] = _NO_MODELS
SERVER_MUST_NOT_IMPORT["globalpic_orchestrator.processing"] = _NO_MODELS
SERVER_MUST_NOT_IMPORT["globalpic_gateway.main"] = (
    "globalpic_orchestrator",
    "globalpic_ocr",
    "globalpic_segmentation",
    "globalpic_generation",
    "globalpic_copywriting",
    "cv2",
    "onnxruntime",
    "rapidocr",
)


@pytest.mark.parametrize("module", sorted(SERVER_MUST_NOT_IMPORT))
def test_each_server_imports_only_its_own_service(module: str) -> None:
    own = module.split(".")[0]
    forbidden = tuple(m for m in SERVER_MUST_NOT_IMPORT[module] + _ALWAYS_FORBIDDEN if m != own)
    probe = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"{module} imports {done.stdout.strip()}"

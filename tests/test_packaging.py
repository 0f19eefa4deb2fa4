"""Each service is its own package, and the CPU services never pull GPU stacks."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, requires

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
    for dist in ("globalpic-common", "globalpic-segmentation", "globalpic-generation", "globalpic"):
        deps = _closure(dist)
        assert not deps & GPU_STACK, (dist, deps & GPU_STACK)


def test_easyocr_is_an_opt_in_extra() -> None:
    raw = requires("globalpic-ocr") or []
    easy = [r for r in raw if r.startswith("easyocr")]
    assert easy and all("extra ==" in r for r in easy)

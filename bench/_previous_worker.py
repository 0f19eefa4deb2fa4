"""Worker process of ``bench.previous_release``: the previous release's ``Cleaner``.

Run as ``python _previous_worker.py TREE``: ``TREE``'s ``libs/*/src``, ``services/*/src`` and
``apps/*/src`` go first on ``sys.path`` so every ``globalpic_*`` import resolves to that
release, not to the working tree's editable installs. Protocol on stdin / stdout, one
JSON object a line: ``{"in": x.npy, "out": y.npy}`` -> ``{"ok": true, "regions": [...],
"seconds": s}`` or ``{"ok": false, "error": "..."}``. This file imports nothing of ``bench``
on purpose.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def _put_tree_first(tree: Path) -> list[str]:
    # The script's own folder (bench/) must not be importable: its ``platform`` package
    # would shadow the standard library's (the parent starts us with ``python -P`` too).
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != here]
    roots = sorted(
        str(p)
        for p in [*tree.glob("libs/*/src"), *tree.glob("services/*/src"), *tree.glob("apps/*/src")]
    )
    if not roots:
        raise SystemExit(f"{tree}: no libs/*/src or services/*/src")
    sys.path[:0] = roots
    return roots


def _region_json(region: Any) -> dict[str, Any]:
    def value(x: Any) -> Any:
        return getattr(x, "value", x)

    return {
        "box": [[float(x), float(y)] for x, y in region.box],
        "text": region.text,
        "confidence": float(region.confidence),
        "kind": value(region.kind),
        "action": value(region.action),
        "overlay_score": float(getattr(region, "overlay_score", 0.0) or 0.0),
    }


def main() -> int:
    tree = Path(sys.argv[1]).resolve()
    _put_tree_first(tree)
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    import importlib

    import numpy as np

    # Where the release keeps the cleaner and its composition root: since the orchestrator
    # split the pipeline is the orchestrator's and the in-process root the CLI's; before,
    # both were ``globalpic_pipeline``.
    if (tree / "apps/cli/src/globalpic_cli/embedded.py").is_file():
        clean_name, root_name = "globalpic_orchestrator.pipeline.clean", "globalpic_cli.embedded"
    else:
        clean_name, root_name = "globalpic_pipeline.clean", "globalpic_pipeline.backends"
    clean_module = importlib.import_module(clean_name)
    backends_module = importlib.import_module(root_name)

    if not Path(clean_module.__file__ or "").resolve().is_relative_to(tree):
        raise SystemExit(f"imported {clean_module.__file__}, not the tree {tree}")
    # The composition root every release since the split has (the previous one included).
    cleaner = backends_module.cleaner_from_settings()
    cleaner.load()
    proto.write(json.dumps({"ready": True, "module": clean_module.__file__}) + "\n")
    proto.flush()
    for raw in sys.stdin:
        if not raw.strip():
            continue
        request = json.loads(raw)
        try:
            rgb = np.load(request["in"])
            start = time.perf_counter()
            result = cleaner.clean(rgb, clean_module.CleanOptions())
            seconds = time.perf_counter() - start
            np.save(request["out"], np.ascontiguousarray(result.image, np.uint8))
            reply: dict[str, Any] = {
                "ok": True,
                "seconds": seconds,
                "regions": [_region_json(r) for r in result.regions],
            }
        except Exception as exc:  # one bad image must not end the run: report it, go on
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(reply, ensure_ascii=False) + "\n")
        proto.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

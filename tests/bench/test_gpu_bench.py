"""``bench/gpu_bench.py`` on the CPU: the tiny run end to end, and the full-size configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench import gpu_bench


def test_tiny_run_measures_every_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gpu.json"
    assert gpu_bench.main(["--tiny", "--batches", "1,2", "--json-out", str(out)]) == 0
    records = json.loads(out.read_text())
    # Printed as measured: one JSON line per record on stdout.
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == records
    cases = {(r["case"], r["variant"], r["batch"]) for r in records if "case" in r}
    for variant in ("baseline", "ours"):
        for case in ("t2i", "inpaint"):
            assert {(case, variant, 1), (case, variant, 2)} <= cases
    assert {("clean", "ours", 1), ("remix", "ours", 4)} <= cases
    assert {("outpaint", "ours", 1), ("upscale", "ours", 1)} <= cases
    for r in records:
        if "case" in r:
            assert r["seconds"] > 0 and r["per_image_s"] <= r["seconds"]
            assert r["peak_gib"] is None  # CPU: no GPU memory to report


def test_full_size_architecture_is_z_image_turbo() -> None:
    pipe = gpu_bench.full_size_pipeline("meta", torch.bfloat16)  # shapes only, no memory

    def params(module: object) -> float:
        return sum(p.numel() for p in module.parameters()) / 1e9  # type: ignore[attr-defined]

    assert 6.1 < params(pipe.transformer) < 6.2  # the 6.15 B single-stream DiT
    assert 4.0 < params(pipe.text_encoder) < 4.1  # Qwen3-4B without its LM head
    assert pipe.vae.config.latent_channels == 16 and pipe.vae_scale_factor == 8

"""The Z-Image backend on a tiny random-weight pipeline, loaded through the production loader.

The pipeline is built in code (``tests.support.zimage_tiny``), written with
``save_pretrained`` and loaded back from that directory the way real weights are
(``GLOBALPIC_GENERATION__MODEL=dir``).
Random weights generate noise, so these tests check the contract (shapes, masks, seeds,
lifecycle), not image quality.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.grpc_server import load_models
from globalpic_generation.inpaint import regions
from globalpic_generation.registry import build_inpainter
from globalpic_generation.settings import GenerationSettings
from globalpic_generation.zimage import (
    ZImageInpainter,
    ZImageModels,
    load_zimage,
    plan_crop,
    resolve_dtype,
)


def _settings(model: Path | str, **overrides: Any) -> GenerationSettings:
    # Tiny crops: the tiny model's pixel factor is 4 (2x VAE, patch 2); real Z-Image's is 16.
    base: dict[str, Any] = {
        "inpainter": "zimage",
        "model": str(model),
        "device": "cpu",
        "warmup_px": 16,
        "zimage_side_px": (32, 64),
        "zimage_context_px": (8, 32),
        "max_sequence_length": 32,
    }
    return GenerationSettings(**(base | overrides))


def _scene() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    mask = np.zeros((120, 160), np.uint8)
    mask[10:30, 12:44] = 255  # a badge near a corner
    mask[80:86, 100:150] = 255  # a thin line far from it: its own crop
    return image, mask


def test_inpaint_changes_masked_pixels_only(tiny_dir: Path) -> None:
    inpainter = build_inpainter(_settings(tiny_dir))
    assert isinstance(inpainter, ZImageInpainter) and inpainter.name == "zimage"
    image, mask = _scene()
    out = inpainter.inpaint(image, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert (out[mask > 0] != image[mask > 0]).any()  # the mask was actually generated
    assert out is not image


def test_same_seed_same_output_other_seed_other_output(tiny_dir: Path) -> None:
    image, mask = _scene()
    first = ZImageInpainter(_settings(tiny_dir, seed=7)).inpaint(image, mask)
    again = ZImageInpainter(_settings(tiny_dir, seed=7)).inpaint(image, mask)
    other = ZImageInpainter(_settings(tiny_dir, seed=8)).inpaint(image, mask)
    assert np.array_equal(first, again)
    assert not np.array_equal(first[mask > 0], other[mask > 0])


def test_empty_mask_is_identity(tiny_dir: Path) -> None:
    image, _ = _scene()
    out = ZImageInpainter(_settings(tiny_dir)).inpaint(image, np.zeros(image.shape[:2], np.uint8))
    assert np.array_equal(out, image)


def test_crops_surround_each_region_not_the_frame(tiny_dir: Path) -> None:
    inpainter = ZImageInpainter(_settings(tiny_dir))
    image, mask = _scene()
    plans = inpainter.plans(image, mask)
    assert len(plans) == 2
    factor = inpainter.models.factor
    assert factor == 4
    for plan in plans:
        h, w = plan.roi.shape
        assert h * w < image.shape[0] * image.shape[1] / 2
        assert plan.work_size[0] % factor == 0 and plan.work_size[1] % factor == 0
        assert 32 - factor <= max(plan.work_size) <= 64 + factor
        # Every pixel of the group lies inside its crop.
        full = np.zeros(mask.shape, bool)
        full[plan.roi.slices] = plan.hole
        assert plan.hole.any() and (mask[full] > 0).all()
    covered = np.zeros(mask.shape, bool)
    for plan in plans:
        covered[plan.roi.slices] |= plan.hole
    assert np.array_equal(covered, mask > 0)


def test_crop_size_rounds_to_the_real_models_factor() -> None:
    settings = GenerationSettings()  # production crop sizes, real Z-Image factor 16
    mask = np.zeros((1500, 2000), np.uint8)
    mask[100:130, 200:700] = 255  # a wide banner line
    (region,) = list(regions(mask, 0))
    plan = plan_crop(region, mask.shape, 16, settings)
    assert plan.work_size[0] % 16 == 0 and plan.work_size[1] % 16 == 0
    assert max(plan.work_size) <= 1024 + 16 and max(plan.work_size) >= 512 - 16
    small = np.zeros((400, 400), np.uint8)
    small[190:200, 190:220] = 255  # a tiny price tag: upscaled to the model's working size
    (tag,) = list(regions(small, 0))
    assert max(plan_crop(tag, small.shape, 16, settings).work_size) >= 496


def test_loaded_once_and_shared_across_threads(tiny_dir: Path) -> None:
    settings = _settings(tiny_dir, seed=99)
    got: list[ZImageModels] = []
    threads = [threading.Thread(target=lambda: got.append(load_zimage(settings))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(m is got[0] for m in got)
    assert ZImageInpainter(settings).models is got[0]
    # The gRPC server's loader (run after the port opens, before SERVING) loads it too.
    served = ZImageInpainter(settings)
    load_models(served)()
    assert served._models is got[0]
    assert got[0].device == "cpu" and got[0].dtype == "float32"


def test_missing_weights_are_a_clear_error(tmp_path: Path) -> None:
    inpainter = build_inpainter(_settings(tmp_path / "nowhere"))  # cheap: loads on load()
    with pytest.raises(ModelUnavailableError, match="no Z-Image weights"):
        inpainter.load()  # type: ignore[attr-defined]
    image, mask = _scene()
    with pytest.raises(ModelUnavailableError):
        inpainter.inpaint(image, mask)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError) as err:
        load_zimage(_settings(empty))
    assert err.value.code == "model_unavailable"
    # A hub id that is not in the local cache, with the hub off limits.
    with pytest.raises(ModelUnavailableError, match="cannot load Z-Image weights"):
        load_zimage(_settings("globalpic-test/no-such-model", local_files_only=True))


def test_dtype_follows_the_device() -> None:
    assert resolve_dtype("auto", "cuda") == "bfloat16"
    assert resolve_dtype("auto", "cuda:1") == "bfloat16"
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype("float32", "cuda") == "float32"


def test_importing_the_backend_does_not_import_torch() -> None:
    probe = (
        "import sys, globalpic_generation.zimage, globalpic_generation.inpaint\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

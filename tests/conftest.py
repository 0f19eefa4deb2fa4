"""Fixtures for the cross-package tests: a rendered Taobao-style photo and a tiny segmenter."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.support.tiny_model import INPUT_NAME, OUTPUT_NAMES

FONT_GLOBS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/**/*CJK*.tt?",
]


def cjk_font_path() -> str:
    for pattern in FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    raise RuntimeError("no CJK font installed: run `make fonts` (fonts-noto-cjk)")


def render_photo(size: int = 640, seed: int = 0) -> np.ndarray:
    """A textured 'table' with a shaded box on it: photo-like noise and blur, no text."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    grain = np.sin(x / 7.0 + 3 * np.sin(y / 40.0)) * 12
    base = np.stack([180 + grain, 150 + grain * 0.8, 115 + grain * 0.6], axis=-1)
    base *= (1.0 - 0.25 * ((x - size / 2) ** 2 + (y - size / 2) ** 2) / size**2)[..., None]
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    s = size
    draw.rectangle([s * 0.3, s * 0.3, s * 0.7, s * 0.8], fill=(235, 238, 242))
    draw.rectangle([s * 0.3, s * 0.3, s * 0.36, s * 0.8], fill=(205, 208, 214))
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    arr = np.asarray(img).astype(np.float32) + rng.normal(0, 3, (s, s, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def add_badge(photo: np.ndarray, text: str = "包邮", xy: tuple[int, int] = (30, 30)) -> np.ndarray:
    """A crisp red promo badge with white text, stamped on after the shot."""
    img = Image.fromarray(photo)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(cjk_font_path(), 56)
    x, y = xy
    w = int(draw.textlength(text, font=font)) + 40
    draw.rounded_rectangle([x, y, x + w, y + 90], radius=18, fill=(220, 30, 40))
    draw.text((x + 20, y + 10), text, font=font, fill=(255, 255, 255))
    return np.asarray(img).copy()


def build_blue_segmenter(path: Path, side: int = 320) -> Path:
    """A U2-Net-p stand-in (same input / output names and shapes, loaded by the production
    loader) whose mask is known in advance: a 1x1 conv + sigmoid over the rembg-normalised
    input, k * (blue - red - 1.6), so saturated blue is product and anything warm or grey is
    background. With it, what a photo's checks must say is known before the run."""
    import onnx  # test-only dependency (the segmentation package's [test] extra)
    from onnx import TensorProto, helper, numpy_helper

    k = 4.0
    weights = numpy_helper.from_array(np.array([[[[-k]], [[0.0]], [[k]]]], np.float32), "w")
    bias = numpy_helper.from_array(np.array([-1.6 * k], np.float32), "b")
    nodes = [helper.make_node("Conv", [INPUT_NAME, "w", "b"], ["logit"])]
    nodes += [helper.make_node("Sigmoid", ["logit"], [name]) for name in OUTPUT_NAMES]
    image = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, side, side])
    maps = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 1, side, side])
        for name in OUTPUT_NAMES
    ]
    graph = helper.make_graph(nodes, "blue_is_product", [image], maps, [weights, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def blue_product_photo(size: int, box: tuple[int, int, int, int], seed: int = 0) -> np.ndarray:
    """A photo (textured warm table, lens blur, sensor noise, no text) of a shaded blue box
    at ``box`` = (x0, y0, x1, y1): the product ``build_blue_segmenter`` finds exactly."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    grain = np.sin(x / 7.0 + 3 * np.sin(y / 40.0)) * 12
    photo = np.stack([180 + grain, 150 + grain * 0.8, 115 + grain * 0.6], axis=-1)
    x0, y0, x1, y1 = box
    shade = np.linspace(0.75, 1.0, x1 - x0, dtype=np.float32)[None, :, None]
    photo[y0:y1, x0:x1] = np.array([20, 60, 200], np.float32) * shade
    blurred = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
    blurred = blurred.filter(ImageFilter.GaussianBlur(1.0))
    noisy = np.asarray(blurred).astype(np.float32) + rng.normal(0, 3, (size, size, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.fixture
def blue_segmenter_env(
    tiny_models_env: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The production loader, pointed at ``build_blue_segmenter`` instead of random weights:
    masks known in advance (saturated blue is product)."""
    path = build_blue_segmenter(tmp_path_factory.mktemp("blue") / "u2netp.onnx")
    monkeypatch.setenv("GLOBALPIC_SEGMENTATION__MODEL_PATH", str(path))
    return path

"""Fixtures: the tiny random-weight U²-Net-p stand-in (``tests.support.tiny_model``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.tiny_model import INPUT_NAME, OUTPUT_NAMES, build_tiny_u2net

__all__ = ["INPUT_NAME", "OUTPUT_NAMES", "build_tiny_u2net"]

ModelFactory = Callable[..., Path]


@pytest.fixture
def make_tiny_model(tmp_path: Path) -> ModelFactory:
    def make(side: int = 320, seed: int = 0) -> Path:
        return build_tiny_u2net(tmp_path / f"tiny_u2netp_{side}_{seed}.onnx", side, seed)

    return make


@pytest.fixture
def tiny_model(make_tiny_model: ModelFactory) -> Path:
    return make_tiny_model()

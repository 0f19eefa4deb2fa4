"""``kept_uncertain``: a line the classifier is unsure about is kept, untouched, and reported
with its cues in ``clean --json`` (and the text summary), so a client can offer a one-click
erase. Real OCR, real eraser, tiny random-weight segmenter; only the classifier's verdict on
the badge is made uncertain, as the real one makes it for a middle score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from globalpic_cli import app, embedded
from globalpic_common.interfaces import AlphaArray, ImageArray
from globalpic_common.schemas import (
    BatchReport,
    LineDecision,
    TextAction,
    TextKind,
    TextLine,
    TextMode,
)
from globalpic_ocr.overlay import classify_lines
from globalpic_orchestrator.pipeline.clean import Cleaner, CleanOptions
from globalpic_orchestrator.pipeline.texts import kept_action
from tests.conftest import add_badge, render_photo

pytestmark = pytest.mark.usefixtures("tiny_models_env")


def _unsure_about_badges(
    image: ImageArray, lines: Sequence[TextLine], alpha: AlphaArray | None
) -> list[LineDecision]:
    """The real classifier, with every 包/邮 line turned into an uncertain keep."""
    decisions = classify_lines(image, lines, alpha)
    return [
        replace(d, kind=TextKind.PRODUCT, overlay_score=0.45, uncertain=True)
        if any(ch in line.text for ch in "包邮")
        else d
        for line, d in zip(lines, decisions, strict=True)
    ]


@pytest.fixture
def unsure_cleaner(monkeypatch: pytest.MonkeyPatch) -> None:
    build = embedded.cleaner_from_settings

    def cleaner_from_settings() -> Cleaner:
        cleaner = build()
        cleaner.classify = _unsure_about_badges
        return cleaner

    monkeypatch.setattr(embedded, "cleaner_from_settings", cleaner_from_settings)


def test_kept_action_of_each_decision() -> None:
    sure = LineDecision(TextKind.PRODUCT, 0.1, {})
    unsure = LineDecision(TextKind.PRODUCT, 0.4, {}, uncertain=True)
    assert kept_action(sure, erased=False) == TextAction.KEPT
    assert kept_action(unsure, erased=False) == TextAction.KEPT_UNCERTAIN
    assert kept_action(unsure, erased=True) == TextAction.ERASED


@pytest.mark.usefixtures("unsure_cleaner")
def test_an_uncertain_line_is_kept_and_reported_in_json(tmp_path: Path) -> None:
    photo = add_badge(render_photo(), "包邮")
    src = tmp_path / "shop.png"
    Image.fromarray(photo).save(src)
    dst = tmp_path / "out.png"
    result = CliRunner().invoke(app, ["clean", str(src), "-o", str(dst), "--json"])
    assert result.exit_code == 0, result.stderr
    texts = BatchReport.model_validate_json(result.stdout).images[0].texts
    unsure = [t for t in texts if t.action == TextAction.KEPT_UNCERTAIN]
    assert unsure and all(any(ch in t.text for ch in "包邮") for t in unsure)
    assert all(t.cues and 0.0 < t.overlay_score < 1.0 for t in unsure)
    # On the wire as the plain string a client switches on.
    assert '"action":"kept_uncertain"' in result.stdout.replace(" ", "")
    # Kept means untouched: the badge's pixels are the input's.
    out = np.asarray(Image.open(dst).convert("RGB"))
    assert np.array_equal(out[30:110, 30:160], photo[30:110, 30:160])

    # The text summary names what it kept on doubt.
    plain = CliRunner().invoke(app, ["clean", str(src), "-o", str(tmp_path / "o2.png")])
    assert plain.exit_code == 0
    assert "uncertain" in plain.stderr and "包" in plain.stderr


def test_the_user_choices_win_over_uncertain() -> None:
    """``--text all`` erases it; a keep-mask over it makes it a plain (user's) keep."""
    photo = add_badge(render_photo(), "包邮")
    cleaner = embedded.cleaner_from_settings()
    cleaner.classify = _unsure_about_badges
    cleaner.load()
    everything = cleaner.clean(photo, CleanOptions(text_mode=TextMode.ALL))
    assert all(r.action == TextAction.ERASED for r in everything.regions if "包" in r.text)
    keep = np.full(photo.shape[:2], 255, np.uint8)
    protected = cleaner.clean(photo, CleanOptions(keep_mask=keep))
    assert protected.regions and all(r.action == TextAction.KEPT for r in protected.regions)

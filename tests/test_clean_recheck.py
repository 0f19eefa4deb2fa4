"""The re-check after erasing: residuals of what we erased vs text seen for the first time."""

from __future__ import annotations

import numpy as np
import pytest

from globalpic_cli.embedded import cleaner_from_settings
from globalpic_common.schemas import TextLine
from globalpic_generation.quads import fill_quads
from globalpic_orchestrator.pipeline.clean import _credible
from tests.conftest import add_badge, render_photo

pytestmark = pytest.mark.usefixtures("tiny_models_env")


def _line(text: str, confidence: float) -> TextLine:
    return TextLine(box=[(0, 0), (10, 0), (10, 5), (0, 5)], text=text, confidence=confidence)


def test_only_readable_confident_text_is_new_text() -> None:
    assert _credible(_line("限量抢购", 0.95))
    assert not _credible(_line("尚", 0.99))  # a lone glyph: as likely a rebuilt texture
    assert not _credible(_line("_ -", 0.99))
    assert not _credible(_line("限量抢购", 0.6))


def test_recheck_splits_residuals_from_unseen_lines() -> None:
    image = add_badge(add_badge(render_photo(640), "包邮", (30, 30)), "特价", (420, 520))
    cleaner = cleaner_from_settings()
    cleaner.load()
    lines = cleaner.detector.detect(image)
    first = next(line for line in lines if "包" in line.text or "邮" in line.text)
    second = next(line for line in lines if "特" in line.text or "价" in line.text)
    meant = fill_quads(image.shape[:2], [first.box])
    meant[630:634, 630:634] = 255  # something rebuilt far away: the re-check spans both badges
    nothing_kept = np.zeros(image.shape[:2], np.uint8)
    residual, unseen = cleaner._recheck(image, meant, nothing_kept)
    assert [r.text for r in residual] == [first.text]
    assert [u.text for u in unseen] == [second.text]
    # A line we chose to keep is known: found again, it is neither.
    kept = fill_quads(image.shape[:2], [second.box])
    residual, unseen = cleaner._recheck(image, meant, kept)
    assert [r.text for r in residual] == [first.text] and unseen == []


def test_a_lone_glyph_on_what_we_rebuilt_is_no_residual() -> None:
    """One character read on a rebuilt area is as likely a product edge through it: erasing
    its "strokes" would cut into the product, so only 2+ character reads count."""
    image = add_badge(add_badge(render_photo(640), "包邮", (30, 30)), "省", (420, 520))
    cleaner = cleaner_from_settings()
    cleaner.load()
    lines = cleaner.detector.detect(image)
    glyph = next(line for line in lines if line.text.strip() == "省")  # the detector reads it
    first = next(line for line in lines if "包" in line.text or "邮" in line.text)
    meant = fill_quads(image.shape[:2], [first.box, glyph.box])
    residual, unseen = cleaner._recheck(image, meant, np.zeros(image.shape[:2], np.uint8))
    assert [r.text for r in residual] == [first.text] and unseen == []

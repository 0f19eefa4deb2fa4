"""``globalpic copy`` and ``localize --ops ...,copy`` end to end: real OCR (RapidOCR's models
ship in its wheel) reads the Chinese on a rendered photo, the tiny random-weight segmenter
stands in for U²-Net, the offline writer writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from globalpic_cli import app
from globalpic_common.schemas import BatchReport, CopyReport, Op
from globalpic_orchestrator.pipeline.localize import LocalizeOptions
from tests.conftest import add_badge, render_photo

pytestmark = pytest.mark.usefixtures("tiny_models_env")
runner = CliRunner()
FIELDS = {
    "title",
    "bullets",
    "description",
    "meta_description",
    "search_terms",
    "caption",
    "hashtags",
    "explanation_zh",
}


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def flask_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A product photo with the Chinese a Taobao seller prints on it."""
    path = tmp_path_factory.mktemp("copy") / "flask.jpg"
    photo = add_badge(render_photo(640), "不锈钢保温杯", xy=(30, 30))
    photo = add_badge(photo, "500ml 包邮", xy=(30, 520))
    Image.fromarray(photo).save(path, quality=95)
    return path


def test_copy_json_per_image_from_ocr_and_seller_facts(flask_photo: Path) -> None:
    code, out, _ = _run(
        "copy", str(flask_photo), "--platform", "amazon", "--json",
        "--keywords", "water bottle, travel mug", "--facts", "brand=Zorvex, color=silver",
    )  # fmt: skip
    assert code == 0
    (item,) = json.loads(out)
    assert item["image"] == str(flask_photo) and item["platform"] == "amazon"
    assert len(item["variants"]) == 5
    for variant in item["variants"]:
        assert set(variant) >= FIELDS
        assert variant["title"] and len(variant["bullets"]) == 5 and variant["search_terms"]
        assert variant["caption"] == "" and variant["hashtags"] == []  # unused on Amazon
        assert variant["explanation_zh"]
    report = CopyReport.model_validate(item)
    assert report.passed and all(c.passed for c in report.checks)
    facts = " ".join(report.facts_en)
    # OCR read the photo; the dictionary translated it; the promotion was dropped
    assert "stainless steel" in facts and "vacuum flask" in facts and "500ml" in facts
    assert "Brand: Zorvex" in facts and "shipping" not in json.dumps(item["variants"]).lower()


@pytest.mark.parametrize("platform", ["tiktok", "instagram", "facebook", "ebay", "shopify"])
def test_copy_every_platform_passes(flask_photo: Path, platform: str, tmp_path: Path) -> None:
    code, out, err = _run("copy", str(flask_photo), "--platform", platform, "-o", str(tmp_path))
    assert code == 0, err
    assert "[A]" in out and "[E]" in out and "说明" in out and "all checks passed" in err
    saved = CopyReport.model_validate_json((tmp_path / "flask.copy.json").read_text())
    assert saved.platform == platform and saved.passed and len(saved.variants) == 5


@pytest.mark.parametrize(
    ("args", "code_word"),
    [
        (["--platform", "myspace"], "unknown_platform"),
        (["--facts", "material cotton"], "bad_option"),
        (["--facts", "size=M, size=L"], "bad_option"),
        (["-n", "0"], "bad_option"),
    ],
)
def test_copy_bad_options_exit_2(flask_photo: Path, args: list[str], code_word: str) -> None:
    code, _, err = _run("copy", str(flask_photo), *args)
    assert code == 2 and code_word in err


def test_copy_bad_file_is_reported_and_the_rest_written(flask_photo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    code, out, _ = _run("copy", str(broken), str(flask_photo), "--json", "--platform", "ebay")
    assert code == 2
    bad, good = json.loads(out)
    assert bad["status"] == "bad_input" and bad["error"]["code"] and bad["variants"] == []
    assert good["status"] == "ok" and len(good["variants"]) == 5


def test_localize_clean_then_copy(flask_photo: Path, tmp_path: Path) -> None:
    code, out, err = _run(
        "localize", str(flask_photo), "-o", str(tmp_path), "--ops", "clean,copy",
        "--platform", "tiktok", "--keywords", "gym bottle", "--json",
    )  # fmt: skip
    assert code == 0, err
    image = BatchReport.model_validate_json(out).images[0]
    assert image.copy_report is not None and image.copy_report.platform == "tiktok"
    assert image.copy_report.passed and len(image.copy_report.variants) == 5
    assert all(v.caption and v.hashtags for v in image.copy_report.variants)
    # clean's OCR lines are the copy's: its texts and the copy's facts agree
    assert any("保温杯" in t.text for t in image.texts)
    assert any("vacuum flask" in f for f in image.copy_report.facts_en)
    saved = tmp_path / "flask.copy.json"
    assert str(saved) in image.outputs
    assert CopyReport.model_validate_json(saved.read_text()).image == str(flask_photo)
    assert '"copy": {' in out  # the report's key on the wire


def test_localize_copy_alone_reads_the_photo_itself(flask_photo: Path, tmp_path: Path) -> None:
    code, out, _ = _run(
        "localize", str(flask_photo), "-o", str(tmp_path), "--ops", "copy", "--json"
    )
    assert code == 0
    copy = BatchReport.model_validate_json(out).images[0].copy_report
    assert copy is not None and copy.platform == "amazon" and copy.passed
    assert any("500ml" in f for f in copy.facts_en)


@pytest.mark.parametrize(
    "args",
    [
        ["--ops", "clean", "--keywords", "mug"],
        ["--ops", "clean", "--facts", "size=M"],
        ["--ops", "clean,copy", "--facts", "oops"],
        ["--ops", "copy", "--size", "800x800"],
    ],
)
def test_localize_copy_bad_options_exit_2(
    flask_photo: Path, tmp_path: Path, args: list[str]
) -> None:
    code, _, err = _run("localize", str(flask_photo), "-o", str(tmp_path), *args)
    assert code == 2 and "bad_option" in err


def test_copy_platform_follows_the_resize_frame() -> None:
    from globalpic_orchestrator.pipeline.frame import frame_for

    def platform(**kw: object) -> str:
        return LocalizeOptions(ops=(Op.RESIZE, Op.COPY), **kw).copy_inputs()[0]  # type: ignore[arg-type]

    assert platform(frame=frame_for("shopify-product", None)) == "shopify"
    assert platform(frame=frame_for("instagram-story", None)) == "instagram"
    assert platform(frame=frame_for(None, "800x800")) == "amazon"  # no platform: the default
    assert platform(frame=frame_for("ebay", None), copy_platform="tiktok") == "tiktok"


def test_copywriting_addr_selects_the_service_client(monkeypatch: pytest.MonkeyPatch) -> None:
    from globalpic_cli.embedded import copywriter_from_settings
    from globalpic_clients.copywriting import CopywritingClient
    from globalpic_copywriting.offline import OfflineCopywriter
    from globalpic_orchestrator.pipeline.backends import PipelineSettings

    monkeypatch.delenv("GLOBALPIC_COPYWRITING__BACKEND", raising=False)
    assert isinstance(copywriter_from_settings(PipelineSettings()), OfflineCopywriter)
    remote = copywriter_from_settings(PipelineSettings(copywriting_addr="127.0.0.1:1"))
    assert isinstance(remote, CopywritingClient) and remote.addr == "127.0.0.1:1"

"""The web app in a real browser (issue 15): Playwright driving Debian's chromium against
``make dev`` (its supervisor: NATS, the accounts, the orchestrator with tiny models in process,
the gateway serving the built app at /). Needs ``make web`` (``make test`` builds it first) and
``make browser`` (chromium).

The whole flow once in Chinese on a desktop viewport: sign up -> upload the sample -> clean +
remix + resize + copy with 4 candidates -> progress cards -> candidates -> compare slider
(original vs result) -> English copy variants -> ZIP downloaded and holding every candidate ->
fine-tune (live preview, then "apply": a re-run job the page follows) -> the brush (paint on
the original, clean again) -> history, team, plans; then in English at 375 px: upload ->
result.
Each page is screenshotted into the test's ``artifacts`` folder (kept by pytest's tmp_path
retention) and checked with axe-core (the npm package of services/web): no serious or
critical accessibility violation; no console error on the way.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.dev_platform import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    SAMPLE,
    WEB_DIST,
    dev_platform,
)

AXE = ROOT / "services" / "web" / "node_modules" / "axe-core" / "axe.min.js"
READY_TIMEOUT_S = 120.0
JOB_TIMEOUT_MS = 240_000
PASSWORD = "a long browser password"


@dataclass
class DevPlatform:
    base: str
    dev_dir: Path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, tiny_u2net: Path) -> Iterator[DevPlatform]:
    assert (WEB_DIST / "index.html").is_file(), "the web app is not built: run `make web`"
    assert Path(CHROMIUM).is_file(), "no chromium: run `make browser` (Debian's chromium)"
    assert AXE.is_file(), "no axe-core: run `make web` (npm ci in services/web)"
    work = tmp_path_factory.mktemp("dev")
    env = {
        **os.environ,
        "GLOBALPIC_SEGMENTATION__MODEL_PATH": str(tiny_u2net),
        "GLOBALPIC_SEGMENTATION__SEGMENTER": "u2netp",
    }
    with dev_platform(work, env, READY_TIMEOUT_S) as base:
        yield DevPlatform(base, work / ".dev")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
}"""


def _shot(page: Page, folder: Path, name: str, violations: list[str]) -> None:
    """A full-page screenshot, and the page's serious / critical axe-core violations."""
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    for found in page.evaluate(AXE_RUN):
        if found["impact"] in ("serious", "critical"):
            violations.append(f"{name}: {found['id']} ({found['impact']}, {found['nodes']} nodes)")


def _sign_up(platform: DevPlatform, email: str) -> None:
    answer = httpx.post(
        f"{platform.base}/v1/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert answer.status_code == 201, answer.text


def _log_in(page: Page, platform: DevPlatform, email: str) -> None:
    page.goto(f"{platform.base}/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("upload-input")).to_be_attached(timeout=30_000)


def test_the_whole_flow_in_chinese_on_a_desktop(
    platform: DevPlatform, browser: Browser, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    violations: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(platform.base)
    expect(page.get_by_test_id("signup-link")).to_be_visible(timeout=30_000)
    _shot(page, artifacts, "1-login", violations)
    page.get_by_test_id("signup-link").click()
    _shot(page, artifacts, "2-signup", violations)
    email = "browser-zh@example.com"
    page.get_by_test_id("signup-email").fill(email)
    page.get_by_test_id("signup-password").fill(PASSWORD)
    page.get_by_test_id("signup-submit").click()
    upload = page.get_by_test_id("upload-input")
    expect(upload).to_be_attached(timeout=30_000)
    assert page.evaluate("document.documentElement.lang").startswith("zh")

    upload.set_input_files(str(SAMPLE))
    page.get_by_test_id("op-clean").check()
    page.get_by_test_id("op-remix").check()
    page.get_by_test_id("op-resize").check()
    page.get_by_test_id("op-copy").check()
    page.get_by_test_id("candidates-select").select_option("4")
    # the style gallery: a preview per style, rendered by our remixer (bench/style_previews.py)
    chosen = page.locator('[data-testid="style-option"]:has(input[value="modern-home"])')
    chosen.click()
    expect(chosen.locator("input")).to_be_checked()
    preview = chosen.locator("img")
    preview.scroll_into_view_if_needed()
    expect(preview).to_have_js_property("complete", True)
    assert preview.evaluate("img => img.naturalWidth") == 320
    assert page.get_by_test_id("style-option").count() >= 16
    _shot(page, artifacts, "3-upload", violations)
    page.get_by_test_id("start-button").click()

    expect(page.get_by_test_id("progress").first).to_be_visible(timeout=30_000)
    _shot(page, artifacts, "4-progress", violations)
    expect(page.get_by_test_id("candidate")).to_have_count(4, timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_test_id("result-image").first).to_be_visible(timeout=30_000)
    page.get_by_test_id("compare-slider").first.fill("30")
    expect(page.get_by_test_id("copy-variant").first).to_be_visible(timeout=30_000)
    _shot(page, artifacts, "5-results", violations)

    with page.expect_download(timeout=60_000) as download:
        page.get_by_test_id("download-zip").click()
    saved = tmp_path / "results.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
    assert "report.json" in names and sum(n.endswith(".png") for n in names) == 4, names
    first_job = page.url

    # -- fine-tune the selected result: the sliders preview at once, "apply" re-runs it on
    # the server as a job of its own, which the page then follows --
    brightness = page.get_by_test_id("adjust-brightness").first
    brightness.fill("0.5")
    expect(page.get_by_test_id("result-image").first).to_have_attribute(
        "style", re.compile("brightness"), timeout=10_000
    )
    page.get_by_test_id("adjust-apply").first.click()
    expect(page.get_by_test_id("rerun-of")).to_be_visible(timeout=30_000)
    assert page.url != first_job
    expect(page.get_by_test_id("result-image").first).to_be_visible(timeout=JOB_TIMEOUT_MS)
    _shot(page, artifacts, "6-adjusted", violations)

    # -- the brush: paint an area to erase on the original, run clean again --
    page.goto(first_job)
    page.get_by_test_id("edit-link").first.click()
    canvas = page.get_by_test_id("brush-canvas")
    expect(canvas).to_be_visible(timeout=30_000)
    page.get_by_test_id("brush-mode-erase").click()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.15, steps=8)
    page.mouse.up()
    _shot(page, artifacts, "7-brush", violations)
    page.get_by_test_id("clean-submit").click()
    expect(page.get_by_test_id("rerun-of")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("result-image").first).to_be_visible(timeout=JOB_TIMEOUT_MS)

    page.goto(f"{platform.base}/history")
    expect(page.get_by_test_id("history-item").first).to_be_visible(timeout=30_000)
    _shot(page, artifacts, "8-history", violations)
    page.goto(f"{platform.base}/team")
    expect(page.get_by_test_id("team-page")).to_be_visible(timeout=30_000)
    _shot(page, artifacts, "9-team", violations)

    page.goto(f"{platform.base}/plans")
    expect(page.get_by_test_id("plan").first).to_be_visible(timeout=30_000)
    _shot(page, artifacts, "10-plans", violations)
    assert not errors, errors
    assert not violations, violations
    context.close()


def test_upload_to_result_in_english_on_a_phone(
    platform: DevPlatform, browser: Browser, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    email = "browser-en@example.com"
    _sign_up(platform, email)
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    violations: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _log_in(page, platform, email)
    if not page.evaluate("document.documentElement.lang").startswith("en"):
        page.get_by_test_id("lang-switch").click()  # zh is the default: switch once
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_test_id("upload-input").set_input_files(str(SAMPLE))
    _shot(page, artifacts, "1-upload-375", violations)
    page.get_by_test_id("start-button").click()
    expect(page.get_by_test_id("result-image").first).to_be_visible(timeout=JOB_TIMEOUT_MS)
    _shot(page, artifacts, "2-result-375", violations)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    assert not errors, errors
    assert not violations, violations
    context.close()

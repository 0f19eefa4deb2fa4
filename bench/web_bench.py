"""The web app's speed in a real browser (issue 15): ``make bench-web``.

``make dev``'s supervisor (NATS, the accounts, the orchestrator with the installed models in
process, the gateway serving ``services/web/dist``) and Playwright driving Debian's chromium:

1. **first load**: a fresh browser context (cold cache) opens ``/login`` until the form is
   there, signs in, until the upload zone (``upload-input``) is usable; ``--loads`` times,
   p50 and max of each part and of the whole (target: 1.5 s to the upload zone);
2. **JavaScript**: every ``.js`` the browser fetched until the upload zone was usable, gzipped
   (the gateway serves them as built; a production web server compresses) (target 250 KB);
3. **SSE to screen**: one job of the sample photo; a script in the page notes when each
   ``progress`` event's bytes arrive from the stream and when its percentage shows on the
   card (a MutationObserver): the delay per event, p50 and max (target 200 ms).

``python -m bench.web_bench [--loads 5]``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Response, sync_playwright

from tests.support.dev_platform import CHROMIUM, CHROMIUM_ARGS, SAMPLE, WEB_DIST, dev_platform

PASSWORD = "a long bench password"

# Runs before the app: tees the events stream, noting when each progress event's bytes came
# (by its "percent"), and watches the cards for the percentage text appearing.
TIMING_SCRIPT = """
(() => {
  window.__sse = []; window.__shown = [];
  const realFetch = window.fetch;
  window.fetch = async (...args) => {
    const response = await realFetch(...args);
    const url = String(args[0] && args[0].url ? args[0].url : args[0]);
    if (!url.endsWith("/events") || !response.body) return response;
    const decoder = new TextDecoder();
    let buffer = "";
    const tee = new TransformStream({
      transform(chunk, controller) {
        const at = performance.now();
        // sse-starlette ends lines with CRLF
        buffer += decoder.decode(chunk, { stream: true }).replace(/\\r\\n/g, "\\n");
        const blocks = buffer.split("\\n\\n");
        buffer = blocks.pop();
        for (const block of blocks) {
          const data = block.split("\\n").find((l) => l.startsWith("data:"));
          if (block.includes("event: progress") && data) {
            try { window.__sse.push({ at, percent: JSON.parse(data.slice(5)).percent }); } catch {}
          }
        }
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(tee), {
      status: response.status, statusText: response.statusText, headers: response.headers,
    });
  };
  new MutationObserver(() => {
    const at = performance.now();
    for (const el of document.querySelectorAll('[data-testid="progress-percent"]')) {
      const percent = parseInt(el.textContent, 10);
      if (!window.__shown.some((s) => s.percent === percent)) window.__shown.push({ at, percent });
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


def say(line: str) -> None:
    print(line, flush=True)


def first_load(browser: Browser, base: str, email: str) -> tuple[float, float, int]:
    """(ms to the login form, ms from sign-in to the upload zone, gzipped JS bytes)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    scripts: list[Response] = []
    page.on("response", lambda r: scripts.append(r) if r.url.endswith(".js") else None)
    started = time.perf_counter()
    page.goto(f"{base}/login")
    page.get_by_test_id("login-email").wait_for()
    form_ms = (time.perf_counter() - started) * 1000
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    submitted = time.perf_counter()
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("upload-input").wait_for(state="attached")
    upload_ms = (time.perf_counter() - submitted) * 1000
    js_gzip = sum(len(gzip.compress(r.body(), 9)) for r in scripts)
    context.close()
    return form_ms, upload_ms, js_gzip


def sse_to_screen(page: Page, base: str, email: str) -> list[float]:
    page.goto(f"{base}/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("upload-input").set_input_files(str(SAMPLE))
    page.get_by_test_id("candidates-select").select_option("1")
    page.get_by_test_id("start-button").click()
    page.get_by_test_id("result-image").first.wait_for(timeout=600_000)
    timings: dict[str, list[dict[str, Any]]] = page.evaluate(
        "() => ({ sse: window.__sse, shown: window.__shown })"
    )
    delays = []
    for event in timings["sse"]:
        shown = [s["at"] for s in timings["shown"] if s["percent"] == event["percent"]]
        if shown and shown[0] >= event["at"]:
            delays.append(shown[0] - event["at"])
    return delays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.web_bench", description=__doc__)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args(argv)
    if not (WEB_DIST / "index.html").is_file():
        say("the web app is not built: make web")
        return 2
    say(f"web bench: {os.cpu_count()} cores, chromium {CHROMIUM}")
    with tempfile.TemporaryDirectory(prefix="globalpic-web-bench-") as scratch:
        work = Path(scratch)
        with dev_platform(work) as base, sync_playwright() as playwright:
            email = "bench@example.com"
            signed = httpx.post(
                f"{base}/v1/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30
            )
            assert signed.status_code == 201, signed.text
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            loads = [first_load(browser, base, email) for _ in range(args.loads)]
            form = [f for f, _, _ in loads]
            upload = [u for _, u, _ in loads]
            total = [f + u for f, u, _ in loads]
            say(
                f"first load, cold cache ({args.loads}x): login form p50 "
                f"{statistics.median(form):.0f} ms, max {max(form):.0f}; sign-in to upload zone "
                f"p50 {statistics.median(upload):.0f} ms, max {max(upload):.0f}; together p50 "
                f"{statistics.median(total):.0f} ms, max {max(total):.0f} (target 1500 ms)"
            )
            say(
                f"JavaScript until the upload zone is usable: {loads[0][2] / 1024:.1f} KB "
                "gzipped (target 250 KB)"
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_init_script(TIMING_SCRIPT)
            delays = sse_to_screen(context.new_page(), base, email)
            if delays:
                say(
                    f"SSE progress to screen: {len(delays)} events, p50 "
                    f"{statistics.median(delays):.1f} ms, max {max(delays):.1f} ms (target 200)"
                )
            else:
                say("SSE progress to screen: no progress event was timed")
            context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

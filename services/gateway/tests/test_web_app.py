"""The built web app served at / (``web_dir``): its files, index.html for client routes, and
the API's paths untouched."""

from __future__ import annotations

from pathlib import Path

from tests.support.gateway_harness import Harness, assert_problem, run_scenario


def _built_app(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text('<!doctype html><meta charset="utf-8"><div id="root">')
    (root / "assets" / "index-abc123.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    return root


def test_the_app_its_client_routes_and_the_api_side_by_side(
    sqlite_url: str, tmp_path: Path, nats_url: str
) -> None:
    web = _built_app(tmp_path / "dist")
    (tmp_path / "secret.txt").write_text("outside the app")

    async def scenario(gw: Harness) -> None:
        async with gw.client(None) as browser:
            page = await browser.get("/")
            assert page.status_code == 200 and 'id="root"' in page.text
            assert page.headers["cache-control"] == "no-cache"
            for client_route in ("/jobs/5f0c6d1f", "/plans", "/login?next=/jobs"):
                routed = await browser.get(client_route)
                assert routed.status_code == 200 and 'id="root"' in routed.text, client_route
            asset = await browser.get("/assets/index-abc123.js")
            assert asset.text == "console.log('app')"
            assert "immutable" in asset.headers["cache-control"]
            assert (await browser.get("/favicon.svg")).text == "<svg/>"
            # nothing outside the build, however the path is spelled
            for escape in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
                assert "outside the app" not in (await browser.get(escape)).text
            # the API keeps its own answers
            assert_problem(await browser.get("/v1/no-such-route"), 404, "not_found")
            assert_problem(await browser.get("/v1/jobs"), 401, "unauthorized")
            assert (await browser.get("/healthz")).status_code == 200
            assert "paths" in (await browser.get("/openapi.json")).json()

    run_scenario(sqlite_url, tmp_path, nats_url, scenario, web_dir=web)

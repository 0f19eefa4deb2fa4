"""The web app (``services/web``, built to static files) at ``/`` when ``web_dir`` is set: its
files as they are, and ``index.html`` for every other path that is not the API's, so that a
client-side route (``/jobs/<id>``) survives a reload. The API's own paths keep their 404s."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse

from globalpic_gateway.core import problems
from globalpic_gateway.core.problems import ApiError

# Paths the app never answers with index.html: a typo under /v1 is an API 404, not a page.
_API_PREFIXES = ("v1/", "healthz", "readyz", "metrics", "docs", "redoc", "openapi.json")
# Hashed assets never change; index.html must be fetched again to see a new build.
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
_NO_CACHE = {"Cache-Control": "no-cache"}


def install_web_app(app: FastAPI, web_dir: Path) -> None:
    root = web_dir.resolve()
    index = root / "index.html"
    if not index.is_file():
        raise RuntimeError(f"GLOBALPIC_GATEWAY__WEB_DIR={web_dir}: no index.html (npm run build)")
    router = APIRouter(include_in_schema=False)

    @router.get("/{path:path}")
    async def web_app(path: str) -> FileResponse:
        if path.startswith(_API_PREFIXES):
            raise ApiError(404, problems.NOT_FOUND, f"no route /{path}")
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            headers = _IMMUTABLE if candidate.parent.name == "assets" else _NO_CACHE
            return FileResponse(candidate, headers=headers)
        return FileResponse(index, headers=_NO_CACHE)

    app.include_router(router)
